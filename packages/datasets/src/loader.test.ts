import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectNoLeaks, Rng, tf } from '@clip-senet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_MEMORY_MB, MemoryImageCache, ResizedImageCache, imageMemoryBudget, loadResized } from './image-cache';
import { type BatchLoader, type BatchRequest, createBatchLoader, disposeBatch } from './loader';
import { createPKSampler } from './sampler';
import type { Sample } from './sample';
import { generateSyntheticWorld } from './synthetic/generator';
import { type TransformOptions, trainTransforms } from './transforms';
import { loadVeRi776 } from './veri776';

const tmp = mkdtempSync(join(tmpdir(), 'loader-test-'));
const world = generateSyntheticWorld({
  outDir: join(tmp, 'world'),
  seed: 5,
  numTrainIds: 6,
  numTestIds: 3,
  numCameras: 4,
  camerasPerId: [3, 4],
  imagesPerIdPerCamera: [1, 2],
  numPretrainIds: 0,
  imageSize: 48,
});
const train = loadVeRi776(world.root, { ...world.manifest.readerOptions, strict: true }).train;
const branches: TransformOptions[] = [
  { ...trainTransforms([40, 32]), colorJitter: { brightness: 0.2, contrast: 0.2 } },
  trainTransforms([24, 24], 'clip'),
];
const requests: BatchRequest[] = createPKSampler(train, { P: 3, K: 2, rng: new Rng(7) }).restOfEpoch().slice(0, 4);

async function collect(loader: BatchLoader, reqs: BatchRequest[]): Promise<{ data: Float32Array[][]; labels: Int32Array[]; cams: Int32Array[] }> {
  const out = { data: [] as Float32Array[][], labels: [] as Int32Array[], cams: [] as Int32Array[] };
  for await (const b of loader.stream(reqs)) {
    out.data.push(b.branches.map((t) => t.dataSync() as Float32Array));
    out.labels.push(b.labels);
    out.cams.push(b.cameraIds);
    disposeBatch(b);
  }
  return out;
}

describe('batch loader', () => {
  let inline: BatchLoader;
  let pooled: BatchLoader;
  beforeAll(() => {
    inline = createBatchLoader({ branches, seed: 11, workers: 0 });
    pooled = createBatchLoader({ branches, seed: 11, workers: 2, prefetch: 3 });
  });
  afterAll(async () => {
    await pooled.close();
    await inline.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('yields the same batches with 0 or 2 workers, with shapes, labels and cameras', async () => {
    const a = await collect(inline, requests);
    const b = await collect(pooled, requests);
    expect(b.data).toEqual(a.data);
    expect(a.data.length).toBe(4);
    expect(a.data[0]![0]!.length).toBe(6 * 40 * 32 * 3);
    expect(a.data[0]![1]!.length).toBe(6 * 24 * 24 * 3);
    requests.forEach((r, i) => {
      expect([...a.labels[i]!]).toEqual(r.samples.map((s) => s.label));
      expect([...b.cams[i]!]).toEqual(r.samples.map((s) => s.cameraId));
    });
    // a sample without a training label (query / gallery) is −1, never its vehicle id
    const { label: _drop, ...unlabelled } = requests[0]!.samples[0]!;
    const evalBatch = await inline.load({ epoch: 0, index: 0, samples: [unlabelled] });
    expect([...evalBatch.labels]).toEqual([-1]);
    for (const t of evalBatch.branches) t.dispose();
    const again = await collect(inline, requests);
    expect(again.data).toEqual(a.data);
    const other = createBatchLoader({ branches, seed: 12, workers: 0 });
    expect((await collect(other, requests.slice(0, 1))).data[0]).not.toEqual(a.data[0]);
  });

  it('fails the batch with the path of a corrupt or missing image, in a worker and in-process', async () => {
    const bad = join(tmp, 'corrupt.jpg');
    writeFileSync(bad, Buffer.from('this is not an image'));
    const samples: Sample[] = [...requests[0]!.samples.slice(0, 2), { path: bad, vehicleId: 1, cameraId: 0, label: 0 }];
    for (const loader of [pooled, inline]) {
      await expect(loader.load({ epoch: 0, index: 0, samples })).rejects.toThrow(bad);
      const missing = join(tmp, 'missing.jpg');
      await expect(loader.load({ epoch: 0, index: 0, samples: [{ ...samples[0]!, path: missing }] })).rejects.toThrow(missing);
    }
    // the pool still works after a failed batch
    const ok = await pooled.load(requests[0]!);
    disposeBatch(ok);
  });

  it('leaks no tensors beyond the yielded ones, also when the consumer stops early', async () => {
    await expectNoLeaks(async () => {
      // while the consumer holds a batch, exactly its tensors (one per branch) are alive on top
      const before = tf.memory().numTensors;
      for await (const b of pooled.stream(requests)) {
        expect(tf.memory().numTensors).toBe(before + branches.length);
        disposeBatch(b);
      }
      for await (const b of pooled.stream(requests)) {
        disposeBatch(b);
        break;
      }
    }, 'streaming all batches, then stopping after one');
  });

  it('serves resized images from the on-disk cache with identical results, keyed by file identity', async () => {
    const cacheDir = join(tmp, 'cache');
    const cached = createBatchLoader({ branches, seed: 11, workers: 0, cacheDir });
    const first = await collect(cached, requests);
    const second = await collect(cached, requests);
    const plain = await collect(inline, requests);
    expect(first.data).toEqual(plain.data);
    expect(second.data).toEqual(plain.data);
    expect(readdirSync(cacheDir).length).toBeGreaterThan(0);
    const cache = new ResizedImageCache(cacheDir);
    const path = requests[0]!.samples[0]!.path;
    loadResized(path, [[40, 32]], cache);
    expect(cache.stats).toEqual({ hits: 1, misses: 0 });
    const copy = join(tmp, 'copy.jpg');
    copyFileSync(path, copy);
    loadResized(copy, [[40, 32]], cache);
    expect(cache.stats.misses).toBe(1);
  });

  it('keeps decoded images in memory up to its budget: the same pixels, decoded once, nothing added past the budget', () => {
    const path = requests[0]!.samples[0]!.path;
    const other = requests[0]!.samples[1]!.path;
    const size = 40 * 32 * 3;
    const memory = new MemoryImageCache(size + 10); // room for one image
    const plain = loadResized(path, [[40, 32]])[0]!;
    const a = loadResized(path, [[40, 32]], undefined, memory)[0]!;
    const b = loadResized(path, [[40, 32]], undefined, memory)[0]!;
    expect(Array.from(a.data)).toEqual(Array.from(plain.data));
    expect(b).toBe(a); // served from memory
    expect(memory.stats).toEqual({ hits: 1, misses: 1 });
    loadResized(other, [[40, 32]], undefined, memory);
    loadResized(other, [[40, 32]], undefined, memory);
    expect(memory.stats).toEqual({ hits: 1, misses: 3 }); // the budget was used up: the second image is not kept
    expect(memory.bytes).toBe(size);
    // a replaced file (other mtime / size) is another key
    const copy = join(tmp, 'copy-mem.jpg');
    copyFileSync(path, copy);
    expect(memory.key(copy, 32, 40)).not.toBe(memory.key(path, 32, 40));
    expect(() => new MemoryImageCache(-1)).toThrow(/non-negative/);
    expect(imageMemoryBudget(undefined, {})).toBe(DEFAULT_IMAGE_MEMORY_MB * 2 ** 20);
    expect(imageMemoryBudget(undefined, { CLIP_SENET_IMAGE_MEMORY_MB: '0' })).toBe(0);
    expect(imageMemoryBudget(2, { CLIP_SENET_IMAGE_MEMORY_MB: '0' })).toBe(2 * 2 ** 20);
    expect(() => imageMemoryBudget(undefined, { CLIP_SENET_IMAGE_MEMORY_MB: 'lots' })).toThrow(/CLIP_SENET_IMAGE_MEMORY_MB: a non-negative number of MiB, got 'lots'/);
  });

  it('a loader with its memory cache gives the batches of one without, epoch after epoch (inline and with workers)', async () => {
    const twoEpochs = [...requests, ...requests.map((r) => ({ ...r, epoch: r.epoch + 1 }))];
    const run = async (workers: number, memoryCacheMB: number) => {
      const loader = createBatchLoader({ branches, seed: 11, workers, memoryCacheMB });
      try {
        return await collect(loader, twoEpochs);
      } finally {
        await loader.close();
      }
    };
    const off = await run(0, 0);
    expect((await run(0, 16)).data).toEqual(off.data);
    expect((await run(2, 16)).data).toEqual(off.data);
    expect(off.data).toHaveLength(2 * requests.length);
  });
});
