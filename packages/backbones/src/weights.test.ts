/**
 * Weight import/export: strictness (one error naming every bad key), non-strict reports, local tensors,
 * and export → import round trips in every layout, with key sets identical to the PyTorch-made files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, initBackend, readSafetensors, Rng, tf, type SafeTensor } from '@clip-senet/core';
import { buildBackbone } from './registry';
import type { BackboneConfigInput } from './config';
import { loadWeights, saveWeights } from './weights';
import { isIgnorable, type WeightFormat } from './key-maps';
import type { Backbone } from './registry';
import { fixturePath, maxAbsDiff, readFixtureTensors } from './testing';
import { readTorchCheckpoint } from './torch-checkpoint';

const dir = mkdtempSync(join(tmpdir(), 'backbones-weights-'));
beforeAll(async () => {
  await initBackend('auto', { log: null });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const basic: BackboneConfigInput = { name: 'resnet', block: 'basic', layers: [1, 1, 1, 1], baseWidth: 8, lastStride: 2 };
const quick: BackboneConfigInput = { name: 'clip-vit', width: 32, layers: 2, heads: 2, patchSize: 8, imageSize: 32, outputDim: 16, activation: 'quick-gelu' };

/** The fixture's tensors with `edit` applied, as safetensors bytes. */
function edited(file: string, edit: (m: Map<string, SafeTensor>) => void): Uint8Array {
  const tensors = new Map(readSafetensors(fixturePath(file)).tensors);
  edit(tensors);
  return encodeSafetensors(tensors);
}

function rename(m: Map<string, SafeTensor>, from: string, to: string): void {
  m.set(to, m.get(from)!);
  m.delete(from);
}

describe('loadWeights strictness', () => {
  it('a file with one renamed key fails naming that key (missing and unexpected), assigning nothing', () => {
    const model = buildBackbone(basic);
    const before = model.t('layer2.0.conv1.weight').dataSync().slice();
    const bytes = edited('resnet-basic.safetensors', (m) => rename(m, 'layer2.0.conv1.weight', 'layer2.0.conv_1.weight'));
    expect(() => loadWeights(model, bytes)).toThrow(/1 missing, 1 unexpected, 0 mis-shaped[\s\S]*missing: layer2\.0\.conv1\.weight[\s\S]*unexpected: layer2\.0\.conv_1\.weight/);
    expect(model.t('layer2.0.conv1.weight').dataSync()).toEqual(before);
    model.dispose();
  });

  it('lists every problem in one error: missing, unexpected and mis-shaped together', () => {
    const model = buildBackbone(quick);
    const bytes = edited('vit-quickgelu.openai.safetensors', (m) => {
      m.delete('visual.ln_post.bias');
      m.set('visual.extra_token', m.get('visual.class_embedding')!);
      const t = m.get('visual.proj')!;
      m.set('visual.proj', { ...t, shape: [16, 32] });
    });
    let message = '';
    try {
      loadWeights(model, bytes, { format: 'openai' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('missing: visual.ln_post.bias');
    expect(message).toContain('unexpected: visual.extra_token');
    expect(message).toContain('visual.proj: file [16, 32] ≠ expected [32, 16]');
    model.dispose();
  });

  it('strict: false loads the rest, reports and logs the same lists', () => {
    const model = buildBackbone(basic);
    const bytes = edited('resnet-basic.safetensors', (m) => rename(m, 'bn1.running_var', 'bn1.running_variance'));
    const lines: string[] = [];
    const report = loadWeights(model, bytes, { strict: false, log: (l) => lines.push(l) });
    expect(report.missing).toEqual(['bn1.running_var']);
    expect(report.unexpected).toEqual(['bn1.running_variance']);
    expect(report.loaded).toHaveLength(model.specs.size - 1);
    expect(lines.join('\n')).toMatch(/missing: bn1\.running_var[\s\S]*unexpected: bn1\.running_variance/);
    model.dispose();
  });

  it('rejects a format that does not fit the model, and accepts local tensors (GeM p) being absent', () => {
    const vit = buildBackbone(quick);
    expect(() => loadWeights(vit, fixturePath('resnet-basic.safetensors'), { format: 'torchvision' })).toThrow(/does not apply to a clip-vit/);
    vit.dispose();
    const gem = buildBackbone({ ...basic, pooling: 'gem' } as BackboneConfigInput);
    const report = loadWeights(gem, fixturePath('resnet-basic.safetensors'));
    expect(report.keptLocal).toEqual(['gem.p']);
    gem.dispose();
  });
});

/** A copy of `t` whose float32 data has NaN / +Inf at the given flat indices. */
function poisoned(t: SafeTensor, at: Record<number, number>): SafeTensor {
  const data = Float32Array.from(t.data as Float32Array);
  for (const [i, v] of Object.entries(at)) data[Number(i)] = v;
  return { ...t, data };
}

describe('loadWeights refuses values a float32 parameter cannot hold', () => {
  it('NaN / Inf in a safetensors file: one error naming the file and each tensor, nothing assigned, strict or not', () => {
    const path = join(dir, 'nan.safetensors');
    writeFileSync(path, edited('resnet-basic.safetensors', (m) => {
      m.set('layer1.0.conv1.weight', poisoned(m.get('layer1.0.conv1.weight')!, { 5: NaN, 9: NaN }));
      m.set('bn1.running_var', poisoned(m.get('bn1.running_var')!, { 0: Infinity }));
    }));
    const model = buildBackbone(basic);
    const before = model.t('conv1.weight').dataSync().slice();
    for (const strict of [true, false]) {
      expect(() => loadWeights(model, path, { strict, log: null })).toThrow(
        new RegExp(`^loadWeights\\(${path}, format 'torchvision'\\): 0 missing, 0 unexpected, 0 mis-shaped key\\(s\\), 2 unusable tensor\\(s\\)` +
          `[\\s\\S]*unusable: bn1\\.running_var: 0 NaN and 1 ±Inf of 8 values \\(F32 \\[8\\], first at flat index 0\\)` +
          `[\\s\\S]*unusable: layer1\\.0\\.conv1\\.weight: 2 NaN and 0 ±Inf of 576 values \\(F32 \\[8, 8, 3, 3\\], first at flat index 5\\)`),
      );
    }
    expect(model.t('conv1.weight').dataSync()).toEqual(before);
    model.dispose();
  });

  it('NaN in an F16 file is found after conversion', () => {
    const bytes = edited('resnet-basic.f16.safetensors', (m) => {
      const t = m.get('conv1.weight')!;
      const bits = Uint16Array.from(t.data as Uint16Array);
      bits[3] = 0x7e00; // a quiet NaN
      m.set('conv1.weight', { ...t, data: bits });
    });
    const model = buildBackbone(basic);
    expect(() => loadWeights(model, bytes)).toThrow(/unusable: conv1\.weight: 1 NaN and 0 ±Inf of \d+ values \(F16 \[8, 3, 7, 7\], first at flat index 3\)/);
    model.dispose();
  });

  it('NaN in a torch.save checkpoint (a ViT, as the SEM loads) names the .pth file and the key', () => {
    const src = fixturePath('vit-quickgelu.pth');
    const key = 'module.visual.conv1.weight';
    const t = readTorchCheckpoint(src).get(key)!;
    const bytes = new Uint8Array(readFileSync(src));
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const at = Buffer.from(bytes).indexOf(Buffer.from(raw.subarray(0, 32))); // torch.save stores storages uncompressed
    expect(at).toBeGreaterThan(0);
    new DataView(bytes.buffer).setFloat32(at + 4 * 2, NaN, true);
    const path = join(dir, 'nan.pth');
    writeFileSync(path, bytes);
    const vit = buildBackbone(quick);
    expect(() => loadWeights(vit, path, { format: 'openai' })).toThrow(
      new RegExp(`^loadWeights\\(${path}, format 'openai'\\)[^\\n]*1 unusable tensor\\(s\\)\\n  unusable: visual\\.conv1\\.weight: 1 NaN and 0 ±Inf of \\d+ values \\(F32 \\[[\\d, ]+\\], first at flat index 2\\)$`),
    );
    vit.dispose();
  });

  it('a float tensor labelled I32 is refused, naming file, key, found and expected dtype (never cast)', () => {
    const path = join(dir, 'i32.safetensors');
    writeFileSync(path, edited('resnet-basic.safetensors', (m) => {
      const t = m.get('layer2.0.bn2.weight')!;
      const f = Float32Array.from(t.data as Float32Array);
      m.set('layer2.0.bn2.weight', { ...t, dtype: 'I32', data: new Int32Array(f.buffer) });
    }));
    const model = buildBackbone(basic);
    const before = model.t('layer2.0.bn2.weight').dataSync().slice();
    expect(() => loadWeights(model, path, { strict: false, log: null })).toThrow(
      `loadWeights(${path}, format 'torchvision'): 0 missing, 0 unexpected, 0 mis-shaped key(s), 1 unusable tensor(s)\n` +
        "  unusable: layer2.0.bn2.weight: dtype I32 in the file, expected F32 (or F16/BF16/F64, converted) for float32 parameter 'layer2.0.bn2.weight'; an integer tensor is not cast",
    );
    expect(model.t('layer2.0.bn2.weight').dataSync()).toEqual(before);
    model.dispose();
  });
});

describe('loadWeights prefix', () => {
  it("reads a re-ID checkpoint whose backbone lives under 'base.' and ignores the head", () => {
    const bytes = edited('resnet-basic.safetensors', (m) => {
      for (const k of [...m.keys()]) rename(m, k, `base.${k}`);
      m.set('classifier.weight', m.get('base.fc.weight')!);
    });
    const model = buildBackbone(basic);
    const report = loadWeights(model, bytes, { prefix: 'base.' });
    expect(report.loaded).toHaveLength(model.specs.size);
    expect(report.ignored).toContain('classifier.weight');
    expect(() => loadWeights(model, bytes)).toThrow(/unexpected: .*base\.conv1\.weight/);
    model.dispose();
  });
});

describe('saveWeights round trips', () => {
  const cases: Array<[string, BackboneConfigInput, WeightFormat, string]> = [
    ['torchvision', basic, 'torchvision', 'resnet-basic.safetensors'],
    ['openai', quick, 'openai', 'vit-quickgelu.openai.safetensors'],
    ['tinyclip', quick, 'tinyclip', 'vit-quickgelu.tinyclip.safetensors'],
    ['hf-clip', quick, 'hf-clip', 'vit-quickgelu.hf.safetensors'],
  ];
  for (const [label, config, format, file] of cases) {
    it(`${label}: same keys/shapes as the PyTorch file, reload gives identical outputs`, () => {
      const src = buildBackbone(config) as Backbone;
      loadWeights(src, fixturePath(file));
      const path = join(dir, `${label}.safetensors`);
      saveWeights(src, path, { format });
      const family = config.name === 'resnet' ? 'cnn' : 'clip-vit';
      const ours = readSafetensors(path).tensors;
      const theirs = [...readSafetensors(fixturePath(file)).tensors.values()].filter((t) => !isIgnorable(family, t.name));
      expect([...ours.keys()].sort()).toEqual(theirs.map((t) => t.name).sort());
      for (const t of theirs) expect(ours.get(t.name)!.shape, t.name).toEqual(t.shape);
      const dst = buildBackbone(config, { rng: new Rng(99) }) as Backbone;
      loadWeights(dst, path, { format });
      const io = readFixtureTensors(file.startsWith('resnet') ? 'resnet-basic.io.safetensors' : 'vit-quickgelu.io.safetensors');
      const x = io.get('input') as tf.Tensor4D;
      const a = src.forward(x).features;
      const b = dst.forward(x).features;
      expect(maxAbsDiff(a, b)).toBe(0);
      expect(maxAbsDiff(a, io.get('output')!)).toBeLessThan(1e-4);
      tf.dispose([a, b]);
      io.forEach((t) => t.dispose());
      src.dispose();
      dst.dispose();
    });
  }
});
