/**
 * What the data-parallel parent (data-parallel.ts) and its worker threads (data-parallel-worker.ts) share: the
 * replica contract, the messages, and the flat layout of the shared memory.
 *
 * Shared memory (SharedArrayBuffer, allocated by the parent once per parameter set):
 * - `weights`: every trainable parameter, then every buffer, in the layout's order — written by the parent before
 *   each step, read by all workers;
 * - one `out` block per worker: that worker's gradients (same parameter layout), then its updated buffers.
 * Messages only carry the shard payload, loss values and a has-gradient mask; `postMessage` orders the accesses
 * (the parent writes `weights` before posting a step and reads `out` after the reply).
 */
import { readFileSync } from 'node:fs';
import { tf } from '@clip-senet/core';
import type { Tensor, Variable } from '@clip-senet/core';
import type { LossOutput } from './train';

/** `workerData.kind` of a data-parallel worker thread. */
export const DATA_PARALLEL_WORKER_KIND = 'clip-senet-data-parallel';

/** How a worker builds its replica: `(await import(module))[exportName](args)` must return a {@link Replica}. */
export interface ReplicaRecipe {
  /** Absolute path (or file URL) of the module. */
  readonly module: string;
  readonly exportName: string;
  /** Structured-cloneable arguments. */
  readonly args?: unknown;
}

/** A model replica: its trainable variables (same names as the parent's) and a loss over a shard. */
export interface Replica {
  readonly params: ReadonlyMap<string, Variable>;
  /** Non-trainable state kept in sync with the parent (same names as the parent's buffers). */
  readonly buffers?: ReadonlyMap<string, Variable>;
  lossFn(payload: unknown): LossOutput;
}

/** Named entries at fixed offsets of one flat float32 array. */
export interface Layout {
  readonly names: readonly string[];
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
  /** Total number of floats. */
  readonly length: number;
}

/** Lay out `vars` back to back in iteration order. */
export function layoutOf(vars: ReadonlyMap<string, { readonly size: number }>): Layout {
  const names: string[] = [];
  const offsets: number[] = [];
  const sizes: number[] = [];
  let length = 0;
  for (const [name, v] of vars) {
    names.push(name);
    offsets.push(length);
    sizes.push(v.size);
    length += v.size;
  }
  return { names, offsets, sizes, length };
}

/** Parent → worker. */
export type ToWorker =
  | { readonly type: 'bind'; readonly id: number; readonly params: Layout; readonly buffers: Layout; readonly weights: SharedArrayBuffer; readonly out: SharedArrayBuffer }
  | { readonly type: 'step'; readonly id: number; readonly payload: unknown };

/** Per-step times (ms) measured inside a worker. */
export interface WorkerTimes {
  /** Copying the shared weights + buffers into the replica's variables. */
  readonly assign: number;
  /** Forward + backward of the shard, gradients copied into shared memory. */
  readonly compute: number;
  /** CPU time of this thread during `compute` (NaN where /proc/thread-self is unavailable): below `compute` when other load preempts it. */
  readonly computeCpu: number;
  /** Copying the buffers into shared memory. */
  readonly pack: number;
}

/** Worker → parent. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'bound'; readonly id: number }
  | { readonly type: 'done'; readonly id: number; readonly has: Uint8Array; readonly losses: Record<string, number>; readonly times: WorkerTimes }
  | { readonly type: 'error'; readonly id?: number; readonly message: string };

/** CPU milliseconds used by the calling thread so far (Linux /proc, 10 ms resolution); NaN elsewhere. */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] = state (field 3); utime, stime = fields 14, 15
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks at USER_HZ = 100
  } catch {
    return Number.NaN;
  }
}

interface HeapBackend {
  readonly dataIdMap?: { has(dataId: object): boolean };
  typedArrayFromHeap?(info: { dataId: object; shape: number[]; dtype: string }): Float32Array;
}

/**
 * `t`'s float32 values, for copying out right away: on wasm a view straight onto its heap (no allocation — per-step
 * 11 MB copies otherwise drive the workers' GC), elsewhere `dataSync()`. Valid until the next tf call.
 */
export function valuesOf(t: Tensor): Float32Array {
  const b = tf.backend() as unknown as HeapBackend;
  if (b.typedArrayFromHeap && b.dataIdMap?.has(t.dataId)) return b.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
  return t.dataSync() as Float32Array;
}

/** A float32 tensor of `data`'s values that never aliases `data` (wasm copies on creation; other backends may keep it). */
export function tensorOf(data: Float32Array, shape: readonly number[]): Tensor {
  const own = (tf.backend() as unknown as HeapBackend).typedArrayFromHeap ? data : data.slice();
  return tf.tensor(own, [...shape], 'float32');
}

/**
 * Gradients and loss values of `replica` on one shard: each parameter's gradient is copied into `into` at its
 * layout offset (`has[i]` = 1 where one reached parameter i).
 */
export function replicaGradients(replica: Replica, payload: unknown, layout: Layout, into: Float32Array, has: Uint8Array): Record<string, number> {
  const vars = layout.names.map((name) => {
    const v = replica.params.get(name);
    if (!v) throw new Error(`data-parallel: the replica has no parameter '${name}'`);
    return v;
  });
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = replica.lossFn(payload);
    terms = Object.fromEntries(Object.entries(out.terms).map(([k, t]) => [k, tf.keep(t)]));
    return out.total;
  }, vars);
  try {
    layout.names.forEach((_name, i) => {
      const g = grads[vars[i]!.name];
      has[i] = g ? 1 : 0;
      if (g) into.set(valuesOf(g), layout.offsets[i]);
    });
    const losses: Record<string, number> = { total: value.dataSync()[0]! };
    for (const [k, t] of Object.entries(terms)) losses[k] = t.dataSync()[0]!;
    return losses;
  } finally {
    tf.dispose([value, ...Object.values(terms), ...Object.values(grads)]);
  }
}

/** Copy the variables of `layout` (looked up in `vars`) into `into` at the layout's offsets. */
export function writeVariables(layout: Layout, vars: ReadonlyMap<string, Variable>, into: Float32Array): void {
  layout.names.forEach((name, i) => {
    const v = vars.get(name);
    if (!v) throw new Error(`data-parallel: no variable '${name}'`);
    into.set(valuesOf(v), layout.offsets[i]);
  });
}

/** Assign the variables of `layout` from `from` (copied, so the variables never alias shared memory). */
export function readVariables(layout: Layout, vars: ReadonlyMap<string, Variable>, from: Float32Array): void {
  layout.names.forEach((name, i) => {
    const v = vars.get(name)!;
    const data = from.subarray(layout.offsets[i], layout.offsets[i]! + layout.sizes[i]!);
    tf.tidy(() => v.assign(tensorOf(data, v.shape)));
  });
}
