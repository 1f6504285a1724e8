import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { computeDistances } from './distance';
import { evaluateRanking } from './ranking';
import { kReciprocalRerank } from './rerank';

function clustered(rng: Rng, ids: Int32Array, dim: number, noise: number): Float32Array {
  const centres = Array.from({ length: 16 }, () => Array.from({ length: dim }, () => rng.normal()));
  return Float32Array.from({ length: ids.length * dim }, (_, i) => centres[ids[Math.floor(i / dim)]][i % dim] + noise * rng.normal());
}

describe('kReciprocalRerank', () => {
  const rng = new Rng(51);
  const nq = 20;
  const ng = 120;
  const dim = 16;
  const queryIds = Int32Array.from({ length: nq }, () => rng.int(16));
  const galleryIds = Int32Array.from({ length: ng }, () => rng.int(16));
  const q = clustered(rng, queryIds, dim, 1.2);
  const g = clustered(rng, galleryIds, dim, 1.2);
  const input = {
    qg: computeDistances(q, g, dim, 'euclidean'),
    qq: computeDistances(q, q, dim, 'euclidean'),
    gg: computeDistances(g, g, dim, 'euclidean'),
    numQuery: nq,
    numGallery: ng,
  };
  const labels = { numQuery: nq, numGallery: ng, queryIds, galleryIds, excludeSameCamera: false };

  it('lambda = 1 keeps the original ranking (row-normalised squared distance)', () => {
    const out = kReciprocalRerank({ ...input, lambda: 1 });
    const a = evaluateRanking({ ...labels, distmat: out });
    const b = evaluateRanking({ ...labels, distmat: input.qg });
    expect(a.mAP).toBeCloseTo(b.mAP, 12);
  });

  it('improves mAP on clustered features with the default 20 / 6 / 0.3', () => {
    const base = evaluateRanking({ ...labels, distmat: input.qg }).mAP;
    const rr = evaluateRanking({ ...labels, distmat: kReciprocalRerank(input) }).mAP;
    expect(rr).toBeGreaterThan(base);
  });

  it('is deterministic and returns finite float32 distances in [0, 1]', () => {
    const a = kReciprocalRerank({ ...input, k1: 7, k2: 3, lambda: 0.5 });
    expect(kReciprocalRerank({ ...input, k1: 7, k2: 3, lambda: 0.5 })).toEqual(a);
    expect(a.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)).toBe(true);
  });

  it('validates parameters and shapes', () => {
    expect(() => kReciprocalRerank({ ...input, k1: 0 })).toThrow(/k1/);
    expect(() => kReciprocalRerank({ ...input, k1: nq + ng })).toThrow(/k1/);
    expect(() => kReciprocalRerank({ ...input, k2: 0 })).toThrow(/k2/);
    expect(() => kReciprocalRerank({ ...input, lambda: 1.5 })).toThrow(/lambda/);
    expect(() => kReciprocalRerank({ ...input, gg: new Float32Array(3) })).toThrow(/gg length/);
  });
});
