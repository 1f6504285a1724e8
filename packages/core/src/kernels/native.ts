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
 * | Add, Sub, Multiply, RealDiv | float32 both; same shapes, scalar, or one side broadcast as a trailing row ([C] over NHWC) or a leading column ([N,1,1,1]) | the wasm kernel |
 * | Sum, Mean            | float32, one contiguous block of non-trailing axes (BatchNorm's N·H·W, pools) | the streaming JS pass |
 * | FusedBatchNorm       | float32, statistics/offset/scale of C values (last axis)      | the wasm kernel         |
 * | MaxPoolGrad          | float32 NHWC, no dilation                                      | the project's JS pass   |
 * | Slice                | float32 / int32, rank ≤ 8 (a pad's gradient)                   | the wasm kernel         |
 * | Relu, Step, Square   | float32                                                        | the wasm kernel         |
 * | ClipSenetReluGrad    | float32 (relu-grad.ts: dy · step(x) in one pass)               | the project's JS pass   |
 * | ClipSenetBatchNormTrain (+ Grad), ClipSenetAdamUpdate | fused training kernels (native-fused.ts) | JS loops |
 *
 * These last ones are plain loops (packages/native/src/elementwise.cc): the element-wise ones, MaxPoolGrad and Slice give
 * the same bits as the kernels they replace (Relu keeps a −0 input's sign, as tfjs' cpu kernel does); Sum/Mean and FusedBatchNorm agree to float rounding (tests in native.test.ts).
 * Anything else goes to the kernel that was registered before (counted by `nativeFallbacks()`; with
 * `CLIP_SENET_NATIVE_DEBUG=1` the first fallback per kernel and reason is logged). A oneDNN error also falls back.
 */
import type * as NativePackage from '@clip-senet/native';
import type { NativeBinding } from '@clip-senet/native';
import { tf } from '../tf';
import type { TensorInfo } from './compose';
import { type Fallback, type KernelArgs, type WasmHeapBackend, fallBack, nativeEnabled, offsetOf, runInPlace, setNativeDebug } from './native-common';
import { GROUPED_CONV_KERNELS } from './grouped-conv';
import { FUSED_NATIVE_KERNELS } from './native-fused';
import { reducedShape } from './reductions';
import { RELU_GRAD_KERNEL } from './relu-grad';

/**
 * The addon's wire codes (op, activation and broadcast numbers its C++ switch reads), taken from the
 * `@clip-senet/native` module that backend.ts imports on first use — core never imports that optional peer statically.
 */
type Wire = Pick<typeof NativePackage, 'ACTIVATION_CODES' | 'BINARY_OPS' | 'BROADCAST_MODES' | 'UNARY_OPS'>;
let wire: Wire | undefined;
/** Called by initBackend once `@clip-senet/native` is imported. */
export function setNativeWire(module: Wire): void {
  wire = module;
}
function codes(): Wire {
  if (!wire) throw new Error('native kernels: @clip-senet/native has not been loaded (initBackend loads it)');
  return wire;
}

/**
 * Below 16³ multiply-adds per matrix a product costs the same either way (the call dominates: 5×4×8 measured
 * 4.2–4.7 µs native vs 4.8–5.0 µs wasm; 32³: 5.5 vs 9.8 µs), so tiny heads keep the wasm kernel and its exact numerics.
 */
const TINY_MATMUL = 16 * 16 * 16;

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
  'Add',
  'Sub',
  'Multiply',
  'Sum',
  'Mean',
  'FusedBatchNorm',
  'MaxPoolGrad',
  'Slice',
  'RealDiv',
  'Relu',
  'Step',
  'Square',
  RELU_GRAD_KERNEL,
] as const;

let registered: readonly string[] | undefined;

/** Fallback counts, and the switch between native kernels and their fallbacks (native-common.ts). */
export { nativeFallbacks, resetNativeFallbacks, setNativeKernelsEnabled } from './native-common';

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
    if (!nativeEnabled()) return fallback(args);
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as ConvAttrs & { activation?: string; leakyreluAlpha?: number };
    if (x!.dtype !== 'float32' || filter!.dtype !== 'float32' || x!.shape.length !== 4) return fallBack(kernel, 'dtype or rank', fallback, args);
    if (!isNhwc(attrs)) return fallBack(kernel, 'NCHW', fallback, args);
    const activation = codes().ACTIVATION_CODES[(attrs.activation ?? 'linear') as keyof Wire['ACTIVATION_CODES']];
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
    if (!nativeEnabled()) return fallback(args);
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
    if (!nativeEnabled()) return fallback(args);
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
    if (!nativeEnabled()) return fallback(args);
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

/** How one operand of a broadcasting binary op maps onto the output viewed as [outer, inner]. */
interface OperandPlan {
  mode: number;
  /** The inner size this mode needs (0: any split works). */
  inner: number;
}

function operandPlan(shape: readonly number[], out: readonly number[]): OperandPlan | null {
  const size = tf.util.sizeFromShape(shape as number[]);
  const total = tf.util.sizeFromShape(out as number[]);
  if (size === total) return { mode: codes().BROADCAST_MODES.full, inner: 0 };
  if (size === 1) return { mode: codes().BROADCAST_MODES.scalar, inner: 0 };
  const r = out.length;
  const s = [...new Array<number>(r - shape.length).fill(1), ...shape];
  const broadcast = out.map((d, i) => s[i] === 1 && d !== 1);
  const trivial = out.map((d) => d === 1);
  const last = broadcast.lastIndexOf(true);
  const first = broadcast.indexOf(true);
  const innerFrom = (k: number) => tf.util.sizeFromShape(out.slice(k) as number[]);
  // A row: every broadcast axis before every kept one (e.g. [C] over [N, H, W, C]).
  if (broadcast.every((b, i) => i > last || b || trivial[i])) return { mode: codes().BROADCAST_MODES.row, inner: innerFrom(last + 1) };
  // A column: every axis from the first broadcast one on is broadcast (e.g. [N, 1, 1, 1]).
  if (broadcast.every((b, i) => i < first || b || trivial[i])) return { mode: codes().BROADCAST_MODES.column, inner: innerFrom(first) };
  return null;
}

/** The addon's binary descriptor for `a ∘ b` with tfjs broadcasting; a string says why it is not covered. */
export function binaryDescriptor(op: number, aShape: readonly number[], bShape: readonly number[]): { desc: Int32Array; outShape: number[] } | string {
  let outShape: number[];
  try {
    outShape = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  } catch {
    return 'shapes'; // the fallback reports the error
  }
  const total = tf.util.sizeFromShape(outShape);
  if (total === 0) return 'empty tensor';
  const pa = operandPlan(aShape, outShape);
  const pb = operandPlan(bShape, outShape);
  if (pa == null || pb == null) return 'broadcast pattern';
  if (pa.inner !== 0 && pb.inner !== 0 && pa.inner !== pb.inner) return 'broadcast pattern';
  const inner = pa.inner || pb.inner || total;
  return { desc: Int32Array.from([op, total / inner, inner, pa.mode, pb.mode]), outShape };
}

function reluGradKernel(binding: NativeBinding, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
    if (dy.dtype !== 'float32' || x.dtype !== 'float32' || dy.shape.join() !== x.shape.join()) return fallBack(RELU_GRAD_KERNEL, 'dtype or shapes', fallback, args);
    const count = tf.util.sizeFromShape(x.shape);
    if (count === 0) return fallBack(RELU_GRAD_KERNEL, 'empty tensor', fallback, args);
    const desc = Int32Array.from([codes().BINARY_OPS.ReluGrad, 1, count, codes().BROADCAST_MODES.full, codes().BROADCAST_MODES.full]);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, [...x.shape], (heap, y) => binding.binary(heap, desc, offsetOf(backend, dy), offsetOf(backend, x), y));
    return typeof out === 'string' ? fallBack(RELU_GRAD_KERNEL, out, fallback, args) : out;
  };
}

function unary(binding: NativeBinding, kernel: keyof Wire['UNARY_OPS'], fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype !== 'float32') return fallBack(kernel, 'dtype', fallback, args);
    const count = tf.util.sizeFromShape(x.shape);
    if (count === 0) return fallBack(kernel, 'empty tensor', fallback, args);
    const alpha = kernel === 'Step' ? ((args.attrs as { alpha?: number }).alpha ?? 0) : 0;
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, [...x.shape], (heap, y) => binding.unary(heap, codes().UNARY_OPS[kernel], count, offsetOf(backend, x), y, alpha));
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function binary(binding: NativeBinding, kernel: 'Add' | 'Sub' | 'Multiply' | 'RealDiv', fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return fallBack(kernel, 'dtype', fallback, args);
    const plan = binaryDescriptor(codes().BINARY_OPS[kernel], a.shape, b.shape);
    if (typeof plan === 'string') return fallBack(kernel, plan, fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, plan.outShape, (heap, y) => binding.binary(heap, plan.desc, offsetOf(backend, a), offsetOf(backend, b), y));
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

/** [pre, mid, post] view of `shape` when `axes` are one contiguous block (post = 1: trailing or all axes). */
export function reductionView(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  if (axes.length === 0) return null;
  const sorted = [...axes].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]! + 1) return null;
  const prod = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  return [prod(0, sorted[0]!), prod(sorted[0]!, sorted[sorted.length - 1]! + 1), prod(sorted[sorted.length - 1]! + 1, shape.length)];
}

function reduction(binding: NativeBinding, kernel: 'Sum' | 'Mean', fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return fallBack(kernel, 'dtype', fallback, args);
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const view = reductionView(x.shape, axes);
    if (view == null) return fallBack(kernel, 'axes not one contiguous block', fallback, args);
    // Trailing reductions (losses, softmax) keep wasm's float32 summation: finite-difference checks of whole models
    // sit within one ulp of their loss, and these reductions are small.
    if (view[2] === 1) return fallBack(kernel, 'trailing axes', fallback, args);
    if (view.some((d) => d === 0)) return fallBack(kernel, 'empty tensor', fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const scale = kernel === 'Mean' ? 1 / view[1] : 1;
    const out = runInPlace(backend, reducedShape(x.shape, axes, keepDims), (heap, y) => binding.reduceMiddle(heap, Int32Array.from(view), offsetOf(backend, x), y, scale));
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function fusedBatchNorm(binding: NativeBinding, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, TensorInfo | undefined>;
    const { varianceEpsilon } = args.attrs as unknown as { varianceEpsilon: number };
    if (x!.shape.length < 1) return fallBack('FusedBatchNorm', 'rank', fallback, args);
    const c = x!.shape[x!.shape.length - 1]!;
    const size = tf.util.sizeFromShape(x!.shape);
    if (size === 0) return fallBack('FusedBatchNorm', 'empty tensor', fallback, args);
    const perChannel = (t: TensorInfo | undefined) => t == null || (t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === c && t.shape[t.shape.length - 1] === c);
    if (x!.dtype !== 'float32' || ![mean, variance, offset, scale].every(perChannel) || mean == null || variance == null) {
      return fallBack('FusedBatchNorm', 'dtype or statistics shape', fallback, args);
    }
    const backend = args.backend as WasmHeapBackend;
    const desc = Int32Array.from([size / c, c, offset ? 1 : 0, scale ? 1 : 0]);
    const out = runInPlace(backend, [...x!.shape], (heap, y) =>
      binding.batchNormForward(heap, desc, offsetOf(backend, x!), offsetOf(backend, mean), offsetOf(backend, variance), offset ? offsetOf(backend, offset) : 0, scale ? offsetOf(backend, scale) : 0, y, varianceEpsilon ?? 0.001),
    );
    return typeof out === 'string' ? fallBack('FusedBatchNorm', out, fallback, args) : out;
  };
}

function maxPoolGrad(binding: NativeBinding, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const attrs = args.attrs as unknown as { filterSize: [number, number] | number; strides: [number, number] | number; pad: ConvAttrs['pad']; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
    if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4) return fallBack('MaxPoolGrad', 'dtype or rank', fallback, args);
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    if ([n, h, w, c, oh, ow].some((d) => d <= 0)) return fallBack('MaxPoolGrad', 'empty tensor', fallback, args);
    if (dy.shape.join() !== [n, oh, ow, c].join()) return fallBack('MaxPoolGrad', 'dy shape', fallback, args);
    const desc = Int32Array.from([n, h, w, c, oh, ow, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left]);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlace(backend, [n, h, w, c], (heap, dx) => binding.maxPoolGrad(heap, desc, offsetOf(backend, dy), offsetOf(backend, input), dx));
    return typeof out === 'string' ? fallBack('MaxPoolGrad', out, fallback, args) : out;
  };
}

function slice(binding: NativeBinding, fallback: Fallback) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    if (!nativeEnabled()) return fallback(args);
    const { x } = args.inputs as { x: TensorInfo };
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length < 1 || x.shape.length > 8) return fallBack('Slice', 'dtype or rank', fallback, args);
    const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
    if (s.some((d) => d <= 0) || x.shape.some((d) => d <= 0)) return fallBack('Slice', 'empty tensor', fallback, args);
    const desc = Int32Array.from([x.shape.length, ...x.shape, ...b, ...s]);
    const backend = args.backend as WasmHeapBackend;
    const out = backend.makeOutput(s, x.dtype);
    try {
      binding.slice(backend.wasm.HEAPU8, desc, offsetOf(backend, x), offsetOf(backend, out), 4);
      return out;
    } catch (err) {
      backend.disposeData(out.dataId);
      return fallBack('Slice', (err as Error).message.split('\n')[0]!, fallback, args);
    }
  };
}

/** Groups of registered kernel names for the start-up line: [label, kernels, on oneDNN (else plain loops)]. */
const KERNEL_GROUPS: ReadonlyArray<readonly [string, readonly string[], boolean]> = [
  ['conv fwd/bwd (incl. grouped)', ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', ...Object.values(GROUPED_CONV_KERNELS)], true],
  ['matmul', ['BatchMatMul'], true],
  ['add/sub/mul/div', ['Add', 'Sub', 'Multiply', 'RealDiv'], false],
  ['relu/step/square', ['Relu', 'Step', 'Square', RELU_GRAD_KERNEL], false],
  ['sum/mean', ['Sum', 'Mean'], false],
  ['batchnorm (inference + fused training fwd/bwd)', ['FusedBatchNorm', ...FUSED_NATIVE_KERNELS.map(([n]) => n).filter((n) => n.includes('BatchNorm'))], false],
  ['max-pool grad', ['MaxPoolGrad'], false],
  ['slice', ['Slice'], false],
  ['adam update', FUSED_NATIVE_KERNELS.map(([n]) => n).filter((n) => n.includes('Adam')), false],
];

/**
 * What the registered kernels cover, in words, e.g. `oneDNN: conv fwd/bwd (incl. grouped), matmul; native loops:
 * add/sub/mul/div, …` — a group is named when any of its kernels is registered.
 */
export function describeNativeKernels(kernels: readonly string[]): string {
  const have = new Set(kernels);
  const pick = (onednn: boolean) => KERNEL_GROUPS.filter(([, names, o]) => o === onednn && names.some((n) => have.has(n))).map(([label]) => label);
  const parts = [[`oneDNN`, pick(true)], ['native loops', pick(false)]] as const;
  return parts.filter(([, labels]) => labels.length > 0).map(([what, labels]) => `${what}: ${labels.join(', ')}`).join('; ') || 'none';
}

/**
 * Wraps the currently registered wasm kernels in `NATIVE_KERNELS` with their oneDNN versions (call after
 * `registerTrainingKernels('wasm')`, whose kernels become the fallbacks) and registers the fused training kernels
 * (`FUSED_NATIVE_KERNELS`, JS loops as their fallbacks). Idempotent; returns the kernels registered.
 */
export function registerNativeKernels(binding: NativeBinding, options: { debug?: boolean } = {}): readonly string[] {
  setNativeDebug(options.debug ?? false);
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
    Add: (f) => binary(binding, 'Add', f),
    Sub: (f) => binary(binding, 'Sub', f),
    Multiply: (f) => binary(binding, 'Multiply', f),
    Sum: (f) => reduction(binding, 'Sum', f),
    Mean: (f) => reduction(binding, 'Mean', f),
    FusedBatchNorm: (f) => fusedBatchNorm(binding, f),
    MaxPoolGrad: (f) => maxPoolGrad(binding, f),
    Slice: (f) => slice(binding, f),
    RealDiv: (f) => binary(binding, 'RealDiv', f),
    Relu: (f) => unary(binding, 'Relu', f),
    Step: (f) => unary(binding, 'Step', f),
    Square: (f) => unary(binding, 'Square', f),
    [RELU_GRAD_KERNEL]: (f) => reluGradKernel(binding, f),
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
  for (const [name, loop, wrap] of FUSED_NATIVE_KERNELS) {
    if (tf.getKernel(name, 'wasm') != null) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: wrap(binding, loop) as unknown as tf.KernelFunc });
    done.push(name);
  }
  registered = done;
  return done;
}
