/**
 * What every native kernel wrapper shares (native.ts, native-fused.ts): the wasm heap view of the backend, the
 * on/off switch, counted fallbacks (logged once per kernel and reason with `CLIP_SENET_NATIVE_DEBUG=1`), and running
 * an addon call in place on a freshly allocated output.
 */
import type { tf } from '../tf';
import type { KernelBackend, TensorInfo } from './compose';

/** The wasm backend's heap access the wrappers use. */
export interface WasmHeapBackend extends KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap };
export type Fallback = (args: KernelArgs) => TensorInfo | TensorInfo[];

let enabled = true;
const fallbacks = new Map<string, number>();
const logged = new Set<string>();
let debug = false;

/** Whether the registered native kernels run (false: every one goes to its fallback). */
export function nativeEnabled(): boolean {
  return enabled;
}

/**
 * Routes the registered native kernels to their fallbacks (`false`) or back (`true`) without re-registering; lets
 * tests and benchmarks compare native and wasm in one process. Returns the previous setting.
 */
export function setNativeKernelsEnabled(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** Turns the one-line-per-reason fallback log on or off. */
export function setNativeDebug(on: boolean): void {
  debug = on;
}

/** Fallback counts by `kernel: reason` since start-up (or the last `resetNativeFallbacks`). */
export function nativeFallbacks(): ReadonlyMap<string, number> {
  return fallbacks;
}

/** Clears the fallback counts. */
export function resetNativeFallbacks(): void {
  fallbacks.clear();
}

/** Counts (and, in debug mode, logs once) a fallback, then runs it. */
export function fallBack(kernel: string, reason: string, fallback: Fallback, args: KernelArgs): TensorInfo | TensorInfo[] {
  const key = `${kernel}: ${reason}`;
  fallbacks.set(key, (fallbacks.get(key) ?? 0) + 1);
  if (debug && !logged.has(key)) {
    logged.add(key);
    process.stderr.write(`[clip-senet native] fallback ${key}\n`);
  }
  return fallback(args);
}

/** Byte offset of a tensor's data in the wasm heap. */
export function offsetOf(backend: WasmHeapBackend, t: TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (entry == null) throw new Error('tensor is not on the wasm heap');
  return entry.memoryOffset;
}

/**
 * Allocates the outputs, runs `body` with the heap view taken after allocation (growth replaces the buffer) and the
 * outputs' offsets, and releases the outputs if the addon throws: then the error's first line is returned (the
 * caller falls back).
 */
export function runInPlaceMany(backend: WasmHeapBackend, shapes: number[][], body: (heap: Uint8Array, outs: number[]) => void): TensorInfo[] | string {
  const outs = shapes.map((s) => backend.makeOutput(s, 'float32'));
  try {
    body(backend.wasm.HEAPU8, outs.map((o) => offsetOf(backend, o)));
    return outs;
  } catch (err) {
    for (const o of outs) backend.disposeData(o.dataId);
    return (err as Error).message.split('\n')[0]!;
  }
}

/** {@link runInPlaceMany} for one output. */
export function runInPlace(backend: WasmHeapBackend, shape: number[], body: (heap: Uint8Array, out: number) => void): TensorInfo | string {
  const out = runInPlaceMany(backend, [shape], (heap, [o]) => body(heap, o!));
  return typeof out === 'string' ? out : out[0]!;
}
