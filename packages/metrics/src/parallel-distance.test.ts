import { Rng } from '@clip-senet/core/base';
import { afterAll, describe, expect, it } from 'vitest';
import { computeDistances, distanceBlocks } from './distance';
import { createDistancePool } from './parallel-distance';

describe('createDistancePool', () => {
  const pool = createDistancePool({ workers: 2 });
  afterAll(() => pool.close());
  const rng = new Rng(71);
  const dim = 23;
  const q = Float32Array.from({ length: 57 * dim }, () => rng.normal());
  const g = Float32Array.from({ length: 101 * dim }, () => rng.normal());

  it.each(['cosine', 'euclidean'] as const)('%s is bit-identical to the single-threaded matrix', async (metric) => {
    expect(await pool.computeDistances(q, g, dim, metric)).toEqual(computeDistances(q, g, dim, metric));
  });

  it.each(['cosine', 'euclidean'] as const)('%s self-distances are bit-identical to the full matrix', async (metric) => {
    expect(await pool.computeSelfDistances(g, dim, metric)).toEqual(computeDistances(g, g, dim, metric));
  });

  it('yields the same blocks in order', async () => {
    const serial = [...distanceBlocks(q, g, dim, 'cosine', { blockSize: 5 })];
    const parallel = [];
    for await (const b of pool.distanceBlocks(q, g, dim, 'cosine', { blockSize: 5 })) parallel.push({ ...b, distances: b.distances.slice() });
    expect(parallel.map((b) => b.start)).toEqual(serial.map((b) => b.start));
    parallel.forEach((b, i) => expect(b.distances).toEqual(serial[i].distances));
  });
});
