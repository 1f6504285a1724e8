/** Seeded property tests: agreement with a naive full-sort evaluator, permutation invariance, perfect rankings. */
import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { evaluateRanking } from './ranking';
import { naiveEvaluate, randomProblem } from './testing';
import type { RandomProblem } from './testing';

const evalOf = (p: RandomProblem, excludeSameCamera = true, ap: 'non-interpolated' | 'trapezoid' = 'non-interpolated') =>
  evaluateRanking({ ...p, excludeSameCamera, ap });

describe('ranking properties (seeded loops)', () => {
  it('matches a naive full-sort evaluator on tie-heavy random problems', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 200; t++) {
      const p = randomProblem(rng, 1 + rng.int(12), 1 + rng.int(60), 1 + rng.int(6), 1 + rng.int(3), [0, 2, 4, 16][rng.int(4)]);
      const exclude = rng.bernoulli(0.7);
      const ap = rng.bernoulli(0.5) ? 'non-interpolated' : 'trapezoid';
      const naive = naiveEvaluate(p, exclude, ap);
      if (naive.numValidQueries === 0) {
        expect(() => evalOf(p, exclude, ap)).toThrow(/no valid query/);
        continue;
      }
      const r = evalOf(p, exclude, ap);
      expect(r.numValidQueries).toBe(naive.numValidQueries);
      expect(Math.abs(r.mAP - naive.mAP)).toBeLessThan(1e-12);
      expect(Math.abs(r.mINP - naive.mINP)).toBeLessThan(1e-12);
      naive.cmc.forEach((c, k) => expect(Math.abs(r.cmc[k] - c)).toBeLessThan(1e-12));
    }
  });

  it('is invariant to a gallery permutation when distances have no ties', () => {
    const rng = new Rng(12);
    for (let t = 0; t < 50; t++) {
      const p = randomProblem(rng, 1 + rng.int(10), 2 + rng.int(80), 1 + rng.int(5), 1 + rng.int(3));
      const perm = rng.shuffle(Array.from({ length: p.numGallery }, (_, g) => g));
      const q: RandomProblem = {
        ...p,
        distmat: Float32Array.from({ length: p.distmat.length }, (_, i) => {
          const row = Math.floor(i / p.numGallery);
          return p.distmat[row * p.numGallery + perm[i % p.numGallery]];
        }),
        galleryIds: Int32Array.from(perm, (g) => p.galleryIds[g]),
        galleryCams: Int32Array.from(perm, (g) => p.galleryCams[g]),
      };
      if (naiveEvaluate(p, true, 'non-interpolated').numValidQueries === 0) continue;
      const a = evalOf(p);
      const b = evalOf(q);
      expect(b.mAP).toBeCloseTo(a.mAP, 12);
      expect(b.mINP).toBeCloseTo(a.mINP, 12);
      expect(Array.from(b.cmc)).toEqual(Array.from(a.cmc));
    }
  });

  it('scores a perfect ranking 1.0 (both AP modes), and CMC is monotone in [0, 1]', () => {
    const rng = new Rng(13);
    for (let t = 0; t < 50; t++) {
      const p = randomProblem(rng, 1 + rng.int(10), 2 + rng.int(50), 1 + rng.int(5), 1);
      // positives get distances in [0, 0.5), everything else [0.5, 1)
      for (let q = 0; q < p.numQuery; q++) {
        for (let g = 0; g < p.numGallery; g++) {
          p.distmat[q * p.numGallery + g] = (p.galleryIds[g] === p.queryIds[q] ? 0 : 0.5) + 0.5 * rng.float();
        }
      }
      if (naiveEvaluate(p, false, 'non-interpolated').numValidQueries === 0) continue;
      for (const ap of ['non-interpolated', 'trapezoid'] as const) {
        const r = evalOf(p, false, ap);
        expect(r.mAP).toBe(1);
        expect(r.mINP).toBe(1);
        expect(r.cmc.every((c) => c === 1)).toBe(true);
      }
      const noisy = evalOf(randomProblem(rng, 5, 30, 3, 2));
      for (let k = 1; k < noisy.cmc.length; k++) expect(noisy.cmc[k]).toBeGreaterThanOrEqual(noisy.cmc[k - 1]);
      expect(noisy.cmc[noisy.cmc.length - 1]).toBeLessThanOrEqual(1);
    }
  });
});
