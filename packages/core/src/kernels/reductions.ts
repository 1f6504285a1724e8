/**
 * Fast float32 Sum/Mean over a contiguous block of non-trailing axes on wasm.
 *
 * This is the reduction every BatchNorm statistic, BatchNorm gradient and global average pool does
 * on NHWC tensors ([N,H,W,C] over [0,1,2]). tfjs-wasm transposes the whole tensor first (≈ 25 ms for
 * 2 M elements); an XNNPACK GEMM with a row of ones is fast only when its right operand is reused,
 * because it repacks that operand (here: a fresh activation) on every call. A single streaming pass
 * over the wasm heap — rows of `post` contiguous values added into float64 accumulators — is both
 * fast and accurate. Trailing-axis, non-contiguous and non-float32 reductions use the original.
 */
import { tf } from '../tf';
import type { KernelBackend, TensorInfo } from './compose';

interface HeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
}

/** [pre, mid, post] view of `shape` when `axes` are one contiguous block that is not trailing. */
export function blockView(shape: readonly number[], axes: readonly number[]): [number, number, number] | null {
  if (axes.length === 0) return null;
  const sorted = [...axes].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]! + 1) return null;
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  const prod = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  const post = prod(last + 1, shape.length);
  if (post === 1) return null; // trailing reduction: the stock kernel is already contiguous
  return [prod(0, first), prod(first, last + 1), post];
}

/** The output shape of reducing `axes` of `shape`. */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const set = new Set(axes);
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/**
 * out[p, q] = scale · Σ_m x[p, m, q] for a row-major [pre, mid, post] array. Rows are consumed 8 at
 * a time (pairwise-added in float32, then accumulated in float64) to cut accumulator traffic.
 */
export function reduceMiddle(x: Float32Array, pre: number, mid: number, post: number, scale: number, out: Float32Array): void {
  const acc = new Float64Array(post);
  const s1 = post;
  const s2 = 2 * post;
  const s3 = 3 * post;
  const s4 = 4 * post;
  const s5 = 5 * post;
  const s6 = 6 * post;
  const s7 = 7 * post;
  for (let p = 0; p < pre; p++) {
    acc.fill(0);
    let base = p * mid * post;
    let m = 0;
    for (; m + 8 <= mid; m += 8, base += 8 * post) {
      for (let q = 0; q < post; q++) {
        const b = base + q;
        acc[q]! += x[b]! + x[b + s1]! + (x[b + s2]! + x[b + s3]!) + (x[b + s4]! + x[b + s5]! + (x[b + s6]! + x[b + s7]!));
      }
    }
    for (; m < mid; m++, base += post) {
      for (let q = 0; q < post; q++) acc[q]! += x[base + q]!;
    }
    const o = p * post;
    for (let q = 0; q < post; q++) out[o + q] = acc[q]! * scale;
  }
}

/** Wraps the Sum ('sum') or Mean ('mean') kernel of the wasm backend. */
export function streamingReduction(kind: 'sum' | 'mean', original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return original(args) as TensorInfo;
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const view = blockView(x.shape, axes);
    if (view == null) return original(args) as TensorInfo;
    const [pre, mid, post] = view;
    const backend = args.backend as HeapBackend;
    const out = backend.makeOutput(reducedShape(x.shape, axes, keepDims), 'float32');
    reduceMiddle(backend.typedArrayFromHeap(x) as Float32Array, pre, mid, post, kind === 'mean' ? 1 / mid : 1, backend.typedArrayFromHeap(out) as Float32Array);
    return out;
  };
}
