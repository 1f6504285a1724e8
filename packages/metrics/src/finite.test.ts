/**
 * Non-finite features and distances are errors at every entry point (issue 15): before the guard, all-NaN cosine
 * features ranked as distance 1 everywhere (ties → gallery order) and scored a believable mAP.
 */
import { Rng } from '@clip-senet/core/base';
import { afterAll, describe, expect, it } from 'vitest';
import { alphaQueryExpansion } from './aqe';
import { computeDistances, computeSelfDistances, distanceBlocks } from './distance';
import { assertFiniteRows, findNonFiniteRows } from './finite';
import { createDistancePool } from './parallel-distance';
import { vehicleId, veri776, veriWild } from './protocols';
import { evaluateRanking } from './ranking';
import { kReciprocalRerank } from './rerank';
import { createRankingEvaluator } from './streaming';

const dim = 4;
const rng = new Rng(15);
const finite = (n: number): Float32Array => Float32Array.from({ length: n * dim }, () => rng.normal());
/** `n` rows with NaN / ±Infinity put into the listed rows (column 1 of the first, column 3 of the others). */
function spoiled(n: number, rows: readonly number[], value = Number.NaN): Float32Array {
  const f = finite(n);
  rows.forEach((r, i) => (f[r * dim + (i === 0 ? 1 : 3)] = value));
  return f;
}
const ids = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i % 3);
const cams = (n: number, c: number): Int32Array => new Int32Array(n).fill(c);

describe('findNonFiniteRows / assertFiniteRows', () => {
  it('counts the rows holding NaN or ±Infinity and locates the first', () => {
    expect(findNonFiniteRows(finite(5), dim)).toBeUndefined();
    expect(findNonFiniteRows(spoiled(6, [2, 4, 5], Number.NEGATIVE_INFINITY), dim)).toEqual({ count: 3, rows: 6, firstRow: 2, firstColumn: 1, value: -Infinity });
    expect(() => assertFiniteRows(spoiled(6, [4]), dim, 'test features', { rowName: (r) => `img-${r}.jpg`, rowOffset: 10 })).toThrow(
      'test features: 1 of 6 rows is not finite (NaN or ±Infinity); first: row 14 (img-14.jpg), column 1 = NaN',
    );
  });
});

describe('distances refuse non-finite features', () => {
  it('computeDistances / computeSelfDistances / distanceBlocks name the split, the count and the first row', () => {
    expect(() => computeDistances(spoiled(5, [1, 3]), finite(7), dim, 'cosine')).toThrow(
      'computeDistances: query features: 2 of 5 rows are not finite (NaN or ±Infinity); first: row 1, column 1 = NaN',
    );
    expect(() => computeDistances(finite(5), spoiled(7, [6], Infinity), dim, 'euclidean')).toThrow(/gallery features: 1 of 7 rows is not finite.*row 6, column 1 = Infinity/);
    expect(() => computeSelfDistances(spoiled(5, [0]), dim, 'cosine')).toThrow(/computeSelfDistances: features: 1 of 5 rows/);
    expect(() => [...distanceBlocks(finite(5), spoiled(7, [2]), dim, 'cosine')]).toThrow(/distanceBlocks: gallery features: 1 of 7 rows/);
  });

  const pool = createDistancePool({ workers: 1 });
  afterAll(() => pool.close());
  it('the worker pool refuses them too', async () => {
    await expect(pool.computeDistances(spoiled(5, [4]), finite(7), dim, 'cosine')).rejects.toThrow(/query features: 1 of 5 rows/);
    await expect(pool.computeSelfDistances(spoiled(5, [4]), dim, 'cosine')).rejects.toThrow(/computeSelfDistances: features: 1 of 5/);
    const blocks = pool.distanceBlocks(finite(5), spoiled(7, [0, 1]), dim, 'cosine');
    await expect(blocks.next()).rejects.toThrow(/gallery features: 2 of 7 rows/);
  });
});

describe('ranking refuses non-finite distances', () => {
  const labels = { numQuery: 3, numGallery: 4, queryIds: [0, 1, 2], galleryIds: [0, 1, 2, 0], excludeSameCamera: false };
  it('evaluateRanking: an Infinity (not only NaN) distance is an error naming the query row and gallery column', () => {
    const distmat = Float32Array.from({ length: 12 }, (_, i) => i / 12);
    distmat[1 * 4 + 2] = Infinity;
    distmat[2 * 4 + 0] = Number.NaN;
    expect(() => evaluateRanking({ ...labels, distmat })).toThrow(
      'ranking: distances: 2 of 3 query rows are not finite (NaN or ±Infinity); first: query row 1, gallery column 2 = Infinity',
    );
    // every distance +Infinity used to rank as a tie in gallery order
    expect(() => evaluateRanking({ ...labels, distmat: new Float32Array(12).fill(Infinity) })).toThrow(/3 of 3 query rows/);
  });

  it('the streaming evaluator names the block and the absolute query row', () => {
    const ev = createRankingEvaluator(labels);
    ev.addQueryBlock({ start: 0, count: 1, distances: Float32Array.of(0.1, 0.2, 0.3, 0.4) });
    expect(() => ev.addQueryBlock({ start: 1, count: 2, distances: Float32Array.of(0, 0, 0, 0, 0, -Infinity, 0, 0) })).toThrow(
      'ranking: distances of query rows [1, 3) of 3: 1 of 2 query rows is not finite (NaN or ±Infinity); first: query row 2, gallery column 1 = -Infinity',
    );
  });
});

describe('post-processing refuses non-finite inputs', () => {
  it('kReciprocalRerank names the matrix', () => {
    const q = finite(3);
    const g = finite(6);
    const d = (a: Float32Array, b: Float32Array) => computeDistances(a, b, dim, 'euclidean');
    const input = { qg: d(q, g), qq: d(q, q), gg: d(g, g), numQuery: 3, numGallery: 6, k1: 3, k2: 2 };
    expect(kReciprocalRerank(input).every(Number.isFinite)).toBe(true);
    const qq = input.qq.slice();
    qq[5] = Number.NaN;
    expect(() => kReciprocalRerank({ ...input, qq })).toThrow(/query–query distances \(qq\): 1 of 3 query rows is not finite.*query row 1, query column 2 = NaN/);
    // finite but all zero (identical features): the row-normalised distance would be 0 / 0
    expect(() => kReciprocalRerank({ ...input, qg: new Float32Array(18), qq: new Float32Array(9), gg: new Float32Array(36) })).toThrow(/re-ranked distances.*3 of 3 query rows/);
  });

  it('alphaQueryExpansion names the split', () => {
    expect(() => alphaQueryExpansion({ query: finite(3), gallery: spoiled(6, [5]), dim })).toThrow(/alphaQueryExpansion: gallery features: 1 of 6 rows/);
    expect(() => alphaQueryExpansion({ query: spoiled(3, [0, 1, 2]), gallery: finite(6), dim })).toThrow(/alphaQueryExpansion: query features: 3 of 3 rows/);
  });
});

describe('protocols refuse non-finite features (all-NaN cosine features used to score mAP 0.625)', () => {
  const nanQuery = { features: new Float32Array(2 * dim).fill(Number.NaN), ids: Int32Array.of(0, 1), cams: cams(2, 0), source: 'name_query.txt' };
  const gallery = { features: finite(6), ids: ids(6), cams: cams(6, 1), source: 'name_test.txt' };
  it.each([
    ['veri776', () => veri776().evaluate({ query: nanQuery, gallery, dim }), /^veri776: query features \(name_query\.txt\): 2 of 2 rows are not finite/],
    ['veri776 + rr + aqe', () => veri776({ rerank: { k1: 2, k2: 1 }, aqe: {} }).evaluate({ query: gallery, gallery: { ...gallery, features: spoiled(6, [3]) }, dim }), /^veri776: gallery features \(name_test\.txt\): 1 of 6 rows is not finite.*row 3/],
    ['veriWild', () => veriWild({ testSize: 3000, metric: 'euclidean' }).evaluate({ query: nanQuery, gallery, dim }), /^veriWild: query features \(name_query\.txt\): 2 of 2 rows/],
    ['vehicleId', () => vehicleId({ testSize: 800, repeats: 1 }).evaluate({ test: { ...gallery, features: spoiled(6, [1, 2]) }, dim }), /^vehicleId: test features \(name_test\.txt\): 2 of 6 rows/],
  ])('%s', (_name, run, message) => {
    expect(run).toThrow(message);
  });
});

describe('"no valid query" says which list is empty or has no match', () => {
  const query = { features: finite(2), ids: Int32Array.of(7, 8), cams: cams(2, 0), source: 'q.txt' };
  const gallery = { features: finite(3), ids: Int32Array.of(7, 8, 9), cams: cams(3, 0), source: 'g.txt' };
  const none = { features: new Float32Array(0), ids: new Int32Array(0), cams: new Int32Array(0) };
  it('an empty query or gallery list, with its source', () => {
    expect(() => veri776().evaluate({ query: { ...none, source: 'q.txt' }, gallery, dim })).toThrow('veri776: no valid query: the query list (q.txt) is empty');
    expect(() => veriWild({ testSize: 3000 }).evaluate({ query, gallery: { ...none, source: 'g.txt' }, dim })).toThrow('veriWild: no valid query: the gallery list (g.txt) is empty');
    expect(() => vehicleId({ testSize: 800 }).evaluate({ test: none, dim })).toThrow('vehicleId: no valid query: the test list is empty');
    const base = { numQuery: 2, numGallery: 0, queryIds: [1, 2], galleryIds: [], excludeSameCamera: false, distmat: new Float32Array(0) };
    expect(() => evaluateRanking(base)).toThrow('ranking: no valid query: the gallery list is empty, so none of the 2 queries can match');
    expect(() => evaluateRanking({ ...base, numQuery: 0, queryIds: [], querySource: 'a.txt' })).toThrow('ranking: no valid query: the query list (a.txt) is empty');
  });

  it('lists without a valid match: every match is same-camera junk, or the ids do not overlap', () => {
    expect(() => veri776().evaluate({ query, gallery, dim })).toThrow(
      'ranking: no valid query: none of the 2 queries in the query list (q.txt) has a same-id image from another camera (same-id same-camera images are junk) in the 3-image gallery list (g.txt)',
    );
    const labels = { numQuery: 1, numGallery: 2, queryIds: [5], galleryIds: [1, 2], excludeSameCamera: false, distmat: Float32Array.of(0, 1) };
    expect(() => evaluateRanking(labels)).toThrow('none of the 1 queries in the query list has a same-id image in the 2-image gallery list');
    expect(() => evaluateRanking({ ...labels, queryIds: [1], goodJunk: { good: [[0]], junk: [[0]] } })).toThrow(/has a good gallery index that is not also junk/);
  });
});
