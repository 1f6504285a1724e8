/**
 * Parity against the independent NumPy reference (scripts/reference.py → fixtures/parity.json, made by
 * scripts/make_fixture.py). The tests only read the committed fixture; they never call Python.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alphaQueryExpansion } from './aqe';
import { computeDistances } from './distance';
import type { DistanceMetric } from './distance';
import type { ApMode } from './query-score';
import { evaluateRanking } from './ranking';
import { kReciprocalRerank } from './rerank';
import type { RankingResult } from './streaming';

interface ExpectedResult {
  cmc: number[];
  mAP: number;
  mINP: number;
  numValidQueries: number;
  numSkippedQueries: number;
  apPerQuery: (number | null)[];
}
interface LabelCase {
  numQuery: number;
  numGallery: number;
  queryIds: number[];
  galleryIds: number[];
  queryCams: number[];
  galleryCams: number[];
}
interface RankingCase extends LabelCase {
  name: string;
  distmat: number[];
  maxRank: number;
  excludeSameCamera: boolean;
  ap: ApMode;
  goodJunk?: { good: number[][]; junk: number[][] };
  expected: ExpectedResult | null;
}
interface DistanceCase {
  name: string;
  metric: DistanceMetric;
  dim: number;
  query: number[];
  gallery: number[];
  expected: number[];
}
interface RerankCase extends LabelCase {
  name: string;
  k1: number;
  k2: number;
  lambda: number;
  qg: number[];
  qq: number[];
  gg: number[];
  expected: number[];
  expectedEval: ExpectedResult;
}
interface AqeCase {
  name: string;
  dim: number;
  k: number;
  alpha: number;
  expandGallery: boolean;
  query: number[];
  gallery: number[];
  expectedQuery: number[];
  expectedGallery: number[];
}
interface Fixture {
  ranking: RankingCase[];
  distance: DistanceCase[];
  rerank: RerankCase[];
  aqe: AqeCase[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/parity.json', import.meta.url), 'utf8')) as Fixture;
const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

function expectResult(actual: RankingResult, expected: ExpectedResult): void {
  expect(actual.numValidQueries).toBe(expected.numValidQueries);
  expect(actual.numSkippedQueries).toBe(expected.numSkippedQueries);
  expect(Math.abs(actual.mAP - expected.mAP)).toBeLessThan(1e-12);
  expect(Math.abs(actual.mINP - expected.mINP)).toBeLessThan(1e-12);
  expect(actual.cmc.length).toBe(expected.cmc.length);
  expected.cmc.forEach((v, k) => expect(Math.abs(actual.cmc[k] - v)).toBeLessThan(1e-12));
  expected.apPerQuery.forEach((v, q) => {
    if (v === null) expect(actual.apPerQuery[q]).toBeNaN();
    else expect(Math.abs(actual.apPerQuery[q] - v)).toBeLessThan(1e-12);
  });
}

/** Largest |a − b| / max(1, |b|): absolute for distances ≤ 1, relative (float32 ulps) above. */
function maxAbsDiff(a: Float32Array, b: number[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

describe('parity with the NumPy reference', () => {
  it('covers the promised case kinds', () => {
    expect(fixture.ranking.length).toBeGreaterThanOrEqual(30);
    expect(fixture.ranking.some((c) => c.expected !== null && c.expected.numSkippedQueries > 0)).toBe(true);
    expect(fixture.ranking.some((c) => c.goodJunk !== undefined)).toBe(true);
    expect(fixture.ranking.some((c) => c.ap === 'trapezoid')).toBe(true);
    expect(fixture.rerank.length).toBeGreaterThanOrEqual(4);
  });

  it.each(fixture.ranking.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const run = (): RankingResult =>
      evaluateRanking({
        distmat: f32(c.distmat),
        numQuery: c.numQuery,
        numGallery: c.numGallery,
        queryIds: c.queryIds,
        galleryIds: c.galleryIds,
        queryCams: c.queryCams,
        galleryCams: c.galleryCams,
        maxRank: c.maxRank,
        excludeSameCamera: c.excludeSameCamera,
        ap: c.ap,
        ...(c.goodJunk ? { goodJunk: c.goodJunk } : {}),
      });
    if (c.expected === null) expect(run).toThrow(/no valid query/);
    else expectResult(run(), c.expected);
  });

  it.each(fixture.distance.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const d = computeDistances(f32(c.query), f32(c.gallery), c.dim, c.metric);
    expect(maxAbsDiff(d, c.expected)).toBeLessThanOrEqual(1e-6);
  });

  it.each(fixture.rerank.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const out = kReciprocalRerank({
      qg: f32(c.qg),
      qq: f32(c.qq),
      gg: f32(c.gg),
      numQuery: c.numQuery,
      numGallery: c.numGallery,
      k1: c.k1,
      k2: c.k2,
      lambda: c.lambda,
    });
    expect(maxAbsDiff(out, c.expected)).toBeLessThanOrEqual(1e-6);
    const ev = evaluateRanking({ distmat: out, ...c, maxRank: 50, excludeSameCamera: true, ap: 'non-interpolated' });
    expect(Math.abs(ev.mAP - c.expectedEval.mAP)).toBeLessThan(1e-6);
    expect(Math.abs(ev.cmc[0] - c.expectedEval.cmc[0])).toBeLessThan(1e-6);
    expect(Math.abs(ev.mINP - c.expectedEval.mINP)).toBeLessThan(1e-6);
  });

  it.each(fixture.aqe.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const out = alphaQueryExpansion({ query: f32(c.query), gallery: f32(c.gallery), dim: c.dim, k: c.k, alpha: c.alpha, expandGallery: c.expandGallery });
    expect(maxAbsDiff(out.query, c.expectedQuery)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(out.gallery, c.expectedGallery)).toBeLessThanOrEqual(1e-6);
  });
});
