/**
 * BatchNorm in training mode as one op (issue 13): `batchNormTrain(x, gamma, beta, { epsilon, relu })` normalises
 * x over every axis but the last (channels, NHWC) with the batch's mean and biased variance, applies the affine
 * gamma / beta and, with `relu`, a ReLU; it returns y and the statistics ([C] each) for the caller's running-stat
 * update. Composed from tf ops, a BatchNorm costs ~6 activation-sized passes forward and ~12 backward (autodiff of
 * mean, sub, square, mean, mul, add); the fused kernels make that 3 passes forward and 2 backward.
 *
 * | kernel                        | wasm with @clip-senet/native            | otherwise                                |
 * |-------------------------------|-----------------------------------------|------------------------------------------|
 * | ClipSenetBatchNormTrain       | native loops (native-fused.ts)          | not registered: the op composes tf ops    |
 * | ClipSenetBatchNormTrainGrad   | native loops                            | —                                        |
 *
 * Where the kernels are not registered (wasm without the addon, cpu, webgpu, tensorflow) or the inputs are not
 * float32, the op is exactly the composition backbones used before (`mean`, `mean(square(x − mean))`, `rsqrt`, …),
 * so numbers there do not change. The native kernels reduce in float64 (Σx, Σx² in one pass), so they agree with the
 * composition to float32 rounding, not bitwise. A native error falls back to the JS loops here (same arithmetic).
 */
import { tf } from '../tf';
import { type KernelBackend, type TensorInfo, readFloat32 } from './compose';

/** Custom kernel names. */
export const BATCH_NORM_TRAIN_KERNELS = { forward: 'ClipSenetBatchNormTrain', backward: 'ClipSenetBatchNormTrainGrad' } as const;

/** Attributes of both kernels. */
export interface BatchNormTrainAttrs {
  epsilon: number;
  relu: boolean;
}

/** What {@link batchNormTrain} returns. */
export interface BatchNormTrainResult {
  /** Normalised (and ReLU'd) x, x's shape. */
  readonly y: tf.Tensor;
  /** Batch mean per channel, [C]. */
  readonly mean: tf.Tensor1D;
  /** Biased batch variance per channel, [C]. */
  readonly variance: tf.Tensor1D;
}

/** Options of {@link batchNormTrain}. */
export interface BatchNormTrainOptions {
  /** Added to the variance (default 1e-5, PyTorch's). */
  readonly epsilon?: number;
  /** Apply ReLU to the output (default false). */
  readonly relu?: boolean;
}

function checkShapes(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): number {
  if (x.rank < 2) throw new Error(`batchNormTrain: x must have rank ≥ 2 (channels last), got shape [${x.shape.join(', ')}]`);
  const c = x.shape[x.rank - 1]!;
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.rank !== 1 || t.shape[0] !== c) throw new Error(`batchNormTrain: ${name} must have shape [${c}] (x's channels), got [${t.shape.join(', ')}]`);
  }
  return c;
}

/** The tf-op composition (backbones' BatchNorm as it was): also the path on backends without the kernels. */
export function batchNormTrainComposed(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, options: BatchNormTrainOptions = {}): BatchNormTrainResult {
  const c = checkShapes(x, gamma, beta);
  const eps = options.epsilon ?? 1e-5;
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const mean = tf.mean(x, axes, true); // [1, …, 1, C]
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes, true);
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
  const z = tf.add(tf.mul(tf.sub(x, mean), scale), beta);
  return { y: options.relu ? tf.relu(z) : z, mean: tf.reshape(mean, [c]), variance: tf.reshape(variance, [c]) };
}

/**
 * BatchNorm with batch statistics over all axes but the last, affine, optional ReLU: the fused kernels where the
 * backend has them (wasm with the native addon), else {@link batchNormTrainComposed}. Differentiable in x, gamma,
 * beta (and through mean / variance, should a caller use them in a loss).
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, options: BatchNormTrainOptions = {}): BatchNormTrainResult {
  checkShapes(x, gamma, beta);
  const fused = tf.getKernel(BATCH_NORM_TRAIN_KERNELS.forward, tf.getBackend()) != null;
  if (!fused || x.dtype !== 'float32' || gamma.dtype !== 'float32' || beta.dtype !== 'float32' || x.size === 0) return batchNormTrainComposed(x, gamma, beta, options);
  const attrs: BatchNormTrainAttrs = { epsilon: options.epsilon ?? 1e-5, relu: options.relu ?? false };
  const [y, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNELS.forward, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: y!, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/**
 * The forward kernel's gradient: one backward kernel for dx, dgamma, dbeta, run once when the tape reaches the node
 * (each input's gradient function then returns its part; the engine's backward scope releases unused parts).
 */
export const batchNormTrainGradient: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAIN_KERNELS.forward,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [true, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dmean, dvariance] = dys as tf.Tensor[];
    const [x, gamma, y, mean, variance] = saved as tf.Tensor[];
    const [dx, dgamma, dbeta] = tf.engine().runKernel(
      BATCH_NORM_TRAIN_KERNELS.backward,
      { dy: dy!, x: x!, y: y!, gamma: gamma!, mean: mean!, variance: variance!, dmean: dmean!, dvariance: dvariance! },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
};

interface HeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
}

/** Allocates float32 outputs on the wasm heap, then hands views of inputs and outputs to `body`. */
function onHeap(backend: KernelBackend, inputs: TensorInfo[], shapes: number[][], body: (ins: Float32Array[], outs: Float32Array[]) => void): TensorInfo[] {
  const heap = backend as HeapBackend;
  const outs = shapes.map((s) => heap.makeOutput(s, 'float32')); // allocate first: growth detaches earlier views
  body(
    inputs.map((t) => readFloat32(backend, t)),
    outs.map((o) => heap.typedArrayFromHeap(o) as Float32Array),
  );
  return outs;
}

/** Rows per partial sum, as the native kernels (packages/native/src/fused.cc). */
const ROWS_PER_CHUNK = 256;

/** Float64 sums per channel of f(element index) over rows of a [rows, c] array, chunked and added as the native kernels. */
function channelSums(rows: number, c: number, f: (i: number) => number): Float64Array {
  const total = new Float64Array(c);
  const part = new Float64Array(c);
  for (let r0 = 0; r0 < rows; r0 += ROWS_PER_CHUNK) {
    part.fill(0);
    const r1 = Math.min(rows, r0 + ROWS_PER_CHUNK);
    for (let r = r0, i = r0 * c; r < r1; r++) for (let j = 0; j < c; j++, i++) part[j]! += f(i);
    for (let j = 0; j < c; j++) total[j]! += part[j]!;
  }
  return total;
}

const reluMask = (g: number, y: number) => g * (y > 0 ? 1 : y <= 0 ? 0 : Number.NaN);

/** The forward kernel as JS loops on the wasm heap (the native kernel's fallback; same arithmetic). */
export function batchNormTrainForwardByLoop(args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo[] {
  const { x, gamma, beta } = args.inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const { epsilon, relu } = args.attrs as unknown as BatchNormTrainAttrs;
  const c = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  return onHeap(args.backend, [x, gamma, beta], [[...x.shape], [c], [c]], ([xs, g, b], [y, meanOut, varOut]) => {
    const mean = channelSums(rows, c, (i) => xs![i]!).map((s) => s / rows);
    const variance = channelSums(rows, c, (i) => xs![i]! * xs![i]!).map((s, j) => Math.max(s / rows - mean[j]! * mean[j]!, 0));
    const k = Float32Array.from(variance, (v, j) => g![j]! / Math.sqrt(v + epsilon));
    const m = Float32Array.from(mean);
    for (let i = 0; i < xs!.length; i++) {
      const j = i % c;
      const v = Math.fround(Math.fround(xs![i]! - m[j]!) * k[j]!) + b![j]!;
      y![i] = relu && v < 0 ? 0 : v;
    }
    meanOut!.set(m);
    varOut!.set(variance);
  });
}

/** The backward kernel as JS loops (the native kernel's fallback). */
export function batchNormTrainBackwardByLoop(args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo[] {
  const ins = args.inputs as Record<'dy' | 'x' | 'y' | 'gamma' | 'mean' | 'variance' | 'dmean' | 'dvariance', TensorInfo>;
  const { epsilon, relu } = args.attrs as unknown as BatchNormTrainAttrs;
  const c = ins.x.shape[ins.x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(ins.x.shape) / c;
  const order = [ins.dy, ins.x, ins.y, ins.gamma, ins.mean, ins.variance, ins.dmean, ins.dvariance];
  return onHeap(args.backend, order, [[...ins.x.shape], [c], [c]], ([dy, x, y, gamma, mean, variance, dmean, dvar], [dx, dgamma, dbeta]) => {
    const g = (i: number) => (relu ? reluMask(dy![i]!, y![i]!) : dy![i]!);
    const sg = channelSums(rows, c, g);
    const sgx = channelSums(rows, c, (i) => g(i) * Math.fround(x![i]! - mean![i % c]!));
    const a = new Float32Array(c);
    const bx = new Float32Array(c);
    const d = new Float32Array(c);
    for (let j = 0; j < c; j++) {
      const s = 1 / Math.sqrt(variance![j]! + epsilon);
      const dg = sgx[j]! * s;
      dbeta![j] = sg[j]!;
      dgamma![j] = dg;
      const A = gamma![j]! * s;
      const B = (-A * s * dg) / rows + (2 * dvar![j]!) / rows;
      a[j] = A;
      bx[j] = B;
      d[j] = (-A * sg[j]!) / rows + dmean![j]! / rows - B * mean![j]!;
    }
    for (let i = 0; i < dx!.length; i++) {
      const j = i % c;
      dx![i] = Math.fround(a[j]! * g(i)) + Math.fround(bx[j]! * x![i]!) + d[j]!;
    }
  });
}
