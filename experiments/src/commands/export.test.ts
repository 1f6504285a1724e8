/**
 * `clip-senet export` and `clip-senet extract --engine onnxruntime` end to end on a one-step tiny run: the exported
 * .onnx gives the tfjs extract's features, the safetensors has PyTorch names, and bad input (no checkpoint, an
 * unsupported opset, a NaN weight) is one error that leaves no file and an existing output as it was.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, tf } from '@clip-senet/core';
import { loadCheckpoint, saveCheckpoint } from '@clip-senet/engine';
import { main } from '../cli';
import { loadRunConfig } from '../config';
import { datasetRoot } from '../data';
import { loadRunModel } from '../run-model';

process.env.CLIP_SENET_BACKEND = 'wasm';
process.env.CLIP_SENET_WASM_THREADS = '1';

const tiny = fileURLToPath(new URL('../../configs/synthetic/tiny.yaml', import.meta.url));

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => (out += t), err: (t) => (err += t) }, out: () => out, err: () => err };
}

function features(file: string): Float32Array {
  return readSafetensors(file).tensors.get('features')!.data as Float32Array;
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst / scale;
}

let dir: string;
let runDir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-export-'));
  runDir = join(dir, 'run');
  const c = capture();
  expect(await main(['train', '--config', tiny, '--set', 'train.maxSteps=1', '--run-dir', runDir, '--no-progress'], c.io)).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('clip-senet export / extract --engine onnxruntime', () => {
  it('the exported .onnx embeds an image folder and a split like the tfjs model', async () => {
    const onnx = join(dir, 'model.onnx');
    const c = capture();
    expect(await main(['export', '--run', runDir, '--format', 'onnx', '--out', onnx], c.io)).toBe(0);
    expect(c.out()).toMatch(/ONNX opset 17: appearance \[batch, 3, 32, 32\], semantic \[batch, 3, 32, 32\] → features \[batch, 32\]; verified in onnxruntime-node/);
    const images = join(datasetRoot(loadRunConfig(runDir).data), 'image_query');
    const viaTfjs = join(dir, 'tfjs.safetensors');
    const viaOrt = join(dir, 'ort.safetensors');
    expect(await main(['extract', '--run', runDir, '--images', images, '--out', viaTfjs], capture().io)).toBe(0);
    const e = capture();
    expect(await main(['extract', '--model', onnx, '--engine', 'onnxruntime', '--images', images, '--out', viaOrt], e.io)).toBe(0);
    expect(e.out()).toMatch(/embedded \d+ images in [\d.]+ s: [\d.]+ img\/s, [\d.]+ ms CPU per image \(engine onnxruntime, batch 64\)/);
    expect(maxRel(features(viaOrt), features(viaTfjs))).toBeLessThanOrEqual(1e-4);
    expect(readSafetensors(viaOrt).metadata.engine).toBe('onnxruntime');
    // the run's own split, exported in memory
    const split = join(dir, 'split.safetensors');
    expect(await main(['extract', '--run', runDir, '--split', 'query', '--engine', 'onnxruntime', '--out', split], capture().io)).toBe(0);
    expect(maxRel(features(split), features(viaTfjs))).toBeLessThanOrEqual(1e-4);
    // a model exported without flip refuses a flip extraction
    const f = capture();
    expect(await main(['extract', '--model', onnx, '--engine', 'onnxruntime', '--images', images, '--flip', '--out', join(dir, 'flip.safetensors')], f.io)).toBe(1);
    expect(f.err()).toContain('was exported without --flip');
  });

  it('safetensors with PyTorch key names', async () => {
    const out = join(dir, 'weights.safetensors');
    const c = capture();
    expect(await main(['export', '--run', runDir, '--format', 'safetensors', '--out', out], c.io)).toBe(0);
    const file = readSafetensors(out);
    expect(file.metadata['clip_senet.format']).toBe('clip-senet-torch-weights/1');
    expect(file.tensors.get('appearance.conv1.weight')!.shape).toEqual([8, 3, 7, 7]);
    expect(file.tensors.has('sem.transformer.resblocks.0.attn.in_proj_weight')).toBe(true);
    expect(c.out()).toContain(`tensors (PyTorch key names) → ${out}`);
  });

  it('bad input: no checkpoint, an unsupported opset, a bad format, a NaN weight — nothing written, an existing output kept', async () => {
    const empty = join(dir, 'no-checkpoint');
    mkdirSync(empty);
    copyFileSync(join(runDir, 'resolved-config.yaml'), join(empty, 'resolved-config.yaml'));
    const c = capture();
    expect(await main(['export', '--run', empty, '--format', 'onnx'], c.io)).toBe(1);
    expect(c.err()).toContain(`clip-senet export: ${empty} has no finished checkpoint (no ${join(empty, 'checkpoints', 'latest.json')})`);
    expect(existsSync(join(empty, 'model.onnx'))).toBe(false);

    const kept = join(dir, 'kept.onnx');
    writeFileSync(kept, 'previous export');
    const o = capture();
    expect(await main(['export', '--run', runDir, '--format', 'onnx', '--opset', '12', '--out', kept], o.io)).toBe(1);
    expect(o.err()).toContain('ONNX opset 12 is not supported: the exporter emits opsets 13–21');
    expect(await main(['export', '--run', runDir, '--format', 'tflite', '--out', kept], capture().io)).toBe(2);

    const config = loadRunConfig(runDir);
    const model = loadRunModel(runDir, config);
    let nan: string;
    try {
      const bias = model.params.get('fusion.fc.bias')!;
      bias.assign(tf.fill(bias.shape, Number.NaN));
      const { state } = loadCheckpoint(join(runDir, 'checkpoints'));
      nan = await saveCheckpoint(join(dir, 'nan-checkpoint'), { params: model.params, buffers: model.buffers, state: { step: state.step, epoch: state.epoch } });
    } finally {
      model.dispose();
    }
    for (const format of ['onnx', 'safetensors']) {
      const n = capture();
      expect(await main(['export', '--run', runDir, '--checkpoint', nan, '--format', format, '--out', kept], n.io)).toBe(1);
      expect(n.err()).toMatch(/fusion\.fc\.bias'?:? value 0 is NaN \(a non-finite weight\)/);
    }
    expect(readFileSync(kept, 'utf8')).toBe('previous export');
  });
});
