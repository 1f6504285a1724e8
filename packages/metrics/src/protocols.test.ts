import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { computeDistances } from './distance';
import { createDistancePool } from './parallel-distance';
import { cameraJunkRule, drawVehicleIdSplit, identityRule, parseVeri776IndexFile, protocolId, vehicleId, veri776, veriWild, type RelevanceRule } from './protocols';
import { evaluateRanking } from './ranking';
import { kReciprocalRerank } from './rerank';

const dim = 8;
function labelled(rng: Rng, n: number, numIds: number, noise: number) {
  const centres = Array.from({ length: numIds }, () => Array.from({ length: dim }, () => rng.normal()));
  const ids = Int32Array.from({ length: n }, () => rng.int(numIds));
  const cams = Int32Array.from({ length: n }, () => rng.int(3));
  const features = Float32Array.from({ length: n * dim }, (_, i) => centres[ids[Math.floor(i / dim)]][i % dim] + noise * rng.normal());
  return { features, ids, cams };
}

describe('protocol ids', () => {
  it('state dataset, re-ranking, AQE, distance and AP mode', () => {
    expect(veri776().id).toBe('veri776/no-rr/cosine/non-interp');
    expect(veri776({ rerank: {}, aqe: { k: 3 }, ap: 'trapezoid', metric: 'euclidean' }).id).toBe(
      'veri776/rr(k1=20,k2=6,lambda=0.3)/aqe(k=3,alpha=3)/euclidean/trapezoid',
    );
    expect(veri776({ goodJunk: { good: [], junk: [] } }).id).toBe('veri776-gtjk/no-rr/cosine/non-interp');
    expect(veriWild({ testSize: 10000 }).id).toBe('veriwild-large/no-rr/cosine/non-interp');
    expect(vehicleId({ testSize: 800, seed: 5, repeats: 3 }).id).toBe('vehicleid-800/no-rr/cosine/non-interp/draws=3,seeds=5..7');
    expect(protocolId('x', 'cosine', 'non-interpolated', { k1: 10 })).toBe('x/rr(k1=10,k2=6,lambda=0.3)/cosine/non-interp');
  });
});

describe('parseVeri776IndexFile', () => {
  it('reads 1-based whitespace-separated lines into 0-based lists', () => {
    const lists = parseVeri776IndexFile('3 1  7\n\n2\r\n', 7);
    expect(lists.map((l) => Array.from(l))).toEqual([[2, 0, 6], [], [1]]);
    expect(() => parseVeri776IndexFile('0 1\n')).toThrow(/line 1/);
    expect(() => parseVeri776IndexFile('8\n', 7)).toThrow(/bad gallery index '8'/);
  });
});

describe('veri776 and veriWild', () => {
  const rng = new Rng(61);
  const query = labelled(rng, 24, 10, 1.5);
  const gallery = labelled(rng, 90, 10, 1.5);
  const labels = { numQuery: 24, numGallery: 90, queryIds: query.ids, galleryIds: gallery.ids, queryCams: query.cams, galleryCams: gallery.cams };

  it('veri776 equals distances + evaluateRanking (same-camera junk)', () => {
    const r = veri776().evaluate({ query, gallery, dim });
    const ref = evaluateRanking({ ...labels, distmat: computeDistances(query.features, gallery.features, dim, 'cosine') });
    expect(r.mAP).toBe(ref.mAP);
    expect(r.protocolId).toBe('veri776/no-rr/cosine/non-interp');
  });

  it('veri776 with re-ranking equals the explicit pipeline', () => {
    const r = veri776({ rerank: { k1: 8, k2: 3 } }).evaluate({ query, gallery, dim });
    const d = (a: Float32Array, b: Float32Array) => computeDistances(a, b, dim, 'cosine');
    const rr = kReciprocalRerank({
      qg: d(query.features, gallery.features),
      qq: d(query.features, query.features),
      gg: d(gallery.features, gallery.features),
      numQuery: 24,
      numGallery: 90,
      k1: 8,
      k2: 3,
    });
    expect(r.mAP).toBe(evaluateRanking({ ...labels, distmat: rr }).mAP);
  });

  it('veriWild streams to the same figures and checks the published counts', () => {
    const r = veriWild({ testSize: 3000, blockSize: 5 }).evaluate({ query, gallery, dim });
    expect(r.mAP).toBe(veri776().evaluate({ query, gallery, dim }).mAP);
    expect(r.countsMatchPublished).toBe(false);
    expect(() => veriWild({ testSize: 4000 as 3000 })).toThrow(/testSize/);
  });

  it('veriWild on a worker pool gives the same result', async () => {
    const pool = createDistancePool({ workers: 2 });
    try {
      const r = await veriWild({ testSize: 5000, blockSize: 7 }).evaluateParallel({ query, gallery, dim }, pool);
      expect(r.mAP).toBe(veriWild({ testSize: 5000 }).evaluate({ query, gallery, dim }).mAP);
    } finally {
      await pool.close();
    }
  });
});

describe('vehicleId', () => {
  it('draws one gallery image per identity, the rest as queries, deterministically per seed', () => {
    const ids = [3, 1, 3, 3, 2, 1, 7];
    const a = drawVehicleIdSplit(ids, 4);
    expect(a.gallery.length).toBe(4); // ids 1, 2, 3, 7
    expect(a.query.length).toBe(3);
    expect(new Set(Array.from(a.gallery, (i) => ids[i])).size).toBe(4);
    expect([...a.query, ...a.gallery].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(a.gallery).toContain(4); // single-image id 2 → gallery only
    expect(a.gallery).toContain(6);
    expect(drawVehicleIdSplit(ids, 4)).toEqual(a);
    const many = Array.from({ length: 200 }, (_, i) => i % 20);
    expect(drawVehicleIdSplit(many, 1).gallery).not.toEqual(drawVehicleIdSplit(many, 2).gallery);
  });

  it('reports every draw and mean ± std (population) of R1 / R5 / mAP', () => {
    const rng = new Rng(62);
    const test = labelled(rng, 300, 40, 1.0);
    const r = vehicleId({ testSize: 800, repeats: 4, seed: 10 }).evaluate({ test, dim });
    expect(r.draws.map((d) => d.seed)).toEqual([10, 11, 12, 13]);
    const r1 = r.draws.map((d) => d.cmc[0]);
    const mean = r1.reduce((a, b) => a + b) / 4;
    expect(r.rank1.mean).toBeCloseTo(mean, 14);
    expect(r.rank1.std).toBeCloseTo(Math.sqrt(r1.reduce((a, b) => a + (b - mean) ** 2, 0) / 4), 14);
    expect(r.rank5.mean).toBeGreaterThanOrEqual(r.rank1.mean);
    expect(new Set(r1).size).toBeGreaterThan(1); // draws differ
  });

  it('scores perfectly separable features 1.0', () => {
    const ids = Int32Array.from({ length: 60 }, (_, i) => i % 12);
    const features = Float32Array.from({ length: 60 * dim }, (_, i) => (i % dim === ids[Math.floor(i / dim)] % dim ? 1 + ids[Math.floor(i / dim)] : 0));
    const r = vehicleId({ testSize: 800, repeats: 2, metric: 'euclidean' }).evaluate({ test: { features, ids }, dim });
    expect(r.rank1.mean).toBe(1);
    expect(r.mAP.mean).toBe(1);
  });
});

describe('every protocol is invariant to the features\u2019 scale', () => {
  // Before the fix, veri776/veriWild with euclidean αQE ranked unit-length expanded queries against the raw
  // gallery: mAP collapsed and moved when every feature was scaled.
  const rng = new Rng(63);
  const query = labelled(rng, 30, 12, 1.2);
  const gallery = labelled(rng, 110, 12, 1.2);
  const test = labelled(rng, 120, 30, 1.0);
  const scaled = <T extends { features: Float32Array }>(x: T, c: number): T => ({ ...x, features: x.features.map((v) => v * c) });
  const metrics = ['cosine', 'euclidean'] as const;
  const rerank = [false, { k1: 6, k2: 3 }] as const;
  const aqe = [false, { k: 3 }, { k: 3, alpha: 1, expandGallery: true }] as const;
  // official-list variant: every same-id gallery image good, the same-camera ones junk
  const sameId = (q: number, sameCam: boolean) => Int32Array.from(Array.from(gallery.ids.keys()).filter((g) => gallery.ids[g] === query.ids[q] && (gallery.cams[g] === query.cams[q]) === sameCam));
  const goodJunk = { good: Array.from({ length: 30 }, (_, q) => sameId(q, false)), junk: Array.from({ length: 30 }, (_, q) => sameId(q, true)) };
  const queryGallery = [
    ...metrics.flatMap((metric) => rerank.flatMap((rr) => aqe.map((a) => veri776({ metric, rerank: rr, aqe: a })))),
    ...metrics.map((metric) => veri776({ metric, ap: 'trapezoid', aqe: { k: 4 }, goodJunk })),
    ...metrics.flatMap((metric) => aqe.map((a) => veriWild({ testSize: 3000, metric, aqe: a, blockSize: 7 }))),
  ];
  const summary = (r: { mAP: number; mINP: number; cmc: Float64Array; apPerQuery: Float64Array }) => ({ mAP: r.mAP, mINP: r.mINP, cmc: Array.from(r.cmc), ap: Array.from(r.apPerQuery) });

  it.each(queryGallery.map((p) => [p.id, p] as const))('%s', (_id, p) => {
    const base = summary(p.evaluate({ query, gallery, dim }));
    for (const c of [4, 0.25, 3]) expect(summary(p.evaluate({ query: scaled(query, c), gallery: scaled(gallery, c), dim }))).toEqual(base);
  });

  it.each(metrics.map((metric) => [metric, vehicleId({ testSize: 800, repeats: 3, metric })] as const))('vehicleId %s', (_metric, p) => {
    const base = p.evaluate({ test, dim });
    for (const c of [4, 0.25, 3]) {
      const r = p.evaluate({ test: scaled(test, c), dim });
      expect(r.draws.map(summary)).toEqual(base.draws.map(summary));
    }
  });

  it('αQE ranks the same with euclidean and cosine (both on unit vectors) and does not collapse', () => {
    for (const rr of rerank) {
      const cos = veri776({ metric: 'cosine', rerank: rr, aqe: {} }).evaluate({ query, gallery, dim });
      const euc = veri776({ metric: 'euclidean', rerank: rr, aqe: {} }).evaluate({ query, gallery, dim });
      expect(euc.mAP).toBeCloseTo(cos.mAP, 6);
      expect(euc.mAP).toBeGreaterThan(0.5 * veri776({ metric: 'euclidean', rerank: rr }).evaluate({ query, gallery, dim }).mAP);
    }
  });
});

describe("a protocol's relevance rule is the rule its evaluation applies", () => {
  const rng = new Rng(11);
  const dim = 4;
  const nq = 12;
  const ng = 30;
  const feats = (n: number): Float32Array => Float32Array.from({ length: n * dim }, () => rng.normal());
  const query = { features: feats(nq), ids: Int32Array.from({ length: nq }, (_, i) => i % 5), cams: Int32Array.from({ length: nq }, (_, i) => i % 2) };
  const gallery = { features: feats(ng), ids: Int32Array.from({ length: ng }, (_, i) => i % 6), cams: Int32Array.from({ length: ng }, (_, i) => (i >> 1) % 3) };
  const validUnder = (rule: RelevanceRule): number =>
    Array.from({ length: nq }, (_, q) => Array.from({ length: ng }, (_, g) => rule({ query, gallery }, q, g)).includes('good')).filter(Boolean).length;

  it('veri776 (camera rule) and veri776-gtjk (the official lists): the queries with a good image are the valid queries', () => {
    const plain = veri776();
    expect(plain.relevance).toBe(cameraJunkRule);
    expect(plain.metric).toBe('cosine');
    expect(validUnder(plain.relevance)).toBe(plain.evaluate({ query, gallery, dim }).numValidQueries);
    // lists unlike the camera rule: every third query has no good image, the others two arbitrary ones
    const good = Array.from({ length: nq }, (_, q) => (q % 3 === 0 ? Int32Array.of() : Int32Array.of(q, q + 7)));
    const junk = Array.from({ length: nq }, (_, q) => Int32Array.of(q + 1));
    const gtjk = veri776({ metric: 'euclidean', goodJunk: { good, junk } });
    expect(gtjk.metric).toBe('euclidean');
    expect(gtjk.relevance({ query, gallery }, 1, 1)).toBe('good');
    expect(gtjk.relevance({ query, gallery }, 1, 2)).toBe('junk');
    expect(gtjk.relevance({ query, gallery }, 1, 3)).toBe('other');
    expect(validUnder(gtjk.relevance)).toBe(gtjk.evaluate({ query, gallery, dim }).numValidQueries);
  });

  it('veriWild uses the camera rule, vehicleId the identity rule (no junk); the camera rule needs camera ids', () => {
    expect(veriWild({ testSize: 3000 }).relevance).toBe(cameraJunkRule);
    expect(vehicleId({ testSize: 800 }).relevance).toBe(identityRule);
    expect(identityRule({ query, gallery }, 0, 6)).toBe('good');
    expect(() => cameraJunkRule({ query: { ids: [1] }, gallery: { ids: [1] } }, 0, 0)).toThrow(/needs camera ids/);
  });
});
