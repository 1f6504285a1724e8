import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { computeDistances, computeSelfDistances, distanceBlocks } from './distance';

function naive(q: Float32Array, g: Float32Array, dim: number, metric: 'cosine' | 'euclidean'): Float64Array {
  const nq = q.length / dim;
  const ng = g.length / dim;
  const out = new Float64Array(nq * ng);
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < ng; j++) {
      let dot = 0, a = 0, b = 0, sq = 0;
      for (let k = 0; k < dim; k++) {
        const x = q[i * dim + k], y = g[j * dim + k];
        dot += x * y; a += x * x; b += y * y; sq += (x - y) * (x - y);
      }
      out[i * ng + j] = metric === 'cosine' ? 1 - dot / Math.sqrt(a * b) : sq;
    }
  }
  return out;
}

describe('computeDistances', () => {
  const rng = new Rng(31);
  const dim = 19;
  const nq = 13; // not a multiple of the 4 × 4 tile
  const ng = 71;
  const q = Float32Array.from({ length: nq * dim }, () => rng.normal());
  const g = Float32Array.from({ length: ng * dim }, () => rng.normal());

  it.each(['cosine', 'euclidean'] as const)('%s matches the textbook formula', (metric) => {
    const d = computeDistances(q, g, dim, metric);
    const ref = naive(q, g, dim, metric);
    for (let i = 0; i < d.length; i++) expect(Math.abs(d[i] - ref[i])).toBeLessThan(1e-5 * Math.max(1, ref[i]));
  });

  it.each(['cosine', 'euclidean'] as const)('%s blockwise output is bit-identical to the full matrix', (metric) => {
    const full = computeDistances(q, g, dim, metric);
    for (const blockSize of [1, 3, 64]) {
      const joined = new Float32Array(nq * ng);
      for (const b of distanceBlocks(q, g, dim, metric, { blockSize })) joined.set(b.distances, b.start * ng);
      expect(joined).toEqual(full);
    }
  });

  it.each(['cosine', 'euclidean'] as const)('%s self-distances (upper triangle + mirror) equal the full matrix bitwise', (metric) => {
    const x = Float32Array.from({ length: 150 * dim }, () => rng.normal());
    expect(computeSelfDistances(x, dim, metric)).toEqual(computeDistances(x, x, dim, metric));
  });

  it('identical vectors are at distance ~0; a zero vector has cosine distance 1', () => {
    const x = Float32Array.from([1, 2, 3, 0, 0, 0]);
    const d = computeDistances(x, x, 3, 'cosine');
    expect(Math.abs(d[0])).toBeLessThan(1e-7);
    expect(d[1]).toBe(1);
    expect(computeDistances(x, x, 3, 'euclidean')[0]).toBe(0);
  });

  it('rejects mismatched shapes', () => {
    expect(() => computeDistances(new Float32Array(5), new Float32Array(4), 2, 'cosine')).toThrow(/multiple of dim/);
    expect(() => computeDistances(new Float32Array(4), new Float32Array(4), 0, 'cosine')).toThrow(/dim/);
  });
});
