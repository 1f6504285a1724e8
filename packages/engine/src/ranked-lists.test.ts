import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng } from '@clip-senet/core';
import { createBatchLoader, generateSyntheticWorld, loadVeRi776, type Sample } from '@clip-senet/datasets';
import { veri776 } from '@clip-senet/metrics';
import { evaluateModel } from './evaluate';
import { buildModel } from './build-model';
import { rankedLists } from './ranked-lists';

const samples = (prefix: string, n: number): Sample[] => Array.from({ length: n }, (_, i) => ({ path: `${prefix}${i}.jpg`, vehicleId: -1, cameraId: -1 }));

describe('ranked lists (hand-worked)', () => {
  // dim 2. Query 0 (id 1, cam 0) = [2, 0]; query 1 (id 9) has only a same-camera gallery image → not valid;
  // query 2 (id 2, cam 1) = [0, 1].
  const query = { features: Float32Array.from([2, 0, 5, 5, 0, 1]), ids: [1, 9, 2], cams: [0, 0, 1] };
  // g0 = [1, 0.5] id 1 cam 1 (good); g1 = [10, 0] id 3; g2 = [2, 0] id 1 cam 0 (junk for query 0); g3 = [5, 5] id 9 cam 0;
  // g4 = [0, 3] id 2 cam 2 (good for query 2)
  const gallery = { features: Float32Array.from([1, 0.5, 10, 0, 2, 0, 5, 5, 0, 3]), ids: [1, 3, 1, 9, 2], cams: [1, 0, 0, 0, 2] };
  const base = { query, gallery, dim: 2, querySamples: samples('q', 3), gallerySamples: samples('g', 5), count: 5 };

  it('keeps the first valid queries, drops same-id same-camera junk, ranks by the metric', () => {
    const cos = rankedLists({ ...base, protocol: veri776({ metric: 'cosine' }) });
    expect(cos.map((r) => r.query)).toEqual(['q0.jpg', 'q2.jpg']);
    // cosine from [2, 0]: g1 (0) < g0 (1 − 2/√5) < g3 (1 − 1/√2) < g4 (1); g2 is junk
    expect(cos[0].gallery).toEqual([
      { path: 'g1.jpg', match: false }, { path: 'g0.jpg', match: true }, { path: 'g3.jpg', match: false }, { path: 'g4.jpg', match: false },
    ]);
    // euclidean from [2, 0]: g0 (√1.25) < g4 (√13) < g3 (√34) < g1 (8)
    expect(rankedLists({ ...base, protocol: veri776({ metric: 'euclidean' }) })[0].gallery.map((g) => g.path)).toEqual(['g0.jpg', 'g4.jpg', 'g3.jpg', 'g1.jpg']);
    // query 2 ([0, 1]) under cosine: g4 (0) first and a match; ties g1 / g2 (distance 1) by index
    expect(cos[1].gallery.map((g) => g.path)).toEqual(['g4.jpg', 'g3.jpg', 'g0.jpg', 'g1.jpg', 'g2.jpg']);
    expect(cos[1].gallery[0].match).toBe(true);
  });

  it('limits the number of queries and the list length', () => {
    const one = rankedLists({ ...base, protocol: veri776({ metric: 'cosine' }), count: 1, topK: 2 });
    expect(one).toEqual([{ query: 'q0.jpg', gallery: [{ path: 'g1.jpg', match: false }, { path: 'g0.jpg', match: true }] }]);
    expect(rankedLists({ ...base, protocol: veri776({ metric: 'cosine' }), count: 0 })).toEqual([]);
  });

  it("applies the protocol's own good/junk rule: with the official lists, what they call junk is left out and only what they call good is a match", () => {
    // lists that contradict the camera rule for query 0: g2 (same camera) good, g0 junk; query 2: g4 good
    const gtjk = veri776({ metric: 'cosine', goodJunk: { good: [[2], [], [4]], junk: [[0], [], []] } });
    const lists = rankedLists({ ...base, protocol: gtjk });
    expect(lists.map((r) => r.query)).toEqual(['q0.jpg', 'q2.jpg']);
    // cosine from [2, 0]: g1 (0) = g2 (0) by index, g3, g4; g0 dropped as junk; g2 the match
    expect(lists[0].gallery).toEqual([
      { path: 'g1.jpg', match: false }, { path: 'g2.jpg', match: true }, { path: 'g3.jpg', match: false }, { path: 'g4.jpg', match: false },
    ]);
    // and the camera rule of the plain protocol gives the opposite for the same features
    expect(rankedLists({ ...base, protocol: veri776({ metric: 'cosine' }) })[0].gallery.map((g) => g.path)).not.toContain('g2.jpg');
  });
});

describe('evaluateModel rankedLists', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend('wasm', { log: null, threads: 1 });
    dir = mkdtempSync(join(tmpdir(), 'engine-ranked-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds top-10 lists of the first n valid queries with the samples’ paths', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 2, numTestIds: 4, numCameras: 3, camerasPerId: [2, 3], imagesPerIdPerCamera: [2, 3],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const ds = loadVeRi776(world.root, { ...world.manifest.readerOptions, strict: true });
    const model = buildModel(
      {
        appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
        sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
        fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } },
      },
      { numClasses: 2, rng: new Rng(1) },
    );
    const loader = createBatchLoader({ branches: model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization })), seed: 0, workers: 0 });
    const outFile = join(dir, 'results.json');
    try {
      const res = await evaluateModel(model, { query: ds.query, gallery: ds.gallery, protocol: veri776({ metric: 'euclidean' }), loader, seed: 1, outFile, batchSize: 16, rankedLists: 2 });
      expect(res.ranked).toHaveLength(2);
      const galleryPaths = new Set(ds.gallery.map((s) => s.path));
      for (const [i, r] of res.ranked!.entries()) {
        const q = ds.query.find((s) => s.path === r.query)!;
        expect(r.query).toBe(ds.query[i].path);
        expect(r.gallery.length).toBe(Math.min(10, ds.gallery.filter((g) => !(g.vehicleId === q.vehicleId && g.cameraId === q.cameraId)).length));
        for (const g of r.gallery) {
          expect(galleryPaths.has(g.path)).toBe(true);
          const s = ds.gallery.find((x) => x.path === g.path)!;
          expect(g.match).toBe(s.vehicleId === q.vehicleId);
          expect(s.vehicleId === q.vehicleId && s.cameraId === q.cameraId).toBe(false);
        }
      }
      expect((JSON.parse(readFileSync(outFile, 'utf8')) as typeof res).ranked).toEqual(res.ranked);
      // per-query AP: one per query, their mean over the valid ones is the mAP
      const ap = res.apPerQuery!;
      expect(ap).toHaveLength(ds.query.length);
      const valid = ap.filter((x): x is number => x !== null);
      expect(valid.length).toBe(res.numValidQueries);
      expect(valid.reduce((a, b) => a + b, 0) / valid.length).toBeCloseTo(res.mAP, 6);
      expect((JSON.parse(readFileSync(outFile, 'utf8')) as typeof res).apPerQuery).toEqual(ap);
      const plain = await evaluateModel(model, { query: ds.query, gallery: ds.gallery, protocol: veri776(), loader, seed: 1, batchSize: 16 });
      expect(plain.ranked).toBeUndefined();
    } finally {
      await loader.close();
      model.dispose();
    }
  });
});
