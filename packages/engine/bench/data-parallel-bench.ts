/**
 * Data-parallel throughput: train steps/s of the CLIP-SENet model in one process vs W ranks (this process + W−1 workers)
 * (same global batch), on random inputs (decoding is not the bottleneck, BACKENDS.md). Prints img/s and the
 * speed-up. Knobs via env: DP_WORKERS (2), DP_BATCH (32), DP_SIZE (128), DP_STEPS (4), DP_WIDTH (32), DP_LOCAL (0).
 *
 *   npx nx run engine:bench
 */
import { fileURLToPath } from 'node:url';
import { initBackend, Rng, tf } from '@clip-senet/core';
import type { LoadedBatch } from '@clip-senet/datasets';
import { buildLosses } from '@clip-senet/losses';
import { createDataParallel } from '../src/data-parallel';
import { buildModel } from '../src/model';
import type { ModelConfigInput } from '../src/model-config';
import { modelLossFn, trainableVariables } from '../src/model-loss';
import { replicaOf, splitLoadedBatch } from '../src/model-replica';
import { buildOptimizer } from '../src/optimizer-config';
import { buildSchedule } from '../src/schedule';
import { train, type BatchSource } from '../src/train';

const env = (k: string, d: number): number => Number(process.env[k] ?? d);
const WORKERS = env('DP_WORKERS', 2);
const BATCH = env('DP_BATCH', 32);
const SIZE = env('DP_SIZE', 128);
const STEPS = env('DP_STEPS', 4);
const WIDTH = env('DP_WIDTH', 32);
/** 1: this process computes one shard (W − 1 workers); 0: W workers, this process only averages. */
const LOCAL = env('DP_LOCAL', 0) === 1;
const CLASSES = 16;

const model: ModelConfigInput = {
  appearance: { backbone: { name: 'resnet', block: 'basic', layers: [2, 2, 2, 2], baseWidth: WIDTH, lastStride: 1 }, input: { size: [SIZE, SIZE], normalization: 'imagenet' } },
  sem: null,
  fusion: { name: 'appearance-only', outDim: 8 * WIDTH },
};
const losses = [{ name: 'cross-entropy' as const }, { name: 'supcon' as const }];

function source(): BatchSource<LoadedBatch> {
  const rng = new Rng(1);
  let index = 0;
  return {
    next() {
      const images = tf.tensor4d(Float32Array.from({ length: BATCH * SIZE * SIZE * 3 }, () => rng.normal()), [BATCH, SIZE, SIZE, 3]);
      const labels = Int32Array.from({ length: BATCH }, (_, i) => Math.floor(i / 4) % CLASSES);
      const batch = { epoch: 0, index, images, branches: [images], labels, cameraIds: new Int32Array(BATCH), samples: [] } as unknown as LoadedBatch;
      return { batch, epoch: 0, index: index++, lastInEpoch: false, size: BATCH };
    },
    state: () => ({ index }),
    release: (b) => b.images.dispose(),
  };
}

async function measure(workers: number): Promise<number> {
  const rng = new Rng(3407);
  const m = buildModel(model, { numClasses: CLASSES, rng: rng.derive('model') });
  const l = buildLosses(losses, { numClasses: CLASSES, featureDim: m.featureDim, rng: rng.derive('losses') });
  const optimizer = buildOptimizer({ name: 'adam', lr: 1e-4 }, trainableVariables(m, l));
  const dp = workers > 0
    ? await createDataParallel<LoadedBatch>({
      recipe: { module: fileURLToPath(new URL('../src/model-replica.ts', import.meta.url)), exportName: 'clipSenetReplica', args: { model, losses, numClasses: CLASSES, seed: 3407 } },
      ...(LOCAL ? { workers: workers - 1, local: replicaOf(m, l) } : { workers }), split: splitLoadedBatch,
    })
    : undefined;
  const times: number[] = [];
  await train({
    optimizer, data: source(), steps: STEPS + 1, signals: [], lossFn: modelLossFn(m, l),
    schedule: buildSchedule({ name: 'constant', unit: 'step' }, { lr: 1e-4, totalSteps: STEPS + 1 }),
    ...(dp ? { gradients: dp.gradients(optimizer.params, m.buffers()) } : {}),
    hooks: [{ name: 'time', onStepEnd: (_c, s) => void times.push(s.seconds) }],
  });
  await dp?.close();
  optimizer.dispose();
  l.dispose();
  m.dispose();
  const steady = times.slice(1); // first step: warm-up
  return (BATCH * steady.length) / steady.reduce((a, b) => a + b, 0);
}

await initBackend('wasm', { log: null, threads: 1 });
console.log(`data-parallel bench: ResNet-18 layout width ${WIDTH} at ${SIZE}², batch ${BATCH}, CE + SupCon, Adam, ${STEPS} timed steps`);
const single = await measure(0);
console.log(`1 process:            ${single.toFixed(2)} img/s`);
const parallel = await measure(WORKERS);
const ranks = LOCAL ? `this process + ${WORKERS - 1} workers` : `${WORKERS} workers`;
console.log(`${ranks}: ${parallel.toFixed(2)} img/s  (speed-up ${(parallel / single).toFixed(2)}×)`);
