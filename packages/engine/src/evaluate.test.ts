import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, readSafetensors, Rng, tf } from '@clip-senet/core';
import { createBatchLoader, generateSyntheticWorld, loadVeRi776 } from '@clip-senet/datasets';
import { extractFeatures, folderSamples, gitCommit, writeFeatures } from './evaluate';
import { buildModel } from './model';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-eval-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
    const model = buildModel(
      {
        appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
        sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
        fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } },
      },
      { numClasses: 2, rng: new Rng(1) },
    ).train(true);
    const loader = (flipProb: number) =>
      createBatchLoader({ branches: model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization, flipProb })), seed: 0, workers: 0 });
    const before = tf.memory().numTensors;
    const plain = await extractFeatures(model, samples, { loader: loader(0), batchSize: 2 });
    const tta = await extractFeatures(model, samples, { loader: loader(0), batchSize: 2, flip: true });
    const ttaMirrored = await extractFeatures(model, samples, { loader: loader(1), batchSize: 2, flip: true });
    expect(tf.memory().numTensors).toBe(before);
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

  it('tags results with the commit or unknown', () => {
    expect(gitCommit()).toMatch(/^[0-9a-f]{4,}$/);
    expect(gitCommit(tmpdir())).toBe('unknown');
  });
});
