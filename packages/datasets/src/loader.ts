/**
 * Batch loader: decodes and augments batches in worker threads (prefetching), and yields NHWC float32 tensors —
 * one per branch (e.g. a CNN branch at 256² with ImageNet statistics and a CLIP branch at 224² with CLIP
 * statistics) — plus labels and camera ids.
 *
 * Determinism: sample j of batch (epoch e, index i) uses `Rng(seed).derive('aug/e/i/j')` wherever it is
 * processed, so batches are identical for any worker count or scheduling. Branches of one sample share that
 * stream (each transform step derives its own sub-stream by name), so their flip decisions agree.
 *
 * Workers: `.ts` modules need the tsx loader, and Node 20 does not apply `--import tsx` hooks to a worker's entry,
 * so workers start from `loader-worker-entry.mjs`, which registers tsx in the worker and imports the TS code;
 * this works under `tsx` and under vitest. A corrupt or missing image rejects the batch with an Error naming its path.
 * Tensors are created only when a batch is yielded; the caller owns (and disposes) them, e.g. {@link disposeBatch}.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { tf } from '@clip-senet/core';
import type { Tensor4D } from '@clip-senet/core';
import { imageMemoryBudget, MemoryImageCache, ResizedImageCache } from './image-cache';
import { type ChunkReply, LOADER_WORKER_KIND, type LoaderWorkConfig, type SampleTask, processChunk } from './loader-worker';
import type { Sample } from './sample';
import type { TransformOptions } from './transforms';

/** Options of {@link createBatchLoader}. */
export interface BatchLoaderOptions {
  /** One transform pipeline per branch (1 or more); each gives one tensor of its `size`. */
  readonly branches: readonly TransformOptions[];
  /** Seed of the augmentation streams. */
  readonly seed: number;
  /** Worker threads; 0 = in the calling thread. Default: cores − 1, at least 1. */
  readonly workers?: number;
  /** Batches decoded ahead of the consumer (default 2). */
  readonly prefetch?: number;
  /** Directory of the resized-image cache (off when absent); see `ResizedImageCache`. */
  readonly cacheDir?: string;
  /**
   * Decoded, resized images kept in memory (per worker with `workers` > 0), MiB, so epochs after the first skip
   * decoding; results are identical either way. Default `CLIP_SENET_IMAGE_MEMORY_MB`, else 256; 0 turns it off.
   */
  readonly memoryCacheMB?: number;
}

/** A batch to load: its place in the epoch (keys the randomness) and its samples. */
export interface BatchRequest {
  readonly epoch: number;
  readonly index: number;
  readonly samples: readonly Sample[];
}

/** A loaded batch. */
export interface LoadedBatch {
  readonly epoch: number;
  readonly index: number;
  /** Branch 0 images [N, H, W, 3] float32 (same tensor as `branches[0]`). */
  readonly images: Tensor4D;
  /** One tensor per branch, in `options.branches` order. */
  readonly branches: readonly Tensor4D[];
  /** The training `label` of each sample; −1 for a sample without one (query / gallery): never a stand-in id. */
  readonly labels: Int32Array;
  readonly cameraIds: Int32Array;
  readonly samples: readonly Sample[];
}

/** Dispose every tensor of a batch. */
export function disposeBatch(batch: LoadedBatch): void {
  for (const t of batch.branches) t.dispose();
}

interface RawBatch {
  readonly request: BatchRequest;
  readonly data: Float32Array[];
}

class WorkerPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (out: Float32Array[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(n: number, config: LoaderWorkConfig) {
    this.workers = Array.from({ length: n }, () => {
      const w = new Worker(new URL('./loader-worker-entry.mjs', import.meta.url), { workerData: { kind: LOADER_WORKER_KIND, config } });
      w.on('message', (reply: ChunkReply) => this.settle(reply));
      w.on('error', (err) => this.fail(new Error(`batch loader worker failed: ${err.message}`)));
      w.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`batch loader worker exited with code ${code}`));
      });
      w.unref();
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  private settle(reply: ChunkReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.updateRefs();
    if (reply.ok) p.resolve(reply.out);
    else p.reject(new Error(reply.message));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.updateRefs();
  }

  /** Workers keep the process alive only while work is pending (an idle, unclosed loader does not). */
  private updateRefs(): void {
    for (const w of this.workers) {
      if (this.pending.size > 0) w.ref();
      else w.unref();
    }
  }

  run(worker: number, tasks: readonly SampleTask[]): Promise<Float32Array[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRefs();
      this.workers[worker]!.postMessage({ id, tasks });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('batch loader closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export class BatchLoader {
  readonly options: Required<Omit<BatchLoaderOptions, 'cacheDir' | 'memoryCacheMB'>> & { readonly cacheDir?: string; readonly memoryCacheBytes: number };
  private readonly config: LoaderWorkConfig;
  private readonly pool: WorkerPool | undefined;
  private readonly cache: ResizedImageCache | undefined;
  private readonly memory: MemoryImageCache | undefined;

  constructor(options: BatchLoaderOptions) {
    if (options.branches.length === 0) throw new Error('batch loader: at least one branch is required');
    const workers = options.workers ?? Math.max(1, availableParallelism() - 1);
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`workers must be an integer ≥ 0, got ${workers}`);
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new Error(`prefetch must be an integer ≥ 1, got ${prefetch}`);
    const memoryCacheBytes = imageMemoryBudget(options.memoryCacheMB);
    this.options = { ...options, workers, prefetch, memoryCacheBytes };
    this.config = { branches: options.branches, seed: options.seed, memoryCacheBytes, ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}) };
    this.pool = workers > 0 ? new WorkerPool(workers, this.config) : undefined;
    this.cache = workers === 0 && options.cacheDir !== undefined ? new ResizedImageCache(options.cacheDir) : undefined;
    this.memory = workers === 0 && memoryCacheBytes > 0 ? new MemoryImageCache(memoryCacheBytes) : undefined;
  }

  private async loadRaw(request: BatchRequest): Promise<RawBatch> {
    const tasks: SampleTask[] = request.samples.map((s, slot) => ({ path: s.path, epoch: request.epoch, index: request.index, slot }));
    if (this.pool === undefined) return { request, data: processChunk(this.config, tasks, this.cache, this.memory) };
    const n = Math.min(this.pool.size, tasks.length);
    const per = Math.ceil(tasks.length / n);
    const parts = await Promise.all(Array.from({ length: n }, (_, w) => this.pool!.run(w, tasks.slice(w * per, (w + 1) * per))));
    const data = this.config.branches.map((_, b) => {
      const total = parts.reduce((s, p) => s + p[b]!.length, 0);
      const out = new Float32Array(total);
      let off = 0;
      for (const p of parts) {
        out.set(p[b]!, off);
        off += p[b]!.length;
      }
      return out;
    });
    return { request, data };
  }

  private toBatch(raw: RawBatch): LoadedBatch {
    const n = raw.request.samples.length;
    const branches = this.config.branches.map((b, i) => tf.tensor4d(raw.data[i]!, [n, b.size[0], b.size[1], 3], 'float32'));
    return {
      epoch: raw.request.epoch,
      index: raw.request.index,
      images: branches[0]!,
      branches,
      labels: Int32Array.from(raw.request.samples, (s) => s.label ?? -1),
      cameraIds: Int32Array.from(raw.request.samples, (s) => s.cameraId),
      samples: raw.request.samples,
    };
  }

  /** Load one batch. */
  async load(request: BatchRequest): Promise<LoadedBatch> {
    return this.toBatch(await this.loadRaw(request));
  }

  /** Load batches in order, keeping `prefetch` batches in flight. */
  async *stream(requests: Iterable<BatchRequest>): AsyncGenerator<LoadedBatch> {
    const it = requests[Symbol.iterator]();
    const inflight: Promise<RawBatch>[] = [];
    const pump = (): void => {
      while (inflight.length < this.options.prefetch) {
        const n = it.next();
        if (n.done) return;
        const p = this.loadRaw(n.value);
        p.catch(() => undefined); // observed when awaited; avoids an unhandled rejection while queued
        inflight.push(p);
      }
    };
    pump();
    while (inflight.length > 0) {
      const raw = await inflight.shift()!;
      pump();
      yield this.toBatch(raw);
    }
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    await this.pool?.close();
  }
}

/** Create a {@link BatchLoader}. */
export function createBatchLoader(options: BatchLoaderOptions): BatchLoader {
  return new BatchLoader(options);
}
