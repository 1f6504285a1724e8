/**
 * What the data-parallel parent (data-parallel.ts) and its worker threads (data-parallel-worker.ts) share: the
 * replica contract, the messages, and the flat layout of the shared memory.
 *
 * Shared memory (SharedArrayBuffer, allocated by the parent once per parameter set):
 * - `weights`: every trainable parameter, then every buffer, in the layout's order — written by the parent before
 *   each step, read by all workers;
 * - one `out` block per worker: that worker's gradients (same parameter layout), then its updated buffers.
 * - one `inbox` per worker: the large typed arrays of its shard payload (images), written by the parent before each
 *   step ({@link packPayload}).
 * Messages only carry the rest of the shard payload, loss values and a has-gradient mask; `postMessage` orders the
 * accesses (the parent writes `weights` and the inbox before posting a step and reads `out` after the reply).
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

/** Parent → worker. `inbox` holds the payload's large typed arrays (see {@link packPayload}). */
export type ToWorker =
  | { readonly type: 'bind'; readonly id: number; readonly params: Layout; readonly buffers: Layout; readonly weights: SharedArrayBuffer; readonly out: SharedArrayBuffer }
  | { readonly type: 'step'; readonly id: number; readonly payload: unknown; readonly inbox: SharedArrayBuffer };

/** Typed arrays of at least this many bytes travel through the shared inbox instead of the structured clone. */
export const SHARED_PAYLOAD_MIN_BYTES = 1024;

type Typed = Float32Array | Int32Array | Uint8Array | Float64Array;
const TYPED = { Float32Array, Int32Array, Uint8Array, Float64Array } as const;
type TypedName = keyof typeof TYPED;

/** What replaces a large typed array inside a packed payload. */
interface SharedRef {
  readonly $sharedPayload: TypedName;
  readonly byteOffset: number;
  readonly length: number;
}

function typedName(x: unknown): TypedName | undefined {
  for (const name of Object.keys(TYPED) as TypedName[]) if (x instanceof TYPED[name]) return name;
  return undefined;
}

function isPlain(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);
}

/** Bytes the payload's large typed arrays need in an inbox (8-byte aligned each). */
function sharedBytes(x: unknown): number {
  if (typedName(x)) return (x as Typed).byteLength >= SHARED_PAYLOAD_MIN_BYTES ? Math.ceil((x as Typed).byteLength / 8) * 8 : 0;
  if (Array.isArray(x)) return x.reduce((a: number, v) => a + sharedBytes(v), 0);
  if (isPlain(x)) return Object.values(x).reduce((a: number, v) => a + sharedBytes(v), 0);
  return 0;
}

/**
 * Move a shard payload's large typed arrays (≥ {@link SHARED_PAYLOAD_MIN_BYTES}) into the shared `inbox` (grown
 * when too small; the one to send is returned) and replace them by references: one memcpy per array instead of a
 * structured clone, which allocates a fresh buffer in the worker every step (external memory → GC pressure in
 * every worker isolate). Plain objects and arrays are walked; anything else is left to the structured clone.
 */
export function packPayload(payload: unknown, inbox: SharedArrayBuffer): { payload: unknown; inbox: SharedArrayBuffer } {
  const need = sharedBytes(payload);
  const box = inbox.byteLength >= need ? inbox : new SharedArrayBuffer(Math.ceil(need * 1.25 / 8) * 8);
  let offset = 0;
  const walk = (x: unknown): unknown => {
    const name = typedName(x);
    if (name) {
      const t = x as Typed;
      if (t.byteLength < SHARED_PAYLOAD_MIN_BYTES) return t;
      new Uint8Array(box, offset, t.byteLength).set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
      const ref: SharedRef = { $sharedPayload: name, byteOffset: offset, length: t.length };
      offset += Math.ceil(t.byteLength / 8) * 8;
      return ref;
    }
    if (Array.isArray(x)) return x.map(walk);
    if (isPlain(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    return x;
  };
  return { payload: walk(payload), inbox: box };
}

/**
 * Undo {@link packPayload} in the worker: references become views onto `inbox` (valid until the next step's
 * payload overwrites it), or copies when `copy` (a backend that may keep the array a tensor is made from).
 */
export function unpackPayload(payload: unknown, inbox: SharedArrayBuffer, copy: boolean): unknown {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (isPlain(x)) {
      if (typeof x.$sharedPayload === 'string') {
        const ref = x as unknown as SharedRef;
        const view = new TYPED[ref.$sharedPayload](inbox as unknown as ArrayBuffer, ref.byteOffset, ref.length); // (lib typing: views over shared memory are fine)
        return copy ? view.slice() : view;
      }
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v)]));
    }
    return x;
  };
  return walk(payload);
}

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

/** CPU milliseconds (user + system) in a Linux `/proc/…/stat` line, at 10 ms resolution. */
export function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] = state (field 3); utime, stime = fields 14, 15
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks at USER_HZ = 100
}

/** CPU milliseconds used by the calling thread so far (Linux /proc, 10 ms resolution); NaN elsewhere. */
export function threadCpuMs(): number {
  try {
    return statCpuMs(readFileSync('/proc/thread-self/stat', 'utf8'));
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

/** Whether the current backend copies an array into its own memory when a tensor is made from it (wasm's heap). */
export function backendCopiesOnCreate(): boolean {
  return typeof (tf.backend() as unknown as HeapBackend).typedArrayFromHeap === 'function';
}

/** A float32 tensor of `data`'s values that never aliases `data` (wasm copies on creation; other backends may keep it). */
export function tensorOf(data: Float32Array, shape: readonly number[]): Tensor {
  const own = backendCopiesOnCreate() ? data : data.slice();
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
