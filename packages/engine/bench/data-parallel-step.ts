/**
 * One data-parallel bench run (one configuration, its own process, since the wasm thread count is per process):
 * trains the CLIP-SENet model (ResNet-18 layout, `--width` base width, 128², CE + SupCon, Adam) with `train()`
 * and prints one JSON line `{ imgPerSec, cpuMsPerImage, threadCpuPerStep, stepMs[], phases }` (`cpuMsPerImage`: CPU
 * time of all this process's threads per image; `threadCpuPerStep`: CPU ms per step of the main thread and of every
 * other thread using ≥ 10 ms — worker threads, wasm pthreads, V8's GC/compiler helpers; `phases`: mean ms per timed
 * step of each phase).
 *
 *   tsx bench/data-parallel-step.ts --mode single|dp|dp-local --threads 1 --workers 2 --steps 6 --warmup 2
 *
 * `single`: this process computes the whole batch with `--threads` wasm threads. `dp`: `--workers` worker threads
 * compute one shard each, this process (1 wasm thread) averages and steps Adam. `dp-local`: this process computes
 * shard 0 and `--workers` − 1 worker threads the rest.
 * Inputs: a ring of pre-generated random batches (what a cached, pre-decoded loader hands over); building the
 * input tensor is timed as `data`. Phases: `data`, `gradients` (all of forward/backward incl. data-parallel
 * traffic), `gradients.cpu` (one process: CPU time of all its threads during `gradients`), `update` (gradient norm +
 * Adam), plus the data-parallel pool's own breakdown (`dp.*`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, Rng, tf } from '@clip-senet/core';
import type { LoadedBatch } from '@clip-senet/datasets';
import { buildLosses } from '@clip-senet/losses';
import { createDataParallel } from '../src/data-parallel';
import { statCpuMs } from '../src/data-parallel-protocol';
import { buildModel } from '../src/build-model';
import { modelLossFn, trainableVariables } from '../src/model-loss';
import { replicaOf, splitLoadedBatch } from '../src/model-replica';
import { buildOptimizer } from '../src/optimizer-config';
import { buildSchedule } from '../src/schedule';
import { localGradients, train, type BatchSource, type GradientFn } from '../src/train';
import { benchLosses, benchModel, CLASSES } from './data-parallel-model';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'single' },
    threads: { type: 'string', default: '1' },
    workers: { type: 'string', default: '2' },
    steps: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '128' },
    width: { type: 'string', default: '32' },
  },
});
const mode = values.mode as 'single' | 'dp' | 'dp-local';
if (!['single', 'dp', 'dp-local'].includes(mode)) throw new Error(`--mode: single | dp | dp-local, got ${mode}`);
const [steps, warmup, batch, size, width] = [values.steps, values.warmup, values.batch, values.size, values.width].map(Number) as [number, number, number, number, number];
const workers = Number(values.workers);
const model = benchModel(width, size);

const phaseSums: Record<string, number> = {};
let timing = false;
const record = (phase: string, ms: number): void => {
  if (timing) phaseSums[phase] = (phaseSums[phase] ?? 0) + ms;
};

/** A ring of pre-generated batches; `next` only builds the input tensor. */
function source(): BatchSource<LoadedBatch> {
  const rng = new Rng(1);
  const ring = Array.from({ length: 2 }, () => Float32Array.from({ length: batch * size * size * 3 }, () => rng.normal()));
  const labels = Int32Array.from({ length: batch }, (_, i) => Math.floor(i / 4) % CLASSES);
  let index = 0;
  return {
    next() {
      const t0 = performance.now();
      const images = tf.tensor4d(ring[index % ring.length]!, [batch, size, size, 3]);
      const b = { epoch: 0, index, images, branches: [images], labels, cameraIds: new Int32Array(batch), samples: [] } as unknown as LoadedBatch;
      record('data', performance.now() - t0);
      return { batch: b, epoch: 0, index: index++, lastInEpoch: false, size: batch };
    },
    state: () => ({ index }),
    release: (b) => b.images.dispose(),
  };
}

const timed = <B>(fn: GradientFn<B>): GradientFn<B> => async (b, ctx) => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await fn(b, ctx);
  record('gradients', performance.now() - t0);
  const c = process.cpuUsage(c0);
  if (mode === 'single') record('gradients.cpu', (c.user + c.system) / 1000);
  return out;
};

await initBackend('wasm', { log: null, threads: mode === 'single' ? Number(values.threads) : 1 });
const rng = new Rng(3407);
const m = buildModel(model, { numClasses: CLASSES, rng: rng.derive('model'), log: null });
const l = buildLosses(benchLosses, { numClasses: CLASSES, featureDim: m.featureDim, rng: rng.derive('losses') });
const optimizer = buildOptimizer({ name: 'adam', lr: 1e-4 }, trainableVariables(m, l));
const lossFn = modelLossFn(m, l);
const dp = mode === 'single'
  ? undefined
  : await createDataParallel<LoadedBatch>({
    recipe: { module: fileURLToPath(new URL('../src/model-replica.ts', import.meta.url)), exportName: 'clipSenetReplica', args: { model, losses: benchLosses, numClasses: CLASSES, seed: 3407 } },
    ...(mode === 'dp-local' ? { workers: workers - 1, local: replicaOf(m, l) } : { workers }),
    split: splitLoadedBatch,
  });
const gradients = dp ? dp.gradients(optimizer.params, m.buffers) : async (b: LoadedBatch, ctx: Parameters<GradientFn<LoadedBatch>>[1]) => localGradients(lossFn, optimizer.params, b, ctx);
/** CPU ms of every thread of this process (Linux /proc; empty elsewhere). */
function threadCpu(): Map<number, number> {
  try {
    return new Map(readdirSync('/proc/self/task').map((tid) => [Number(tid), statCpuMs(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'))]));
  } catch {
    return new Map();
  }
}
const stepMs: number[] = [];
let cpu0 = process.cpuUsage();
let threads0 = threadCpu();
await train({
  optimizer, data: source(), steps: warmup + steps, signals: [], lossFn,
  schedule: buildSchedule({ name: 'constant', unit: 'step' }, { lr: 1e-4, totalSteps: warmup + steps }),
  gradients: timed(gradients),
  hooks: [{
    name: 'time',
    onStepEnd: (ctx, s) => {
      if (timing) stepMs.push(s.seconds * 1000);
      if (ctx.step === warmup) {
        timing = true;
        cpu0 = process.cpuUsage();
        threads0 = threadCpu();
        dp?.profile(true);
      }
    },
  }],
});
const cpu = process.cpuUsage(cpu0);
const perThread = [...threadCpu()].map(([tid, ms]) => [tid, (ms - (threads0.get(tid) ?? 0)) / steps] as const);
const threadCpuPerStep = {
  main: perThread.find(([tid]) => tid === process.pid)?.[1] ?? Number.NaN,
  others: perThread.filter(([tid, ms]) => tid !== process.pid && ms >= 10).map(([, ms]) => ms).sort((a, b) => b - a),
};
const profile = dp?.profile();
await dp?.close();
optimizer.dispose();
l.dispose();
m.dispose();
const total = stepMs.reduce((a, b) => a + b, 0);
const phases: Record<string, number> = Object.fromEntries(Object.entries(phaseSums).map(([k, v]) => [k, v / steps]));
phases.update = total / steps - (phases.data ?? 0) - (phases.gradients ?? 0);
for (const [k, v] of Object.entries(profile?.phases ?? {})) phases[`dp.${k}`] = v;
process.stdout.write(`${JSON.stringify({ imgPerSec: (batch * steps * 1000) / total, cpuMsPerImage: (cpu.user + cpu.system) / 1000 / (batch * steps), threadCpuPerStep, stepMs, phases })}\n`);
