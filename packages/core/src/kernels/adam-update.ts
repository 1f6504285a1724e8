/**
 * One Adam(W) update as one op (issue 13): `adamUpdate(p, m, v, g, hyper)` returns the new parameter and moments.
 * As tf ops the update is ~10 weight-sized kernels per parameter (engine's optimizer.ts; ~700 kernel calls per step
 * of the bench ResNet); the fused kernel `ClipSenetAdamUpdate` (wasm with @clip-senet/native) is one pass that
 * reproduces that float32 op chain **bitwise**: the same operations in the same order on the same float32 scalars,
 * compiled without FMA contraction. Where the kernel is not registered the op is the tf-op chain itself.
 *
 *   g' = g + p·wd (Adam, wd > 0);  m' = m·β1 + g'·(1 − β1);  v' = v·β2 + (g'·g')·(1 − β2);
 *   p' = (AdamW, wd > 0 ? p·(1 − lr·wd) : p) − (m' / (√v' / √(1 − β2ᵗ) + ε)) · lr / (1 − β1ᵗ).
 */
import { tf } from '../tf';
import { type KernelBackend, type TensorInfo, readFloat32 } from './compose';

/** Custom kernel name. */
export const ADAM_UPDATE_KERNEL = 'ClipSenetAdamUpdate';

/** Hyper-parameters of one update (t: the 1-based step number). */
export interface AdamUpdateHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** 1-based step count (bias corrections). */
  readonly t: number;
  /** Weight decay for this parameter (0: none). */
  readonly weightDecay: number;
  /** AdamW: decoupled shrinkage instead of L2 in the gradient. */
  readonly decoupled: boolean;
}

/** New parameter and moments. */
export interface AdamUpdateResult {
  readonly p: tf.Tensor;
  readonly m: tf.Tensor;
  readonly v: tf.Tensor;
}

/**
 * The float32 scalars of the op chain, in the kernel's order: [β1, 1 − β1, β2, 1 − β2, √(1 − β2ᵗ), ε, lr/(1 − β1ᵗ),
 * l2, shrink] (each computed in float64, then rounded, as tfjs rounds a JS number scalar).
 */
export function adamHyperVector(h: AdamUpdateHyper): Float32Array {
  const l2 = h.weightDecay > 0 && !h.decoupled ? h.weightDecay : 0;
  const shrink = h.weightDecay > 0 && h.decoupled ? 1 - h.lr * h.weightDecay : 1;
  return Float32Array.from([h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, Math.sqrt(1 - h.beta2 ** h.t), h.eps, h.lr / (1 - h.beta1 ** h.t), l2, shrink]);
}

/** The update as tf ops (engine's Adam as it was; the path where the kernel is not registered). */
export function adamUpdateComposed(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g0: tf.Tensor, h: AdamUpdateHyper): AdamUpdateResult {
  const bc1 = 1 - h.beta1 ** h.t;
  const bc2Sqrt = Math.sqrt(1 - h.beta2 ** h.t);
  const wd = h.weightDecay;
  const g = wd > 0 && !h.decoupled ? tf.add(g0, tf.mul(p, wd)) : g0;
  const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
  const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.mul(g, g), 1 - h.beta2));
  const denom = tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), h.eps);
  const base = wd > 0 && h.decoupled ? tf.mul(p, 1 - h.lr * wd) : p;
  return { p: tf.sub(base, tf.mul(tf.div(m1, denom), h.lr / bc1)), m: m1, v: v1 };
}

/**
 * One Adam(W) step: the fused kernel where the backend has it and all four tensors are float32 of one shape, else
 * {@link adamUpdateComposed}. Not differentiable (an optimiser step).
 */
export function adamUpdate(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, h: AdamUpdateHyper): AdamUpdateResult {
  const fused =
    tf.getKernel(ADAM_UPDATE_KERNEL, tf.getBackend()) != null &&
    [p, m, v, g].every((t) => t.dtype === 'float32' && tf.util.arraysEqual(t.shape, p.shape)) &&
    p.size > 0;
  if (!fused) return adamUpdateComposed(p, m, v, g, h);
  const [p1, m1, v1] = tf.engine().runKernel(ADAM_UPDATE_KERNEL, { p, m, v, g }, { hyper: Array.from(adamHyperVector(h)) }) as tf.Tensor[];
  return { p: p1!, m: m1!, v: v1! };
}

interface HeapBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
}

/** The kernel as one JS loop on the wasm heap (the native kernel's fallback): Math.fround after every operation. */
export function adamUpdateByLoop(args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo[] {
  const { p, m, v, g } = args.inputs as Record<'p' | 'm' | 'v' | 'g', TensorInfo>;
  const [b1, nb1, b2, nb2, bc2, eps, step, l2, shrink] = (args.attrs as unknown as { hyper: number[] }).hyper.map(Math.fround) as number[] as [number, number, number, number, number, number, number, number, number];
  const heap = args.backend as HeapBackend;
  const outs = [0, 1, 2].map(() => heap.makeOutput([...p.shape], 'float32')); // allocate first: growth detaches views
  const [ps, ms, vs, gs] = [p, m, v, g].map((t) => readFloat32(args.backend, t)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const [po, mo, vo] = outs.map((o) => heap.typedArrayFromHeap(o) as Float32Array) as [Float32Array, Float32Array, Float32Array];
  const f = Math.fround;
  for (let i = 0; i < ps.length; i++) {
    const gi = l2 !== 0 ? f(gs[i]! + f(ps[i]! * l2)) : gs[i]!;
    const m1 = f(f(ms[i]! * b1) + f(gi * nb1));
    const v1 = f(f(vs[i]! * b2) + f(f(gi * gi) * nb2));
    const denom = f(f(f(Math.sqrt(v1)) / bc2) + eps);
    const base = shrink !== 1 ? f(ps[i]! * shrink) : ps[i]!;
    mo[i] = m1;
    vo[i] = v1;
    po[i] = f(base - f(f(m1 / denom) * step));
  }
  return outs;
}
