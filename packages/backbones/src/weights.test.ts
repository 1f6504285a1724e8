/**
 * Weight import/export: strictness (one error naming every bad key), non-strict reports, local tensors,
 * and export → import round trips in every layout, with key sets identical to the PyTorch-made files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
