/** Hand-worked golden cases for evaluateRanking (each expected value derived by hand in the comment). */
import { describe, expect, it } from 'vitest';
import { evaluateRanking } from './ranking';
import type { EvaluateRankingInput } from './ranking';

function one(distances: number[], galleryIds: number[], galleryCams: number[], extra: Partial<EvaluateRankingInput> = {}) {
  return evaluateRanking({
    distmat: Float32Array.from(distances),
    numQuery: 1,
    numGallery: distances.length,
    queryIds: [1],
    queryCams: [0],
    galleryIds,
    galleryCams,
    ...extra,
  });
}

describe('evaluateRanking golden cases', () => {
  // order: g3 (neg) g0 (pos) g1 (neg) g2 (pos) → hits at filtered ranks 2 and 4 (1-based)
  const d = [0.1, 0.2, 0.3, 0.05];
  const ids = [1, 2, 1, 3];
  const cams = [1, 0, 1, 0];

  it('non-interpolated AP, CMC and mINP', () => {
    const r = one(d, ids, cams);
    expect(r.mAP).toBeCloseTo((1 / 2 + 2 / 4) / 2, 14); // 0.5
    expect(r.mINP).toBeCloseTo(2 / 4, 14);
    expect(Array.from(r.cmc)).toEqual([0, 1, 1, 1]); // clipped to numGallery
    expect(r.ap).toBe('non-interpolated');
  });

  it('trapezoid AP (official VeRi-776 MATLAB rule)', () => {
    // hit 1 at rank 2: (0/1 + 1/2)/2 = 1/4; hit 2 at rank 4: (1/3 + 2/4)/2 = 5/12; AP = (1/4 + 5/12)/2 = 1/3
    expect(one(d, ids, cams, { ap: 'trapezoid' }).mAP).toBeCloseTo(1 / 3, 14);
    // a hit at rank 1 contributes (1 + 1)/2: a perfect ranking scores 1
    expect(one([0.1, 0.2, 0.3], [1, 1, 2], [1, 1, 1], { ap: 'trapezoid' }).mAP).toBeCloseTo(1, 14);
  });

  it('same-id same-camera gallery entries are junk: removed, not counted as negatives', () => {
    // g0 (id 1, cam 0) is junk; filtered order: g1 (neg) g2 (pos) → AP 1/2, first hit at rank 2
    const r = one([0.1, 0.2, 0.3], [1, 2, 1], [0, 0, 1]);
    expect(r.mAP).toBeCloseTo(0.5, 14);
    expect(Array.from(r.cmc)).toEqual([0, 1, 1]); // length min(50, numGallery) = 3
  });

  it('with excludeSameCamera off the same-camera match is a positive', () => {
    // order g0 (pos) g1 (neg) g2 (pos): AP = (1/1 + 2/3)/2 = 5/6, mINP = 2/3
    const r = one([0.1, 0.2, 0.3], [1, 2, 1], [0, 0, 1], { excludeSameCamera: false });
    expect(r.mAP).toBeCloseTo(5 / 6, 14);
    expect(r.mINP).toBeCloseTo(2 / 3, 14);
  });

  it('ties rank by gallery index (stable)', () => {
    // all distances equal: order g0 (neg) g1 (pos) g2 (neg) → AP 1/2
    expect(one([0.5, 0.5, 0.5], [2, 1, 2], [1, 1, 1]).mAP).toBeCloseTo(0.5, 14);
    // positive has the lower index among equals → first
    expect(one([0.5, 0.5, 0.5], [1, 2, 2], [1, 1, 1]).mAP).toBeCloseTo(1, 14);
    // a tie between the last positive and a later-index negative: negative is after it
    expect(one([0.2, 0.5, 0.5], [2, 1, 3], [1, 1, 1]).mINP).toBeCloseTo(1 / 2, 14);
  });

  it('single-gallery-image identity', () => {
    const r = one([0.3, 0.1, 0.2], [5, 1, 6], [1, 1, 1]);
    expect(r.mAP).toBe(1);
    expect(r.mINP).toBe(1);
    expect(r.cmc[0]).toBe(1);
  });

  it('no-positive and all-junk queries are skipped and counted', () => {
    const r = evaluateRanking({
      distmat: Float32Array.from([0.1, 0.2, 0.3, /* q1: id 9 absent */ 0.1, 0.2, 0.3, /* q2: only junk */ 0.3, 0.2, 0.1]),
      numQuery: 3,
      numGallery: 3,
      queryIds: [1, 9, 2],
      queryCams: [0, 0, 4],
      galleryIds: [1, 2, 2],
      galleryCams: [1, 4, 4],
    });
    expect(r.numValidQueries).toBe(1);
    expect(r.numSkippedQueries).toBe(2);
    expect(r.mAP).toBe(1);
    expect(r.apPerQuery[0]).toBe(1);
    expect(r.apPerQuery[1]).toBeNaN();
    expect(r.apPerQuery[2]).toBeNaN();
  });

  it('throws when no query is valid', () => {
    expect(() => one([0.1, 0.2], [3, 4], [1, 1])).toThrow(/no valid query/);
  });

  it('official good/junk lists replace the id/camera rule (junk wins over good)', () => {
    // good {0, 2}, junk {1, 2}: positives {0}; order g3 (neg) g0 (pos) → AP 1/2
    const r = one([0.2, 0.01, 0.02, 0.1], [0, 0, 0, 0], [0, 0, 0, 0], { goodJunk: { good: [[0, 2]], junk: [[1, 2]] } });
    expect(r.mAP).toBeCloseTo(0.5, 14);
    expect(r.mINP).toBeCloseTo(0.5, 14);
  });

  it('handles queries with many positives (scratch buffers grow without losing entries)', () => {
    // 300 positives at even gallery indices, negatives at odd ones; distances increase with the index,
    // so hit i (1-based) sits at rank 2i − 1: AP = mean(i / (2i − 1)), INP = 300 / 599
    const ng = 600;
    const distances = Array.from({ length: ng }, (_, g) => g / ng);
    const r = one(distances, Array.from({ length: ng }, (_, g) => (g % 2 === 0 ? 1 : 2)), new Array(ng).fill(1));
    let ap = 0;
    for (let i = 1; i <= 300; i++) ap += i / (2 * i - 1);
    expect(r.mAP).toBeCloseTo(ap / 300, 12);
    expect(r.mINP).toBeCloseTo(300 / 599, 12);
  });

  it('cmc has min(maxRank, numGallery) entries', () => {
    expect(one(d, ids, cams, { maxRank: 2 }).cmc.length).toBe(2);
    expect(one(d, ids, cams, { maxRank: 100 }).cmc.length).toBe(4);
  });

  it('validates its inputs', () => {
    expect(() => one(d, ids, cams, { galleryCams: undefined })).toThrow(/galleryCams/);
    expect(() => one(d, [1, 2], cams)).toThrow(/galleryIds has length 2/);
    expect(() => one(d, ids, cams, { numGallery: 3 })).toThrow(/distmat length/);
    expect(() => one([0.1, Number.NaN, 0.2, 0.3], ids, cams)).toThrow(/NaN/);
    expect(() => one(d, ids, cams, { maxRank: 0 })).toThrow(/maxRank/);
  });
});
