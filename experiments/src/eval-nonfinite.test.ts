/**
 * A checkpoint whose model outputs NaN (a NaN bias) must not evaluate to a believable mAP, nor write a features
 * file: `eval` and `extract` exit 1 naming the split, how many images and the first one (issue 15).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '@clip-senet/core';
import { loadCheckpoint, saveCheckpoint } from '@clip-senet/engine';
import { main } from './cli';
import { loadRunConfig } from './config';
import { datasetRoot } from './data';
import { loadRunModel } from './run-model';

process.env.CLIP_SENET_BACKEND = 'wasm';
process.env.CLIP_SENET_WASM_THREADS = '1';

const tiny = fileURLToPath(new URL('../configs/synthetic/tiny.yaml', import.meta.url));

function capture(): { io: { out: (t: string) => void; err: (t: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => (out += t), err: (t) => (err += t) }, out: () => out, err: () => err };
}

let dir: string;
let runDir: string;
let nanCheckpoint: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-nonfinite-'));
  runDir = join(dir, 'run');
  const c = capture();
  expect(await main(['train', '--config', tiny, '--set', 'train.maxSteps=1', '--run-dir', runDir, '--no-progress'], c.io)).toBe(0);
  // the trained weights with one NaN bias, saved as a proper checkpoint of its own
  const config = loadRunConfig(runDir);
  const model = loadRunModel(runDir, config);
  try {
    const bias = model.params.get('fusion.fc.bias')!;
    bias.assign(tf.fill(bias.shape, Number.NaN));
    const { state } = loadCheckpoint(join(runDir, 'checkpoints'));
    nanCheckpoint = await saveCheckpoint(join(dir, 'nan-checkpoint'), { params: model.params, buffers: model.buffers, state: { step: state.step, epoch: state.epoch } });
  } finally {
    model.dispose();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a NaN model output is an error, never a metric or a features file', () => {
  it('eval exits 1 naming the query split, the count and the first image; no results file', async () => {
    const c = capture();
    const out = join(dir, 'eval.json');
    expect(await main(['eval', '--run', runDir, '--checkpoint', nanCheckpoint, '--out', out], c.io)).toBe(1);
    expect(c.err()).toMatch(/^clip-senet eval: extractFeatures: query features: (\d+) of \1 rows are not finite \(NaN or ±Infinity\); first: row 0 \(\S+\/image_query\/\S+\.jpg\), column 0 = NaN/);
    expect(c.out()).not.toMatch(/mAP/);
    expect(existsSync(out)).toBe(false);
  });

  it('extract exits 1 and writes nothing; the same run with its good checkpoint extracts', async () => {
    const images = join(datasetRoot(loadRunConfig(runDir).data), 'image_query');
    const count = readdirSync(images).filter((f) => f.endsWith('.jpg')).length;
    const out = join(dir, 'features.safetensors');
    const c = capture();
    expect(await main(['extract', '--run', runDir, '--checkpoint', nanCheckpoint, '--images', images, '--out', out], c.io)).toBe(1);
    expect(c.err()).toContain(`clip-senet extract: extractFeatures: image folder ${images} features: ${count} of ${count} rows are not finite (NaN or ±Infinity); first: row 0 (${images}/`);
    expect(existsSync(out)).toBe(false);
    const good = capture();
    expect(await main(['extract', '--run', runDir, '--images', images, '--out', out], good.io)).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});
