import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, initBackend, tf } from '@clip-senet/core';
import { createDataParallel, type DataParallel } from './data-parallel';
import { SHARED_PAYLOAD_MIN_BYTES } from './data-parallel-protocol';
import { buildOptimizer } from './optimizer-config';
import { buildSchedule } from './schedule';
import { splitTinyBatch, tinyConvModel, tinyLoss, tinySource, type TinyBatch, type TinyPayload } from './testing';
import { train } from './train';

let dp: DataParallel<TinyBatch>;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dp = await createDataParallel<TinyBatch>({
    recipe: { module: fileURLToPath(new URL('./testing.ts', import.meta.url)), exportName: 'tinyReplica', args: { seed: 123 } },
    workers: 2,
    split: splitTinyBatch,
  });
});
afterAll(async () => {
  await dp?.close();
});

const schedule = buildSchedule({ name: 'constant', unit: 'step' }, { lr: 0.05, totalSteps: 8 });

async function run(parallel: boolean | 'local' | 3 | 'cpu'): Promise<{ weights: Map<string, Float32Array>; losses: number[] }> {
  const model = tinyConvModel(1);
  const ownPool = parallel === 'local'
    ? await createDataParallel<TinyBatch>({
      recipe: { module: fileURLToPath(new URL('./testing.ts', import.meta.url)), exportName: 'tinyReplica', args: { seed: 5 } },
      workers: 1,
      local: { params: model.params, buffers: model.buffers, lossFn: (p) => tinyLoss(model, { images: tf.tensor4d((p as TinyPayload).images, (p as TinyPayload).shape), labels: (p as TinyPayload).labels }) },
      split: splitTinyBatch,
    })
    : parallel === 3 || parallel === 'cpu'
      ? await createDataParallel<TinyBatch>({
        recipe: { module: fileURLToPath(new URL('./testing.ts', import.meta.url)), exportName: 'tinyReplica', args: { seed: 9 } },
        ...(parallel === 3 ? { workers: 3 } : { workers: 2, backend: 'cpu' as const }),
        split: splitTinyBatch,
      })
      : undefined;
  const optimizer = buildOptimizer({ name: 'adam', lr: 0.05, weightDecay: 0 }, model.params);
  const losses: number[] = [];
  await expectNoLeaks(() => train({
    optimizer, schedule, data: tinySource(7, { batchSize: 8 }), steps: 8, signals: [],
    lossFn: (b) => tinyLoss(model, b),
    ...(parallel ? { gradients: (ownPool ?? dp).gradients(optimizer.params, model.buffers) } : {}),
    hooks: [{ name: 'record', onStepEnd: (_c, s) => void losses.push(s.losses.total!) }],
  }), 'training');
  const weights = new Map([...model.params, ...model.buffers].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
  if (ownPool) expect(ownPool.profile().steps).toBe(8);
  await ownPool?.close();
  model.dispose();
  optimizer.dispose();
  return { weights, losses };
}

describe('data-parallel training', () => {
  it('the test shards are large enough that their images travel through the shared inbox', async () => {
    const { batch } = await tinySource(7, { batchSize: 8 }).next();
    for (const n of [2, 3]) for (const s of splitTinyBatch(batch, n)) expect((s.payload as TinyPayload).images.byteLength).toBeGreaterThanOrEqual(SHARED_PAYLOAD_MIN_BYTES);
    batch.images.dispose();
  });

  it.each([
    ['2 worker threads', true],
    ['this thread + 1 worker', 'local'],
    ['3 worker threads, uneven shards 3/3/2', 3],
    ['2 worker threads on the cpu backend (copying paths)', 'cpu'],
  ] as const)('%s give the same training as one process with the same global batch (float tolerance)', async (_l, mode) => {
    const single = await run(false);
    const parallel = await run(mode);
    parallel.losses.forEach((l, i) => expect(l).toBeCloseTo(single.losses[i]!, 5));
    // BN running stats follow DDP broadcast_buffers (shard 0's statistics): synced back, but not equal
    expect(Array.from(parallel.weights.get('bn.running_mean')!).some((x) => x !== 0)).toBe(true);
    for (const [k, w] of single.weights) {
      if (k === 'bn.running_mean') continue;
      const p = parallel.weights.get(k)!;
      const maxDiff = w.reduce((m, x, i) => Math.max(m, Math.abs(x - p[i]!)), 0);
      expect(maxDiff, k).toBeLessThan(1e-4);
    }
  });

  it('reports the per-phase profile of the steps run', async () => {
    const model = tinyConvModel(1);
    const grads = dp.gradients(model.params, model.buffers);
    const source = tinySource(7, { batchSize: 8 });
    dp.profile(true);
    for (let i = 0; i < 2; i++) {
      const sb = await source.next();
      const out = await grads(sb.batch, {} as never);
      tf.dispose([sb.batch.images, ...out.grads.values()]);
    }
    const p = dp.profile(true);
    expect(p.steps).toBe(2);
    for (const k of ['split', 'publish', 'wait', 'average', 'worker.assign', 'worker.compute', 'worker.pack']) expect(p.phases[k], k).toBeGreaterThanOrEqual(0);
    expect(dp.profile().steps).toBe(0);
    model.dispose();
  });

  it('refuses parameters the replicas do not have', async () => {
    const model = tinyConvModel(1);
    const extra = tf.variable(tf.zeros([2]));
    const params = new Map([...model.params, ['extra', extra]]);
    const grads = dp.gradients(params, model.buffers);
    const sb = await tinySource(7, { batchSize: 8 }).next();
    await expect(grads(sb.batch, {} as never)).rejects.toThrow(/no parameter 'extra'/);
    tf.dispose([sb.batch.images, extra]);
    model.dispose();
  });

  it('reports a worker failure as an error', async () => {
    const bad = createDataParallel<TinyBatch>({ recipe: { module: fileURLToPath(new URL('./testing.ts', import.meta.url)), exportName: 'noSuchFactory' }, workers: 1, split: splitTinyBatch });
    await expect(bad).rejects.toThrow(/no export 'noSuchFactory'/);
  });
});
