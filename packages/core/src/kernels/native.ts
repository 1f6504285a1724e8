/**
 * oneDNN kernels on the wasm backend (issue 13), in place on its heap: each kernel allocates its output with the
 * backend's `makeOutput`, then hands the byte offsets of inputs and output inside the wasm memory to the addon of
 * @clip-senet/native, which runs a cached oneDNN primitive on them — no copies in or out.
 *
 * | kernel               | native when                                                  | otherwise               |
 * |----------------------|--------------------------------------------------------------|-------------------------|
 * | Conv2D               | float32, NHWC, any stride/dilation/padding                    | the wasm kernel         |
 * | FusedConv2D          | as Conv2D; bias of Co values; linear/relu/relu6/leakyrelu/sigmoid/elu | the wasm kernel |
 * | Conv2DBackpropInput  | float32, NHWC                                                 | the project's kernel    |
 * | Conv2DBackpropFilter | float32, NHWC                                                 | the project's kernel    |
 * | BatchMatMul          | float32, both transpose flags, equal batches or one of 1, m·n·k ≥ 16³ | the flag-free kernel |
 * | GroupedConv2D (+ both backprops; grouped-conv.ts) | as Conv2D: one grouped primitive    | split / conv / concat   |
 *
 * Anything else goes to the kernel that was registered before (counted by `nativeFallbacks()`; with
 * `CLIP_SENET_NATIVE_DEBUG=1` the first fallback per kernel and reason is logged). A oneDNN error also falls back.
 */
import type { NativeBinding } from '@clip-senet/native';
import { ACTIVATION_CODES } from '@clip-senet/native';
import { tf } from '../tf';
import type { KernelBackend, TensorInfo } from './compose';
import { GROUPED_CONV_KERNELS } from './grouped-conv';

interface WasmHeapBackend extends KernelBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap };
type Fallback = (args: KernelArgs) => TensorInfo | TensorInfo[];

/** Kernels this module registers on wasm. */
export const NATIVE_KERNELS = [
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'BatchMatMul',
  GROUPED_CONV_KERNELS.forward,
  GROUPED_CONV_KERNELS.backpropInput,
  GROUPED_CONV_KERNELS.backpropFilter,
] as const;

/**
 * Below 16³ multiply-adds per matrix a product costs the same either way (the call dominates: 5×4×8 measured
 * 4.2–4.7 µs native vs 4.8–5.0 µs wasm; 32³: 5.5 vs 9.8 µs), so tiny heads keep the wasm kernel and its exact numerics.
 */
const TINY_MATMUL = 16 * 16 * 16;

let enabled = true;
let registered: readonly string[] | undefined;
const fallbacks = new Map<string, number>();
const logged = new Set<string>();
let debug = false;

/** Fallback counts by `kernel: reason` since start-up (or the last `resetNativeFallbacks`). */
export function nativeFallbacks(): ReadonlyMap<string, number> {
  return fallbacks;
}

/** Clears the fallback counts. */
export function resetNativeFallbacks(): void {
  fallbacks.clear();
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

function fallBack(kernel: string, reason: string, fallback: Fallback, args: KernelArgs): TensorInfo | TensorInfo[] {
  const key = `${kernel}: ${reason}`;
  fallbacks.set(key, (fallbacks.get(key) ?? 0) + 1);
  if (debug && !logged.has(key)) {
    logged.add(key);
    process.stderr.write(`[clip-senet native] fallback ${key}\n`);
  }
  return fallback(args);
}

function offsetOf(backend: WasmHeapBackend, t: TensorInfo): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (entry == null) throw new Error('tensor is not on the wasm heap');
  return entry.memoryOffset;
}

/**
 * Allocates the output, runs `body` with the heap view taken after allocation (growth replaces the buffer), and
 * releases the output if the addon throws. Returns undefined on a native error (the caller falls back).
 */
function runInPlace(backend: WasmHeapBackend, shape: number[], body: (heap: Uint8Array, out: number) => void): TensorInfo | string {
  const out = backend.makeOutput(shape, 'float32');
  try {
    body(backend.wasm.HEAPU8, offsetOf(backend, out));
    return out;
  } catch (err) {
    backend.disposeData(out.dataId);
    return (err as Error).message.split('\n')[0]!;
  }
}

interface ConvAttrs {
  /** Only on the GroupedConv2D kernels. */
  groups?: number;
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The addon's conv descriptor from tfjs' conv geometry; a string says why it is not covered. */
function convDescriptor(info: tf.backend_util.Conv2DInfo, groups: number): Int32Array | string {
  const { batchSize: n, inHeight: ih, inWidth: iw, inChannels: ic, outHeight: oh, outWidth: ow, outChannels: oc } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, bottom, left, right } = info.padInfo;
  if ([n, ih, iw, ic, oh, ow, oc, kh, kw].some((d) => d <= 0)) return 'empty tensor';
  // oneDNN derives the output size with floor division; tfjs' rounding modes can disagree (then: not covered).
  const fits = (i: number, k: number, d: number, s: number, p0: number, p1: number, o: number) => Math.floor((i + p0 + p1 - ((k - 1) * d + 1)) / s) + 1 === o;
  if (!fits(ih, kh, dh, sh, top, bottom, oh) || !fits(iw, kw, dw, sw, left, right, ow)) return 'output size rounding';
  if (!Number.isInteger(groups) || groups < 1 || ic % groups !== 0 || oc % groups !== 0) return 'groups';
  return Int32Array.from([n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, top, bottom, left, right, groups]);
}

function isNhwc(attrs: ConvAttrs): boolean {
  return attrs.dataFormat == null || attrs.dataFormat === 'NHWC' || attrs.dataFormat === 'channelsLast';
}

function conv2dForward(binding: NativeBinding, kernel: string, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!enabled) return fallback(args);
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs & { activation?: string; leakyreluAlpha?: number };
    if (x!.dtype !== 'float32' || filter!.dtype !== 'float32' || x!.shape.length !== 4) return fallBack(kernel, 'dtype or rank', fallback, args);
    if (!isNhwc(attrs)) return fallBack(kernel, 'NCHW', fallback, args);
    const activation = ACTIVATION_CODES[(attrs.activation ?? 'linear') as keyof typeof ACTIVATION_CODES];
    if (activation == null || preluActivationWeights != null) return fallBack(kernel, `activation ${attrs.activation}`, fallback, args);
    const info = tf.backend_util.computeConv2DInfo(
      x!.shape as [number, number, number, number],
      filter!.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const desc = convDescriptor(info, attrs.groups ?? 1);
    if (typeof desc === 'string') return fallBack(kernel, desc, fallback, args);
    if (bias != null && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== info.outChannels || bias.shape[bias.shape.length - 1] !== info.outChannels)) {
      return fallBack(kernel, 'bias shape', fallback, args);
    }
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, info.outShape, (heap, y) =>
      binding.conv2dForward(heap, desc, offsetOf(backend, x!), offsetOf(backend, filter!), bias ? offsetOf(backend, bias) : -1, y, activation, attrs.leakyreluAlpha ?? 0.2),
    );
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function conv2dBackpropInput(binding: NativeBinding, kernel: string, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!enabled) return fallback(args);
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
    if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return fallBack(kernel, 'dtype', fallback, args);
    if (!isNhwc(attrs)) return fallBack(kernel, 'NCHW', fallback, args);
    const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
    const desc = convDescriptor(info, attrs.groups ?? 1);
    if (typeof desc === 'string') return fallBack(kernel, desc, fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, [...attrs.inputShape], (heap, dx) => binding.conv2dBackwardData(heap, desc, offsetOf(backend, dy), offsetOf(backend, filter), dx));
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function conv2dBackpropFilter(binding: NativeBinding, kernel: string, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!enabled) return fallback(args);
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') return fallBack(kernel, 'dtype', fallback, args);
    if (!isNhwc(attrs)) return fallBack(kernel, 'NCHW', fallback, args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
    const desc = convDescriptor(info, attrs.groups ?? 1);
    if (typeof desc === 'string') return fallBack(kernel, desc, fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, [...attrs.filterShape], (heap, dw) => binding.conv2dBackwardWeights(heap, desc, offsetOf(backend, x), offsetOf(backend, dy), dw));
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function batchMatMul(binding: NativeBinding, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!enabled) return fallback(args);
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallBack('BatchMatMul', 'dtype or rank', fallback, args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (k !== kb) return fallBack('BatchMatMul', 'inner sizes differ', fallback, args); // the fallback reports the error
    const outerA = a.shape.slice(0, -2);
    const outerB = b.shape.slice(0, -2);
    const batchA = tf.util.sizeFromShape(outerA);
    const batchB = tf.util.sizeFromShape(outerB);
    let outer: number[];
    try {
      outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
    } catch {
      return fallBack('BatchMatMul', 'batch shapes', fallback, args);
    }
    const sameBatch = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
    if (!(sameBatch || batchA === 1 || batchB === 1) || tf.util.sizeFromShape(outer) !== Math.max(batchA, batchB)) {
      return fallBack('BatchMatMul', 'batch broadcast', fallback, args);
    }
    if (m * n * k === 0 || batchA * batchB === 0) return fallBack('BatchMatMul', 'empty tensor', fallback, args);
    if (m * n * k < TINY_MATMUL) return fallBack('BatchMatMul', 'tiny', fallback, args);
    const desc = Int32Array.from([batchA, batchB, m, n, k, transposeA ? 1 : 0, transposeB ? 1 : 0]);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, [...outer, m, n], (heap, c) => binding.matMul(heap, desc, offsetOf(backend, a), offsetOf(backend, b), c));
    return typeof out === 'string' ? fallBack('BatchMatMul', out, fallback, args) : out;
  };
}

/**
 * Wraps the currently registered wasm kernels in `NATIVE_KERNELS` with their oneDNN versions (call after
 * `registerTrainingKernels('wasm')`, whose kernels become the fallbacks). Idempotent; returns the kernels wrapped.
 */
export function registerNativeKernels(binding: NativeBinding, options: { debug?: boolean } = {}): readonly string[] {
  debug = options.debug ?? false;
  if (registered) return registered;
  const make: Record<(typeof NATIVE_KERNELS)[number], (fallback: Fallback) => (args: KernelArgs) => TensorInfo | TensorInfo[]> = {
    Conv2D: (f) => conv2dForward(binding, 'Conv2D', f),
    FusedConv2D: (f) => conv2dForward(binding, 'FusedConv2D', f),
    Conv2DBackpropInput: (f) => conv2dBackpropInput(binding, 'Conv2DBackpropInput', f),
    Conv2DBackpropFilter: (f) => conv2dBackpropFilter(binding, 'Conv2DBackpropFilter', f),
    BatchMatMul: (f) => batchMatMul(binding, f),
    [GROUPED_CONV_KERNELS.forward]: (f) => conv2dForward(binding, GROUPED_CONV_KERNELS.forward, f),
    [GROUPED_CONV_KERNELS.backpropInput]: (f) => conv2dBackpropInput(binding, GROUPED_CONV_KERNELS.backpropInput, f),
    [GROUPED_CONV_KERNELS.backpropFilter]: (f) => conv2dBackpropFilter(binding, GROUPED_CONV_KERNELS.backpropFilter, f),
  };
  const done: string[] = [];
  for (const name of NATIVE_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    if (current == null) continue;
    const fallback = current.kernelFunc as unknown as Fallback;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make[name](fallback) as unknown as tf.KernelFunc });
    done.push(name);
  }
  registered = done;
  return done;
}
