/**
 * Per-sample work of the batch loader (decode → resize per branch → seeded transforms), and the worker-thread
 * entry that runs it. The same functions run in-process when the loader has 0 workers, so the output never
 * depends on where it was computed: a sample's randomness is `Rng(seed).derive('aug/<epoch>/<batch>/<slot>')`.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Rng } from '@clip-senet/core';
import { MemoryImageCache, ResizedImageCache, loadResized } from './image-cache';
import { type TransformOptions, applyTransforms } from './transforms';

/** Marks the loader's worker (vitest and other tools also run code in worker threads). */
export const LOADER_WORKER_KIND = 'clip-senet-batch-loader';

/** What every task of a loader shares. */
export interface LoaderWorkConfig {
  readonly branches: readonly TransformOptions[];
  readonly seed: number;
  readonly cacheDir?: string;
  /** Budget of each worker's (or the inline loader's) memory cache of decoded images; 0 = none. */
  readonly memoryCacheBytes: number;
}

/** One sample to produce. */
export interface SampleTask {
  readonly path: string;
  readonly epoch: number;
  /** Batch index within the epoch. */
  readonly index: number;
  /** Position within the batch. */
  readonly slot: number;
}

/** Request / reply messages between the loader and a worker. */
export interface ChunkRequest {
  readonly id: number;
  readonly tasks: readonly SampleTask[];
}
export type ChunkReply = { readonly id: number; readonly ok: true; readonly out: Float32Array[] } | { readonly id: number; readonly ok: false; readonly message: string };

/** The random stream of one sample. */
export function sampleRng(seed: number, task: SampleTask): Rng {
  return new Rng(seed).derive(`aug/${task.epoch}/${task.index}/${task.slot}`);
}

/**
 * Produce a chunk of samples: per branch one HWC float32 array holding the samples back to back.
 * @throws Error naming the image path when an image cannot be read or decoded
 */
export function processChunk(cfg: LoaderWorkConfig, tasks: readonly SampleTask[], cache?: ResizedImageCache, memory?: MemoryImageCache): Float32Array[] {
  const sizes = cfg.branches.map((b) => b.size);
  const out = sizes.map(([h, w]) => new Float32Array(tasks.length * h * w * 3));
  tasks.forEach((task, t) => {
    const images = loadResized(task.path, sizes, cache, memory);
    const rng = sampleRng(cfg.seed, task);
    cfg.branches.forEach((branch, b) => {
      const x = applyTransforms(images[b]!, branch, rng);
      out[b]!.set(x, t * x.length);
    });
  });
  return out;
}

function runWorker(): void {
  const cfg = (workerData as { config: LoaderWorkConfig }).config;
  const cache = cfg.cacheDir === undefined ? undefined : new ResizedImageCache(cfg.cacheDir);
  const memory = cfg.memoryCacheBytes > 0 ? new MemoryImageCache(cfg.memoryCacheBytes) : undefined;
  parentPort!.on('message', (req: ChunkRequest) => {
    let reply: ChunkReply;
    try {
      reply = { id: req.id, ok: true, out: processChunk(cfg, req.tasks, cache, memory) };
    } catch (err) {
      reply = { id: req.id, ok: false, message: (err as Error).message };
    }
    parentPort!.postMessage(reply, reply.ok ? reply.out.map((a) => a.buffer as ArrayBuffer) : []);
  });
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === LOADER_WORKER_KIND) runWorker();
