/**
 * Data-parallel training (issue 6) over worker threads, one per core by default. Every worker holds a replica of
 * the model built from a {@link ReplicaRecipe} (a module + export + arguments, rebuilt in the worker) on its own
 * single-threaded wasm backend. Per step the parent writes the current weights (+ buffers) once into shared
 * memory, posts one shard of the batch to each worker, and averages the gradients the workers leave in their
 * shared blocks (weighted by shard size, fixed order, float64 accumulation → deterministic); the optimiser
 * step stays in the parent. Plug it into `train` via `gradients: dp.gradients(optimizer.params, buffers)`.
 *
 * Why threads + SharedArrayBuffer and not child processes: with processes every step serialised ≈ 11 MB of weights
 * per worker into a pipe and ≈ 11 MB of gradients back (+ averaging in a slow loop) — 0.4–0.9 s of serial work
 * per ≈ 2.5 s step on 2 cores. Through shared memory it is a few memcpys (see {@link DataParallel.profile}).
 *
 * Equivalence: for losses that are per-sample means (CE) this equals one process with the global batch within
 * float tolerance. Batch-coupled terms (SupCon, triplet) and BatchNorm statistics are computed per shard, as
 * in PyTorch DDP without SyncBN. Buffers (BatchNorm running statistics) follow DDP's `broadcast_buffers`: the
 * parent's buffers are sent with the weights, and the buffers updated by the first shard's forward come back
 * into the parent's model.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { BackendPreference, Tensor, Variable } from '@clip-senet/core';
import {
  DATA_PARALLEL_WORKER_KIND, layoutOf, packPayload, readVariables, replicaGradients, tensorOf, writeVariables,
  type FromWorker, type Layout, type Replica, type ReplicaRecipe, type ToWorker, type WorkerTimes,
} from './data-parallel-protocol';
import type { ComputedGradients, GradientFn } from './train';

export type { Replica, ReplicaRecipe } from './data-parallel-protocol';

/** One shard of a batch: a structured-cloneable payload and its number of samples. */
export interface Shard {
  readonly payload: unknown;
  readonly size: number;
}

/** Options of {@link createDataParallel}. */
export interface DataParallelOptions<B> {
  readonly recipe: ReplicaRecipe;
  /** Worker threads (default: one per core, minus one when `local` is given). */
  readonly workers?: number;
  /**
   * The parent's own replica (its model's variables): computes shard 0 in this thread while the workers run the
   * others (DDP rank 0: its buffers update in place). Give this thread one wasm thread then, or it oversubscribes.
   */
  readonly local?: Replica;
  /** Backend of the workers (default wasm). */
  readonly backend?: BackendPreference;
  /** Cut a batch into at most `n` shards. */
  split(batch: B, n: number): Shard[];
}

/** Mean milliseconds per step of each phase since the last reset (parent phases, then the workers' means). */
export interface DataParallelProfile {
  readonly steps: number;
  /** `split`, `publish` (weights → shared memory), `local` (this thread's shard), `wait` (for the last worker
   * after `local`), `average`, `buffers`, `worker.assign`, `worker.compute`, `worker.pack`, `worker.idle`
   * (a worker's share of the step spent waiting: step time − its assign/compute/pack), and `worker.computeCpu`
   * (the CPU time behind `worker.compute`, on Linux; much lower than `compute` means the core was busy elsewhere). */
  readonly phases: Readonly<Record<string, number>>;
}

/** A running worker pool. */
export interface DataParallel<B> {
  /** Ranks per step (workers + the local one). */
  readonly size: number;
  /** The `train({ gradients })` function for the parent's trainable `params` (and `buffers`, synced as in DDP). */
  gradients(params: ReadonlyMap<string, Variable>, buffers?: ReadonlyMap<string, Variable>): GradientFn<B>;
  /** Per-phase timings (for benches and tuning); `reset` starts a new window. */
  profile(reset?: boolean): DataParallelProfile;
  close(): Promise<void>;
}

type Done = Extract<FromWorker, { type: 'done' }>;

class WorkerThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: FromWorker) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  readonly ready: Promise<void>;
  /** The shared blocks this worker is bound to (a new `gradients()` rebinds). */
  boundTo: object | undefined;

  constructor(recipe: ReplicaRecipe, backend: BackendPreference) {
    this.worker = new Worker(new URL('./data-parallel-worker-entry.mjs', import.meta.url), { workerData: { kind: DATA_PARALLEL_WORKER_KIND, recipe, backend } });
    this.ready = this.expect(0).then(() => undefined);
    this.worker.on('message', (m: FromWorker) => this.settle(m));
    this.worker.on('error', (err) => this.fail(new Error(`data-parallel worker failed: ${err.stack ?? err.message}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`data-parallel worker exited (code ${code})`)));
  }

  private expect(id: number): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
    });
  }

  private settle(m: FromWorker): void {
    const id = m.type === 'ready' ? 0 : (m.id ?? 0);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref(); // an idle, unclosed pool does not keep the process alive
    if (m.type === 'error') p.reject(new Error(`data-parallel worker: ${m.message}`));
    else p.resolve(m);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private send(m: ToWorker): Promise<FromWorker> {
    const reply = this.expect(m.id);
    if (!this.failure) this.worker.postMessage(m);
    return reply;
  }

  async bind(token: object, params: Layout, buffers: Layout, weights: SharedArrayBuffer, out: SharedArrayBuffer): Promise<void> {
    await this.send({ type: 'bind', id: this.nextId++, params, buffers, weights, out });
    this.boundTo = token;
  }

  /** Shared memory for this worker's payload arrays (grown by {@link packPayload} when a shard needs more). */
  private inbox = new SharedArrayBuffer(0);

  step(payload: unknown): Promise<Done> {
    const packed = packPayload(payload, this.inbox);
    this.inbox = packed.inbox;
    return this.send({ type: 'step', id: this.nextId++, payload: packed.payload, inbox: packed.inbox }) as Promise<Done>;
  }

  async close(): Promise<void> {
    this.failure ??= new Error('data-parallel pool closed');
    await this.worker.terminate();
  }
}

/** One shard's result: gradients at the parameter layout's offsets, which of them exist, and its loss values. */
interface ShardResult {
  readonly grads: Float32Array;
  readonly has: Uint8Array;
  readonly losses: Record<string, number>;
}

/** `out = Σ w·g` accumulated in float64 in the given order, rounded once (1- and 2-part loops specialised: hot path). */
function weightedSum(parts: readonly { g: Float32Array; w: number }[], out: Float32Array): void {
  const n = out.length;
  if (parts.length === 1) {
    const [{ g, w }] = parts as [{ g: Float32Array; w: number }];
    for (let k = 0; k < n; k++) out[k] = w * g[k]!;
  } else if (parts.length === 2) {
    const [a, b] = parts as [{ g: Float32Array; w: number }, { g: Float32Array; w: number }];
    const [ga, wa, gb, wb] = [a.g, a.w, b.g, b.w];
    for (let k = 0; k < n; k++) out[k] = wa * ga[k]! + wb * gb[k]!;
  } else {
    const acc = new Float64Array(n);
    for (const { g, w } of parts) for (let k = 0; k < n; k++) acc[k]! += w * g[k]!;
    out.set(acc);
  }
}

/** Weighted mean (float64 accumulation, fixed shard order) of the shards' gradients and losses. */
function average(params: ReadonlyMap<string, Variable>, layout: Layout, results: readonly ShardResult[], sizes: readonly number[], scratch: Float32Array): ComputedGradients {
  const total = sizes.reduce((a, b) => a + b, 0);
  const grads = new Map<string, Tensor>();
  layout.names.forEach((name, i) => {
    const [from, to] = [layout.offsets[i]!, layout.offsets[i]! + layout.sizes[i]!];
    const parts = results.flatMap((r, s) => (r.has[i] ? [{ g: r.grads.subarray(from, to), w: sizes[s]! / total }] : []));
    if (parts.length === 0) return;
    const out = scratch.subarray(from, to);
    weightedSum(parts, out);
    grads.set(name, tensorOf(out, params.get(name)!.shape));
  });
  const losses: Record<string, number> = {};
  results.forEach((r, s) => {
    for (const [k, x] of Object.entries(r.losses)) losses[k] = (losses[k] ?? 0) + (sizes[s]! / total) * x;
  });
  return { grads, losses };
}

/** Accumulates per-phase milliseconds. */
class Profiler {
  private sums: Record<string, number> = {};
  private steps = 0;

  add(phases: Record<string, number>): void {
    this.steps += 1;
    for (const [k, v] of Object.entries(phases)) this.sums[k] = (this.sums[k] ?? 0) + v;
  }

  read(reset: boolean): DataParallelProfile {
    const phases = Object.fromEntries(Object.entries(this.sums).map(([k, v]) => [k, v / Math.max(1, this.steps)]));
    const out = { steps: this.steps, phases };
    if (reset) {
      this.sums = {};
      this.steps = 0;
    }
    return out;
  }
}

function workerPhases(times: readonly WorkerTimes[], stepMs: number): Record<string, number> {
  if (times.length === 0) return {};
  const mean = (f: (t: WorkerTimes) => number): number => times.reduce((a, t) => a + f(t), 0) / times.length;
  const assign = mean((t) => t.assign);
  const compute = mean((t) => t.compute);
  const pack = mean((t) => t.pack);
  const computeCpu = mean((t) => t.computeCpu);
  return {
    'worker.assign': assign, 'worker.compute': compute, 'worker.pack': pack, 'worker.idle': Math.max(0, stepMs - assign - compute - pack),
    ...(Number.isFinite(computeCpu) ? { 'worker.computeCpu': computeCpu } : {}),
  };
}

/** Start the worker threads (resolves once every replica is built). */
export async function createDataParallel<B>(options: DataParallelOptions<B>): Promise<DataParallel<B>> {
  const local = options.local;
  const w = options.workers ?? Math.max(1, availableParallelism() - (local ? 1 : 0));
  if (!Number.isInteger(w) || w < (local ? 0 : 1)) throw new Error(`data-parallel: workers must be ≥ ${local ? 0 : 1}, got ${w}`);
  const n = w + (local ? 1 : 0);
  const workers = Array.from({ length: w }, () => new WorkerThread(options.recipe, options.backend ?? 'wasm'));
  try {
    await Promise.all(workers.map((x) => x.ready));
  } catch (err) {
    await Promise.all(workers.map((x) => x.close()));
    throw err;
  }
  const profiler = new Profiler();
  return {
    size: n,
    gradients(params, buffers = new Map()) {
      const token = {};
      const pl = layoutOf(params);
      const bl = layoutOf(buffers);
      const weightsSab = new SharedArrayBuffer(4 * (pl.length + bl.length));
      const weights = new Float32Array(weightsSab);
      const outs = workers.map(() => new SharedArrayBuffer(4 * (pl.length + bl.length)));
      const own = { grads: new Float32Array(local ? pl.length : 0), has: new Uint8Array(pl.names.length) };
      const scratch = new Float32Array(pl.length);
      return async (batch) => {
        const t0 = performance.now();
        const shards = options.split(batch, n);
        if (shards.length < 1 || shards.length > n) throw new Error(`data-parallel: split gave ${shards.length} shards for ${n} ranks`);
        const t1 = performance.now();
        writeVariables(pl, params, weights.subarray(0, pl.length));
        writeVariables(bl, buffers, weights.subarray(pl.length));
        const offset = local ? 1 : 0;
        const used = workers.slice(0, shards.length - offset);
        await Promise.all(used.map((x, i) => (x.boundTo === token ? undefined : x.bind(token, pl, bl, weightsSab, outs[i]!))));
        const t2 = performance.now();
        const remote = Promise.all(used.map((x, i) => x.step(shards[i + offset]!.payload)));
        remote.catch(() => undefined); // awaited below; avoids an unhandled rejection while the local shard runs
        const ownLosses = local ? replicaGradients(local, shards[0]!.payload, pl, own.grads, own.has) : undefined;
        const t3 = performance.now();
        const done = await remote;
        const t4 = performance.now();
        const results: ShardResult[] = [
          ...(ownLosses ? [{ ...own, losses: ownLosses }] : []),
          ...done.map((d, s) => ({ grads: new Float32Array(outs[s]!, 0, pl.length), has: d.has, losses: d.losses })),
        ];
        const avg = average(params, pl, results, shards.map((s) => s.size), scratch);
        const t5 = performance.now();
        if (!local && bl.length > 0) readVariables(bl, buffers, new Float32Array(outs[0]!, 4 * pl.length, bl.length));
        const t6 = performance.now();
        profiler.add({
          split: t1 - t0, publish: t2 - t1, local: t3 - t2, wait: t4 - t3, average: t5 - t4, buffers: t6 - t5,
          ...workerPhases(done.map((d) => d.times), t4 - t2),
        });
        return avg;
      };
    },
    profile: (reset = false) => profiler.read(reset),
    async close() {
      await Promise.all(workers.map((x) => x.close()));
    },
  };
}
