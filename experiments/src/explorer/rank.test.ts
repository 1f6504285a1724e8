import { describe, expect, it } from 'vitest';
import { Rng } from '@clip-senet/core/base';
import { rankedLists } from '@clip-senet/engine';
import type { Sample } from '@clip-senet/datasets';
import { cameraJunkRule, identityRule, type RelevanceRule } from '@clip-senet/metrics';
import { rankGallery } from './rank';

describe('rankGallery: the engine ranked lists, with the junk kept and marked', () => {
  it.each([
    ['cosine', 'cameraJunkRule', cameraJunkRule],
    ['euclidean', 'cameraJunkRule', cameraJunkRule],
    ['cosine', 'identityRule', identityRule],
  ] as const)('counted entries equal rankedLists (%s, %s), junk interleaved where it ranked', (metric, ruleName, rule: RelevanceRule) => {
    const rng = new Rng(5);
    const dim = 8;
    const nq = 6;
    const ng = 40;
    const feats = (n: number): Float32Array => Float32Array.from({ length: n * dim }, () => rng.normal());
    const q = { features: feats(nq), ids: Int32Array.from({ length: nq }, (_, i) => i % 4), cams: Int32Array.from({ length: nq }, (_, i) => i % 3) };
    const g = { features: feats(ng), ids: Int32Array.from({ length: ng }, (_, i) => i % 4), cams: Int32Array.from({ length: ng }, (_, i) => (i >> 2) % 3) };
    // two exact ties (same feature) exercise the index tie-break
    g.features.copyWithin(7 * dim, 3 * dim, 4 * dim);
    const sample = (prefix: string) => (_: unknown, i: number): Sample => ({ path: `${prefix}${i}`, vehicleId: 0, cameraId: 0 });
    const expected = rankedLists({
      query: q, gallery: g, dim, protocol: { metric, relevance: rule }, count: nq,
      querySamples: Array.from({ length: nq }, sample('q')), gallerySamples: Array.from({ length: ng }, sample('g')),
    });
    expect(expected).toHaveLength(nq);
    let junkSeen = 0;
    expected.forEach((list, i) => {
      const got = rankGallery({ query: q.features.subarray(i * dim, (i + 1) * dim), gallery: g.features, dim, metric, galleryIds: g.ids, galleryCams: g.cams, label: { id: q.ids[i]!, cam: q.cams[i]! }, relevance: rule });
      const counted = got.filter((r) => r.mark !== 'junk');
      expect(counted.map((r) => `g${r.index}`)).toEqual(list.gallery.map((e) => e.path));
      expect(counted.map((r) => r.mark === 'correct')).toEqual(list.gallery.map((e) => e.match));
      for (const r of got.filter((x) => x.mark === 'junk')) {
        junkSeen++;
        expect([g.ids[r.index], g.cams[r.index]]).toEqual([q.ids[i], q.cams[i]]);
      }
      for (let k = 1; k < got.length; k++) expect(got[k]!.distance).toBeGreaterThanOrEqual(got[k - 1]!.distance);
    });
    // the camera rule skips same-camera matches; the identity rule (VehicleID) has no junk
    if (ruleName === 'cameraJunkRule') expect(junkSeen).toBeGreaterThan(0);
    else expect(junkSeen).toBe(0);
  });

  it('a query of unknown identity gets the 10 nearest, unmarked; shapes are checked', () => {
    const gallery = Float32Array.from({ length: 12 * 2 }, (_, i) => i);
    const r = rankGallery({ query: Float32Array.of(0, 1), gallery, dim: 2, metric: 'euclidean', galleryIds: new Int32Array(12), galleryCams: new Int32Array(12) });
    expect(r.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(r.map((x) => x.mark))).toEqual(new Set(['unknown']));
    expect(() => rankGallery({ query: Float32Array.of(0), gallery, dim: 2, metric: 'cosine', galleryIds: new Int32Array(12), galleryCams: new Int32Array(12) })).toThrow('rankGallery: query of 1 values, expected 2');
  });
});
