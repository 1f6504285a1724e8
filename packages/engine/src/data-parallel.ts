/**
 * Data-parallel training over worker processes (issue 6; entry `data-parallel-worker-entry.mjs` registers tsx, so
 * workers start from any current directory): every worker holds a replica of the model built from
 * a {@link ReplicaRecipe} (a module + export + JSON args, so it can be rebuilt in another process), receives the
 * current weights and one shard of the batch, and returns its gradients; the parent averages them (weighted by
 * shard size, fixed order → deterministic) and applies the optimiser step as usual. Plug it into `train` via
 * `gradients: dp.gradients(optimizer.params)`.
 *
 * Equivalence: for losses that are per-sample means (CE) this equals one process with the global batch within
 * float tolerance. Batch-coupled terms (SupCon, triplet) and BatchNorm statistics are computed per shard, as
 * in PyTorch DDP without SyncBN. Buffers (BatchNorm running statistics) follow DDP's `broadcast_buffers`: the
 * parent's buffers are sent with the weights, and the buffers updated by the first shard's forward come back
 * into the parent's model. Worker processes use the wasm backend single-threaded (tfjs disables threaded wasm under Node).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { tf } from '@clip-senet/core';
import type { BackendPreference, Tensor, Variable } from '@clip-senet/core';
import type { ComputedGradients, GradientFn, LossOutput } from './train';

/** How a worker builds its replica: `(await import(module))[exportName](args)` must return a {@link Replica}. */
export interface ReplicaRecipe {
  /** Absolute path (or file URL) of the module. */
  readonly module: string;
  readonly exportName: string;
  /** JSON-serialisable arguments. */
  readonly args?: unknown;
}

/** A model replica in a worker: its trainable variables (same names as the parent's) and a loss over a shard. */
export interface Replica {
  readonly params: ReadonlyMap<string, Variable>;
  /** Non-trainable state kept in sync with the parent (same names as the parent's buffers). */
  readonly buffers?: ReadonlyMap<string, Variable>;
  lossFn(payload: unknown): LossOutput;
}

/** One shard of a batch: a structured-cloneable payload and its number of samples. */
export interface Shard {
  readonly payload: unknown;
  readonly size: number;
}

/** Options of {@link createDataParallel}. */
export interface DataParallelOptions<B> {
  readonly recipe: ReplicaRecipe;
  /** Worker processes (default: one per core). */
  readonly workers?: number;
  /** Backend of the workers (default wasm). */
  readonly backend?: BackendPreference;
  /** Cut a batch into at most `n` shards. */
  split(batch: B, n: number): Shard[];
}

/** A running worker pool. */
export interface DataParallel<B> {
  readonly size: number;
  /** The `train({ gradients })` function for the parent's trainable `params` (and `buffers`, synced as in DDP). */
  gradients(params: ReadonlyMap<string, Variable>, buffers?: ReadonlyMap<string, Variable>): GradientFn<B>;
  close(): Promise<void>;
}

type Reply =
  | { type: 'ready' }
  | { type: 'grads'; id: number; grads: Record<string, Float32Array>; buffers: Record<string, Float32Array>; losses: Record<string, number> }
  | { type: 'error'; id?: number; message: string };

class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  readonly ready: Promise<void>;

  constructor(recipe: ReplicaRecipe, backend: BackendPreference) {
    const entry = fileURLToPath(new URL('./data-parallel-worker-entry.mjs', import.meta.url));
    this.child = fork(entry, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve, reject) => {
      this.pending.set(0, { resolve: () => resolve(), reject });
    });
    this.child.on('message', (m: Reply) => this.settle(m));
    this.child.on('exit', (code) => this.failAll(new Error(`data-parallel worker exited (code ${code})`)));
    this.child.send({ type: 'init', recipe, backend });
  }

  private settle(m: Reply): void {
    const id = m.type === 'ready' ? 0 : (m.id ?? 0);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (m.type === 'error') p.reject(new Error(`data-parallel worker: ${m.message}`));
    else p.resolve(m);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  step(weights: Record<string, Float32Array>, payload: unknown): Promise<Extract<Reply, { type: 'grads' }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as Extract<Reply, { type: 'grads' }>), reject });
      this.child.send({ type: 'step', id, weights, payload });
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** Weighted mean (float64 accumulation, fixed shard order) of the shards' gradients and losses. */
function average(params: ReadonlyMap<string, Variable>, replies: readonly Extract<Reply, { type: 'grads' }>[], sizes: readonly number[]): ComputedGradients {
  const total = sizes.reduce((a, b) => a + b, 0);
  const grads = new Map<string, Tensor>();
  for (const [name, v] of params) {
    if (!replies.some((r) => r.grads[name])) continue;
    const acc = new Float64Array(v.size);
    replies.forEach((r, i) => {
      const g = r.grads[name];
      if (!g) return;
      const w = sizes[i]! / total;
      for (let k = 0; k < acc.length; k++) acc[k]! += w * g[k]!;
    });
    grads.set(name, tf.tensor(Float32Array.from(acc), v.shape, 'float32'));
  }
  const losses: Record<string, number> = {};
  replies.forEach((r, i) => {
    for (const [k, x] of Object.entries(r.losses)) losses[k] = (losses[k] ?? 0) + (sizes[i]! / total) * x;
  });
  return { grads, losses };
}

/** Start the workers (resolves once every replica is built). */
export async function createDataParallel<B>(options: DataParallelOptions<B>): Promise<DataParallel<B>> {
  const n = options.workers ?? availableParallelism();
  if (!Number.isInteger(n) || n < 1) throw new Error(`data-parallel: workers must be ≥ 1, got ${n}`);
  const workers = Array.from({ length: n }, () => new WorkerProcess(options.recipe, options.backend ?? 'wasm'));
  try {
    await Promise.all(workers.map((w) => w.ready));
  } catch (err) {
    await Promise.all(workers.map((w) => w.close()));
    throw err;
  }
  return {
    size: n,
    gradients(params, buffers = new Map()) {
      return async (batch) => {
        const shards = options.split(batch, n);
        if (shards.length < 1 || shards.length > n) throw new Error(`data-parallel: split gave ${shards.length} shards for ${n} workers`);
        const weights: Record<string, Float32Array> = {};
        for (const [k, v] of [...params, ...buffers]) weights[k] = v.dataSync() as Float32Array;
        const replies = await Promise.all(shards.map((s, i) => workers[i]!.step(weights, s.payload)));
        for (const [k, v] of buffers) {
          const b = replies[0]!.buffers[k];
          if (!b) throw new Error(`data-parallel: the replica has no buffer '${k}'`);
          tf.tidy(() => v.assign(tf.tensor(b, v.shape, 'float32')));
        }
        return average(params, replies, shards.map((s) => s.size));
      };
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
