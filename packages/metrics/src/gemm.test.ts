import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { computeDistances, computeSelfDistances, distanceBlocks, type Gemm } from './distance';
import { veri776 } from './protocols';

/** An independent a·bᵀ (plain loops, float32 result), counting its calls. */
function naiveGemm(): { gemm: Gemm; calls: () => number } {
  let calls = 0;
  const gemm: Gemm = (a, aRows, b, bRows, dim) => {
    calls++;
    const out = new Float32Array(aRows * bRows);
    for (let i = 0; i < aRows; i++)
      for (let j = 0; j < bRows; j++) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += a[i * dim + k]! * b[j * dim + k]!;
        out[i * bRows + j] = s;
      }
    return out;
  };
  return { gemm, calls: () => calls };
}

function features(rng: Rng, n: number, dim: number): Float32Array {
  return Float32Array.from({ length: n * dim }, () => rng.normal());
}

describe('injected gemm provider', () => {
  it('gives the same distances as the TS kernel (cosine, euclidean; full, self, blocks)', () => {
    const rng = new Rng(8);
    const q = features(rng, 7, 5);
    const g = features(rng, 11, 5);
    for (const metric of ['cosine', 'euclidean'] as const) {
      const provider = naiveGemm();
      const ref = computeDistances(q, g, 5, metric);
      const got = computeDistances(q, g, 5, metric, { gemm: provider.gemm });
      expect(provider.calls()).toBe(1);
      got.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
      const self = computeSelfDistances(g, 5, metric, { gemm: provider.gemm });
      computeSelfDistances(g, 5, metric).forEach((v, i) => expect(self[i]).toBeCloseTo(v, 5));
      const blocks = [...distanceBlocks(q, g, 5, metric, { blockSize: 3, gemm: provider.gemm })];
      expect(blocks.map((b) => b.count)).toEqual([3, 3, 1]);
      blocks.forEach((b) => b.distances.forEach((v, i) => expect(v).toBeCloseTo(ref[b.start * 11 + i]!, 5)));
    }
  });

  it('is used by the protocols and rejects a provider returning the wrong size', () => {
    const rng = new Rng(9);
    const dim = 6;
    const q = features(rng, 4, dim);
    const g = features(rng, 9, dim);
    const input = {
      query: { features: q, ids: Int32Array.from([1, 2, 3, 4]), cams: Int32Array.from([0, 0, 1, 1]) },
      gallery: { features: g, ids: Int32Array.from([1, 1, 2, 2, 3, 3, 4, 4, 5]), cams: Int32Array.from([1, 2, 1, 0, 0, 2, 0, 2, 1]) },
      dim,
    };
    const provider = naiveGemm();
    const withGemm = veri776({ gemm: provider.gemm }).evaluate(input);
    const plain = veri776().evaluate(input);
    expect(provider.calls()).toBeGreaterThan(0);
    expect(withGemm.mAP).toBeCloseTo(plain.mAP, 6);
    const calls = provider.calls();
    const withAqe = veri776({ gemm: provider.gemm, aqe: { k: 2, alpha: 3 } }).evaluate(input);
    expect(provider.calls()).toBe(calls + 2); // AQE neighbour search + query–gallery distances
    expect(withAqe.mAP).toBeCloseTo(veri776({ aqe: { k: 2, alpha: 3 } }).evaluate(input).mAP, 6);
    const bad: Gemm = () => new Float32Array(3);
    expect(() => computeDistances(q, g, dim, 'cosine', { gemm: bad })).toThrow(/gemm returned 3 values, expected 4 × 9/);
  });
});
