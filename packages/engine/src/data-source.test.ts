import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, initBackend, Rng, tf } from '@clip-senet/core';
import type { Tensor2D, Tensor4D } from '@clip-senet/core';
import type { BatchLoader, BatchRequest, LoadedBatch } from '@clip-senet/datasets';
import { shuffledSource, type ShuffledSourceState } from './data-source';

beforeAll(async () => {
  await initBackend();
});

/** A loader that "decodes" each sample into a 1×1 image holding its vehicle id, and remembers the requests. */
function fakeLoader(requests: BatchRequest[] = []): BatchLoader {
  return {
    load(r: BatchRequest): Promise<LoadedBatch> {
      requests.push(r);
      const images = tf.tensor4d(r.samples.flatMap((s) => [s.vehicleId, 0, 0]), [r.samples.length, 1, 1, 3]);
      return Promise.resolve({ epoch: r.epoch, index: r.index, images, branches: [images], labels: new Int32Array(r.samples.length), cameraIds: new Int32Array(r.samples.length), samples: r.samples });
    },
  } as unknown as BatchLoader;
}

interface IdBatch {
  readonly images: Tensor4D;
  readonly ids: Tensor2D;
}

const records = Array.from({ length: 10 }, (_, i) => ({ id: i + 1 }));
const source = (start?: ShuffledSourceState, requests?: BatchRequest[]) =>
  shuffledSource<{ id: number }, IdBatch>(records, fakeLoader(requests), {
    what: 'test', batchSize: 3, rng: new Rng(7), sample: (r) => ({ path: `${r.id}.jpg`, vehicleId: r.id, cameraId: -1 }),
    batch: (picked, images) => ({ images, ids: tf.tensor2d(picked.map((r) => [r.id])) }),
    ...(start ? { start } : {}),
  });

async function draw(n: number, src = source()): Promise<{ ids: number[][]; marks: string[] }> {
  const ids: number[][] = [];
  const marks: string[] = [];
  for (let k = 0; k < n; k++) {
    const b = await src.next();
    ids.push(Array.from(await b.batch.ids.data()));
    marks.push(`${b.epoch}/${b.index}${b.lastInEpoch ? ' last' : ''} ×${b.size}`);
    src.release(b.batch);
  }
  return { ids, marks };
}

describe('shuffledSource', () => {
  it('gives every record at most once per epoch in full batches, a new seeded order each epoch, and drops the tail', async () => {
    const { ids, marks } = await draw(6);
    expect(marks).toEqual(['0/0 ×3', '0/1 ×3', '0/2 last ×3', '1/0 ×3', '1/1 ×3', '1/2 last ×3']);
    for (const epoch of [ids.slice(0, 3).flat(), ids.slice(3).flat()]) {
      expect(new Set(epoch).size).toBe(9);
      for (const id of epoch) expect(id).toBeGreaterThanOrEqual(1);
    }
    expect(ids.slice(0, 3).flat()).not.toEqual(ids.slice(3).flat());
    expect(await draw(6)).toEqual({ ids, marks }); // same rng seed, same batches
    const order0 = new Rng(7).derive('epoch/0').shuffle(records.map((_, i) => i));
    expect(ids.slice(0, 3).flat()).toEqual(order0.slice(0, 9).map((i) => i + 1));
  });

  it('resumes from its state exactly where it was, and the loader sees the batch position', async () => {
    const whole = await draw(5);
    const src = source();
    await draw(2, src);
    const state = src.state() as ShuffledSourceState;
    expect(state).toEqual({ epoch: 0, index: 2 });
    const requests: BatchRequest[] = [];
    const rest = await draw(3, source(state, requests));
    expect(rest.ids).toEqual(whole.ids.slice(2));
    expect(requests.map((r) => `${r.epoch}/${r.index}`)).toEqual(['0/2', '1/0', '1/1']);
  });

  it('releasing a batch disposes every tensor in it', async () => {
    const src = source();
    await expectNoLeaks(async () => {
      const b = await src.next();
      src.release(b.batch);
    });
  });

  it('names the records and the batch size when there are fewer records than one batch', () => {
    expect(() => shuffledSource(records, fakeLoader(), { what: 'pretrain', batchSize: 11, rng: new Rng(1), sample: () => ({ path: 'x', vehicleId: 1, cameraId: -1 }), batch: (_, images) => ({ images }) }))
      .toThrow('pretrain: 10 training images < batch size 11');
  });
});
