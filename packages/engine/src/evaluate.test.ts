import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, initBackend, readSafetensors, Rng, tf } from '@clip-senet/core';
import { createBatchLoader, generateSyntheticWorld, loadVeRi776 } from '@clip-senet/datasets';
import type { Sample } from '@clip-senet/datasets';
import { veri776 } from '@clip-senet/metrics';
import { evaluateModel, extractFeatures, folderSamples, gitCommit, toEvalResults, writeFeatures } from './evaluate';
import { buildModel } from './build-model';
import type { ClipSenetModel } from './model';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-eval-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tiny two-branch model of these tests (16-d features). */
function tinyModel(): ClipSenetModel {
  return buildModel(
    {
      appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
      sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
      fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } },
    },
    { numClasses: 2, rng: new Rng(1) },
  );
}

describe('feature extraction', () => {
  it('extracts an image folder in eval mode; flip TTA makes features mirror-invariant', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 2, numTestIds: 3, numCameras: 3, camerasPerId: [2, 3], imagesPerIdPerCamera: [1, 1],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const samples = folderSamples(join(world.root, 'image_query'));
    expect(samples.length).toBe(3);
    // VeRi-style names (the synthetic world writes them) carry the vehicle id and the camera (c001 → 0)
    const { query } = loadVeRi776(world.root, { expectedCounts: {} });
    expect(samples.map((s) => [s.path, s.vehicleId, s.cameraId])).toEqual([...query].sort((a, b) => a.path.localeCompare(b.path)).map((s) => [s.path, s.vehicleId, s.cameraId]));
    expect(folderSamples(join(world.root, 'image_query'), { cameraId: 5, viewId: 2 }).map((s) => s.viewId)).toEqual([2, 2, 2]);
    const model = tinyModel().train(true);
    const loader = (flipProb: number) =>
      createBatchLoader({ branches: model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization, flipProb })), seed: 0, workers: 0 });
    const [plain, tta, ttaMirrored] = await expectNoLeaks(async () => [
      await extractFeatures(model, samples, { loader: loader(0), batchSize: 2 }),
      await extractFeatures(model, samples, { loader: loader(0), batchSize: 2, flip: true }),
      await extractFeatures(model, samples, { loader: loader(1), batchSize: 2, flip: true }),
    ] as const, 'extractFeatures (plain, flip TTA, mirrored flip TTA)');
    expect(model.training).toBe(true);
    expect(plain.dim).toBe(16);
    expect(plain.features.length).toBe(3 * 16);
    expect(plain.features.every(Number.isFinite)).toBe(true);
    expect(Array.from(tta.features)).not.toEqual(Array.from(plain.features));
    expect(Array.from(ttaMirrored.features)).toEqual(Array.from(tta.features));
    const file = join(dir, 'features.safetensors');
    writeFeatures(file, tta, samples, { protocol: 'none' });
    const saved = readSafetensors(file);
    expect(Array.from(saved.tensors.get('features')!.data as Float32Array)).toEqual(Array.from(tta.features));
    expect(saved.tensors.get('features')!.shape).toEqual([3, 16]);
    expect(JSON.parse(saved.metadata.paths!)).toEqual(samples.map((s) => s.path));
    model.dispose();
  });

  it('a model with a NaN bias is an error naming the split, the count and the first image; nothing is written', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'nan-world'), numTrainIds: 2, numTestIds: 3, numCameras: 3, camerasPerId: [2, 3], imagesPerIdPerCamera: [1, 1],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const { query, gallery } = loadVeRi776(world.root, { expectedCounts: {} });
    const model = tinyModel();
    const bias = model.params.get('fusion.fc.bias')!;
    bias.assign(tf.fill(bias.shape, Number.NaN));
    const loader = createBatchLoader({ branches: model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization, flipProb: 0 })), seed: 0, workers: 0 });
    await expectNoLeaks(async () => {
      const outFile = join(dir, 'nan-results.json');
      await expect(evaluateModel(model, { query, gallery, protocol: veri776(), loader, seed: 0, batchSize: 2, outFile })).rejects.toThrow(
        `extractFeatures: query features: 3 of 3 rows are not finite (NaN or ±Infinity); first: row 0 (${query[0].path}), column 0 = NaN — the model's output is not finite`,
      );
      expect(existsSync(outFile)).toBe(false);
      await expect(extractFeatures(model, gallery, { loader, batchSize: 4, split: 'gallery', flip: true })).rejects.toThrow(
        new RegExp(`^extractFeatures: gallery features: ${gallery.length} of ${gallery.length} rows are not finite`),
      );
    }, 'the failed evaluation and extraction');
    // writeFeatures refuses non-finite rows whoever made them
    const features = new Float32Array(3 * 2);
    features[2 * 2 + 1] = Infinity;
    const file = join(dir, 'nan.safetensors');
    expect(() => writeFeatures(file, { features, dim: 2, ids: Int32Array.of(1, 2, 3), cams: Int32Array.of(0, 0, 0) }, query)).toThrow(
      `writeFeatures: ${file}: features: 1 of 3 rows is not finite (NaN or ±Infinity); first: row 2 (${query[2].path}), column 1 = Infinity`,
    );
    expect(existsSync(file)).toBe(false);
    await expect(evaluateModel(model, { query: [], gallery, protocol: veri776(), loader, seed: 0 })).rejects.toThrow(/the query list is empty \(protocol veri776\/no-rr\/cosine\/non-interp\)/);
    model.dispose();
    await loader.close();
  });

  it('results name the skipped queries (no valid match) by path, in query order', () => {
    const query: Sample[] = ['a', 'b', 'c'].map((n, i) => ({ path: `/q/${n}.jpg`, vehicleId: [1, 9, 2][i], cameraId: 0 }));
    const features = Float32Array.of(1, 0, 0, 1, 1, 1);
    const r = veri776({ metric: 'euclidean' }).evaluate({
      query: { features: features.subarray(0, 6), ids: Int32Array.of(1, 9, 2), cams: Int32Array.of(0, 0, 0) },
      gallery: { features: Float32Array.of(1, 0, 0, 1), ids: Int32Array.of(1, 2), cams: Int32Array.of(1, 0) },
      dim: 2,
    });
    // q0 (id 1) matches g0 from camera 1; q1's id 9 is absent; q2's only same-id image is from its own camera (junk)
    expect(r.numSkippedQueries).toBe(2);
    const tagged = toEvalResults(r, { flip: false, seed: 0, commit: 'x', queryPaths: query.map((s) => s.path) });
    expect(tagged.skippedQueries).toEqual(['/q/b.jpg', '/q/c.jpg']);
    expect(toEvalResults(r, { flip: false, seed: 0, commit: 'x' }).skippedQueries).toEqual(['query 1', 'query 2']);
  });

  it('tags results with the commit or unknown', () => {
    expect(gitCommit()).toMatch(/^[0-9a-f]{4,}$/);
    expect(gitCommit(tmpdir())).toBe('unknown');
  });
});
