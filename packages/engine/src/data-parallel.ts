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
  /** Worker processes (default: one per core, minus one when `local` is given). */
  readonly workers?: number;
  /**
   * The parent's own replica (its model's variables): computes shard 0 in this process while the workers run
   * the others — one weight transfer less per step, and the parent's buffers update in place (DDP rank 0).
   */
  readonly local?: Replica;
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

  /** Send one shard; `sent` settles once the message is written (so the caller can then block on local work). */
  step(weights: Record<string, Float32Array>, payload: unknown): { sent: Promise<void>; reply: Promise<Extract<Reply, { type: 'grads' }>> } {
    const id = this.nextId++;
    let sent!: Promise<void>;
    const reply = new Promise<Extract<Reply, { type: 'grads' }>>((resolve, reject) => {
      this.pending.set(id, { resolve: (r) => resolve(r as Extract<Reply, { type: 'grads' }>), reject });
      sent = new Promise((ok, fail) => this.child.send({ type: 'step', id, weights, payload }, (err) => (err ? fail(err) : ok())));
    });
    return { sent, reply };
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** Gradients (copied to arrays) and loss values of `replica` on one shard. */
export function replicaGradients(replica: Replica, payload: unknown): { grads: Record<string, Float32Array>; losses: Record<string, number> } {
  const vars = [...replica.params.values()];
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = replica.lossFn(payload);
    terms = Object.fromEntries(Object.entries(out.terms).map(([k, t]) => [k, tf.keep(t)]));
    return out.total;
  }, vars);
  const named: Record<string, Float32Array> = {};
  for (const [name, v] of replica.params) if (grads[v.name]) named[name] = grads[v.name]!.dataSync() as Float32Array;
  const losses: Record<string, number> = { total: value.dataSync()[0]! };
  for (const [k, t] of Object.entries(terms)) losses[k] = t.dataSync()[0]!;
  tf.dispose([value, ...Object.values(terms), ...Object.values(grads)]);
  return { grads: named, losses };
}

/** Weighted mean (float64 accumulation, fixed shard order) of the shards' gradients and losses. */
function average(params: ReadonlyMap<string, Variable>, replies: readonly Pick<Extract<Reply, { type: 'grads' }>, 'grads' | 'losses'>[], sizes: readonly number[]): ComputedGradients {
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
  const local = options.local;
  const w = options.workers ?? Math.max(1, availableParallelism() - (local ? 1 : 0));
  if (!Number.isInteger(w) || w < (local ? 0 : 1)) throw new Error(`data-parallel: workers must be ≥ ${local ? 0 : 1}, got ${w}`);
  const n = w + (local ? 1 : 0);
  const workers = Array.from({ length: w }, () => new WorkerProcess(options.recipe, options.backend ?? 'wasm'));
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
        const offset = local ? 1 : 0;
        const calls = shards.slice(offset).map((s, i) => workers[i]!.step(weights, s.payload));
        const remote = Promise.all(calls.map((c) => c.reply));
        remote.catch(() => undefined); // awaited below; avoids an unhandled rejection while the local shard runs
        await Promise.all(calls.map((c) => c.sent)); // flush the IPC writes before blocking on the local shard
        const own = local ? [replicaGradients(local, shards[0]!.payload)] : [];
        const replies = [...own, ...(await remote)];
        if (!local) {
          for (const [k, v] of buffers) {
            const b = (replies[0] as Extract<Reply, { type: 'grads' }>).buffers[k];
            if (!b) throw new Error(`data-parallel: the replica has no buffer '${k}'`);
            tf.tidy(() => v.assign(tf.tensor(b, v.shape, 'float32')));
          }
        }
        return average(params, replies, shards.map((s) => s.size));
      };
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
