import { describe, expect, it } from 'vitest';
import { vehicleId } from '@clip-senet/metrics';
import { errorOf } from '@clip-senet/core/testing';
import { evaluationFor, evaluationLists, metricsLine, protocolFor } from './protocol';
import { parseConfigText } from './testing';
import type { LoadedData } from './data';
import type { Sample } from '@clip-senet/datasets';

/** A config from YAML lines (through a temporary file, as the CLI reads it). */
const config = (...lines: string[]) => parseConfigText(`${lines.join('\n')}\n`);
const goodJunk = { good: [Int32Array.of(0)], junk: [Int32Array.of()] };


describe('protocolFor: dataset + eval → metrics protocol id', () => {
  it.each([
    [['data: { dataset: synthetic }'], 'veri776/no-rr/cosine/non-interp'],
    [['data: { dataset: veri776, root: datasets/VeRi }'], 'veri776/no-rr/cosine/non-interp'],
    [
      ['data: { dataset: veri776, root: datasets/VeRi }', 'eval: { metric: euclidean, ap: trapezoid, rerank: { enabled: true }, aqe: { enabled: true } }'],
      'veri776/rr(k1=20,k2=6,lambda=0.3)/aqe(k=5,alpha=3)/euclidean/trapezoid',
    ],
    [['data: { dataset: veri776, root: datasets/VeRi }', 'eval: { rerank: { enabled: true, k1: 30, k2: 8, lambda: 0.2 } }'], 'veri776/rr(k1=30,k2=8,lambda=0.2)/cosine/non-interp'],
    [['data: { dataset: veri776, root: datasets/VeRi }', 'eval: { rerank: { k1: 30 } }'], 'veri776/no-rr/cosine/non-interp'],
    [['data: { dataset: veri776, root: datasets/VeRi, officialIndices: true }'], 'veri776-gtjk/no-rr/cosine/non-interp'],
    [['data: { dataset: synthetic, officialIndices: true }', 'eval: { ap: trapezoid }'], 'veri776-gtjk/no-rr/cosine/trapezoid'],
    [['data: { dataset: veriwild, root: datasets/VERI-Wild, testSize: 3000 }'], 'veriwild-small/no-rr/cosine/non-interp'],
    [['data: { dataset: veriwild, root: datasets/VERI-Wild, testSize: 5000 }', 'eval: { metric: euclidean }'], 'veriwild-medium/no-rr/euclidean/non-interp'],
    [['data: { dataset: veriwild, root: datasets/VERI-Wild, testSize: 10000 }', 'eval: { aqe: { enabled: true, k: 3, alpha: 2 } }'], 'veriwild-large/no-rr/aqe(k=3,alpha=2)/cosine/non-interp'],
    [['data: { dataset: vehicleid, root: datasets/VehicleID, testSize: 800 }'], 'vehicleid-800/no-rr/cosine/non-interp/draws=10,seeds=0..9'],
    [['data: { dataset: vehicleid, root: datasets/VehicleID, testSize: 1600, draws: 3, drawSeed: 5 }'], 'vehicleid-1600/no-rr/cosine/non-interp/draws=3,seeds=5..7'],
    [['data: { dataset: vehicleid, root: datasets/VehicleID, testSize: 2400 }', 'eval: { metric: euclidean }'], 'vehicleid-2400/no-rr/euclidean/non-interp/draws=10,seeds=0..9'],
  ])('%j → %s', (lines, id) => {
    expect(protocolFor(config(...lines), { goodJunk }).protocol.id).toBe(id);
  });

  it('VehicleID is the only dataset evaluated over draws', () => {
    expect(protocolFor(config('data: { dataset: vehicleid, root: r, testSize: 800 }')).kind).toBe('draws');
    expect(protocolFor(config('data: { dataset: veriwild, root: r, testSize: 3000 }')).kind).toBe('query-gallery');
  });

  it('official indices requested but not loaded is an error', () => {
    expect(() => protocolFor(config('data: { dataset: veri776, root: r, officialIndices: true }'))).toThrow(/officialIndices.*no good\/junk lists/);
  });

  it('fills per-dataset defaults into the resolved config and drops other datasets\u2019 knobs cleared with null', () => {
    const c = config('data: { dataset: vehicleid, root: r, testSize: 800, officialIndices: null, viewLabels: null }');
    expect(c.data).toEqual({ dataset: 'vehicleid', root: 'r', world: {}, testSize: 800, draws: 10, drawSeed: 0, strictCounts: true });
    expect(config('data: { dataset: veri776, root: r }').data).toEqual({ dataset: 'veri776', root: 'r', world: {}, officialIndices: false, viewLabels: null, strictCounts: true });
    expect(config('data: { dataset: veriwild, root: r, testSize: 3000, world: null }').data).toEqual({ dataset: 'veriwild', root: 'r', world: {}, testSize: 3000, format: 'auto', strictCounts: true });
  });
});

describe('bad configs: one error naming the file, the key and its line', () => {
  it.each([
    [['data:', '  dataset: veri776', '  root: datasets/VeRi', '  draws: 5'], /config\.yaml: data\.draws: only applies to dataset 'vehicleid', not 'veri776' \(line 4\)/],
    [['data:', '  dataset: vehicleid', '  root: r'], /config\.yaml: data\.testSize: dataset 'vehicleid' needs testSize 800 \| 1600 \| 2400/],
    [['data:', '  dataset: veriwild', '  root: r', '  testSize: 800'], /config\.yaml: data\.testSize: dataset 'veriwild' needs testSize 3000 \| 5000 \| 10000, got 800 \(line 4\)/],
    [['data:', '  dataset: veriwild', '  testSize: 3000'], /config\.yaml: data\.root: dataset 'veriwild' needs data\.root/],
    [['data:', '  dataset: veri776', '  root: r', '  world: { seed: 1 }'], /config\.yaml: data\.world: only applies to dataset 'synthetic'.*\(line 4\)/],
    [['data: { dataset: veriwild, root: r, testSize: 3000 }', 'eval:', '  rerank:', '    enabled: true'], /config\.yaml: eval\.rerank\.enabled: re-ranking is offered on veri776 \/ synthetic only, not 'veriwild' \(line 4\)/],
    [['data: { dataset: vehicleid, root: r, testSize: 800 }', 'eval:', '  aqe: { enabled: true }'], /config\.yaml: eval\.aqe\.enabled: the VehicleID protocol has no query expansion/],
    [['data: { dataset: vehicleid, root: r, testSize: 800 }', 'eval:', '  ap: trapezoid'], /config\.yaml: eval\.ap: the VehicleID protocol uses non-interpolated AP only \(line 3\)/],
    [['eval:', '  rerank:', '    k3: 1'], /config\.yaml: eval\.rerank\.k3: unknown key \(not in the schema\) \(line 3\)/],
    [
      ['data: { dataset: veri776, root: r }', 'model:', '  fusion:', '    name: clip-senet', '    cameraView:', '      numViews: 8'],
      /config\.yaml: model\.fusion\.cameraView\.numViews: a view embedding needs view labels: the synthetic world, or dataset veri776 with data\.viewLabels \(line 6\)/,
    ],
    [['data: { dataset: vehicleid, root: r, testSize: 800 }', 'model:', '  fusion: { name: clip-senet, cameraView: { numCameras: 4 } }'], /model\.fusion\.cameraView\.numCameras: VehicleID has no camera ids/],
    [['data: { dataset: veri776, root: r }', 'model:', '  fusion: { name: clip-senet, cameraView: { numCameras: 8 } }'], /VeRi-776 has 20 cameras \(c001\.\.c020\), got numCameras 8/],
  ])('%j', (lines, message) => {
    const msg = errorOf(() => config(...lines));
    expect(msg).toMatch(/\(1 issue\)/);
    expect(msg).toMatch(message);
  });
});

describe('VehicleID evaluation through the engine\u2019s query/gallery path', () => {
  // 4 identities × 3 images; features = one-hot identity + a per-image perturbation, so draws differ
  const dim = 6;
  const test: Sample[] = Array.from({ length: 12 }, (_, i) => ({ path: `/t/${String(i).padStart(2, '0')}.jpg`, vehicleId: 10 + Math.floor(i / 3), cameraId: -1 }));
  const features = new Float32Array(test.length * dim);
  test.forEach((s, i) => {
    features[i * dim + (s.vehicleId - 10)] = 1;
    features[i * dim + 4 + (i % 2)] = 0.9 + 0.1 * (i % 3);
  });
  const ids = Int32Array.from(test, (s) => s.vehicleId);
  const data: LoadedData = { dataset: 'vehicleid', root: '/t', train: [], query: [], gallery: [], test, numClasses: 1, warnings: [] };

  it('the plan feeds the test list as query with an empty gallery, and reports the draws\u2019 mean ± std', () => {
    const c = config('data: { dataset: vehicleid, root: r, testSize: 800, draws: 4, drawSeed: 2 }');
    const plan = evaluationFor(c, data);
    expect(plan.query).toBe(test);
    expect(plan.gallery).toEqual([]);
    expect(plan.details()).toBeUndefined();
    const r = plan.protocol.evaluate({ query: { features, ids }, gallery: { features: new Float32Array(0), ids: new Int32Array(0) }, dim });
    const direct = vehicleId({ testSize: 800, repeats: 4, seed: 2 }).evaluate({ test: { features, ids }, dim });
    const d = plan.details()!;
    expect(d.draws.map((x) => x.seed)).toEqual([2, 3, 4, 5]);
    expect(d.rank1).toEqual(direct.rank1);
    expect(d.mAP).toEqual(direct.mAP);
    expect(r.mAP).toBeCloseTo(direct.mAP.mean, 12);
    expect(r.cmc[0]).toBeCloseTo(direct.rank1.mean, 12);
    expect(r.protocolId).toBe(direct.protocolId);
    expect(new Set(d.draws.map((x) => x.mAP)).size).toBeGreaterThan(1);
    expect(d.mAP.std).toBeGreaterThan(0);
  });

  it('a non-empty gallery is refused', () => {
    const plan = evaluationFor(config('data: { dataset: vehicleid, root: r, testSize: 800 }'), data);
    expect(() => plan.protocol.evaluate({ query: { features, ids }, gallery: { features, ids }, dim })).toThrow(/empty gallery/);
  });
});

describe('metricsLine names the skipped queries', () => {
  const r = { protocolId: 'veri776/no-rr/cosine/non-interp', mAP: 0.5, rank1: 0.6, rank5: 0.7, mINP: 0.2, numValidQueries: 8 };
  it('nothing extra when no query is skipped', () => {
    expect(metricsLine({ ...r, numSkippedQueries: 0, skippedQueries: [] })).toBe('veri776/no-rr/cosine/non-interp: mAP 50.00  R1 60.00  R5 70.00  mINP 20.00');
  });
  it('the count, the total and the first paths', () => {
    expect(metricsLine({ ...r, numSkippedQueries: 2, skippedQueries: ['/q/b.jpg', '/q/c.jpg'] })).toBe(
      'veri776/no-rr/cosine/non-interp: mAP 50.00  R1 60.00  R5 70.00  mINP 20.00  skipped 2 of 10 queries (no valid match in the gallery): /q/b.jpg, /q/c.jpg',
    );
    const many = Array.from({ length: 7 }, (_, i) => `/q/${i}.jpg`);
    expect(metricsLine({ ...r, numSkippedQueries: 7, skippedQueries: many })).toMatch(/skipped 7 of 15 queries \(no valid match in the gallery\): \/q\/0\.jpg, .*\/q\/4\.jpg … and 2 more$/);
  });
});

describe('evaluationFor names the list files', () => {
  const sample = (path: string, vehicleId: number, cameraId: number): Sample => ({ path, vehicleId, cameraId });
  const c = config('data: { dataset: veri776, root: datasets/VeRi }');
  const data = (query: Sample[], gallery: Sample[]): LoadedData => ({ dataset: 'veri776', root: '/d/VeRi', train: [], query, gallery, numClasses: 1, warnings: [] });

  it('list files per dataset', () => {
    expect(evaluationLists(c.data, '/d/VeRi')).toEqual({ query: '/d/VeRi/name_query.txt', gallery: '/d/VeRi/name_test.txt' });
    expect(evaluationLists({ dataset: 'veriwild', testSize: 3000, format: 'original' }, '/w')).toEqual({ query: '/w/test_3000_query.txt', gallery: '/w/test_3000.txt' });
    expect(evaluationLists({ dataset: 'veriwild', testSize: 5000, format: 'auto' }, '/w').query).toBe('/w/test_5000_id_query.txt or test_5000_query.txt');
    expect(evaluationLists({ dataset: 'vehicleid', testSize: 800 }, '/v').query).toBe('/v/train_test_split/test_list_800.txt');
  });

  it('an empty split is refused before anything runs', () => {
    expect(() => evaluationFor(c, data([], [sample('/g.jpg', 1, 0)]))).toThrow('evaluationFor: the query list is empty: /d/VeRi/name_query.txt gives no images');
    expect(() => evaluationFor(c, data([sample('/q.jpg', 1, 0)], []))).toThrow('evaluationFor: the gallery list is empty: /d/VeRi/name_test.txt gives no images');
  });

  it('the protocol\u2019s errors name the files: no valid match, non-finite features', () => {
    const plan = evaluationFor(c, data([sample('/q.jpg', 1, 0)], [sample('/g.jpg', 1, 0)]));
    const query = { features: Float32Array.of(1, 0), ids: Int32Array.of(1), cams: Int32Array.of(0) };
    const gallery = { features: Float32Array.of(0, 1), ids: Int32Array.of(1), cams: Int32Array.of(0) };
    expect(() => plan.protocol.evaluate({ query, gallery, dim: 2 })).toThrow(
      'none of the 1 queries in the query list (/d/VeRi/name_query.txt) has a same-id image from another camera (same-id same-camera images are junk) in the 1-image gallery list (/d/VeRi/name_test.txt)',
    );
    expect(() => plan.protocol.evaluate({ query, gallery: { ...gallery, features: Float32Array.of(Number.NaN, 1) }, dim: 2 })).toThrow(
      /^veri776: gallery features \(\/d\/VeRi\/name_test\.txt\): 1 of 1 rows is not finite/,
    );
  });
});
