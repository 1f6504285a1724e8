/**
 * Shared pieces of the loss functions: the named-scalar result type, L2 normalisation and label masks.
 * Functional tfjs style only; no StridedSlice and no broadcasting squaredDifference (broken gradients).
 */
import { tf } from '@clip-senet/core';

/** What every loss returns: a scalar and the name it is logged under. */
export interface LossTerm {
  readonly name: string;
  readonly value: tf.Scalar;
}

/** Rows scaled to unit L2 norm: `x / max(‖x‖, 1e-6)` (gradient-safe for zero rows). [N, D] → [N, D]. */
export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), 1, true); // [N, 1]
    return tf.mul(x, tf.rsqrt(tf.maximum(sq, 1e-12))) as tf.Tensor2D;
  });
}

/** `M_ij = 1` where `labels_i == labels_j` (float32), [N] → [N, N]. */
export function sameLabelMask(labels: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const n = labels.shape[0];
    const a = tf.reshape(labels, [n, 1]); // [N] → [N, 1]
    const b = tf.reshape(labels, [1, n]); // [N] → [1, N]
    return tf.cast(tf.equal(a, b), 'float32') as tf.Tensor2D;
  });
}

/** Squared Euclidean distances `‖x_i − x_j‖²` via `‖x_i‖² + ‖x_j‖² − 2 x_i·x_j`, clamped ≥ 0. [N, D] → [N, N]. */
export function pairwiseSquaredDistances(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const sq = tf.sum(tf.square(x), 1); // [N]
    const gram = tf.matMul(x, x, false, true); // [N, N]
    const d2 = tf.sub(tf.add(tf.reshape(sq, [n, 1]), tf.reshape(sq, [1, n])), tf.mul(gram, 2)); // [N,1]+[1,N] → [N,N]
    return tf.maximum(d2, 0) as tf.Tensor2D;
  });
}

/** Check `labels` is [N] and matches the batch size `n`. */
export function assertLabels(where: string, labels: tf.Tensor, n: number): void {
  if (labels.rank !== 1 || labels.shape[0] !== n) throw new Error(`${where}: labels must be [${n}], got [${labels.shape}]`);
}

/** Check `x` is a rank-2 [N, D] tensor. */
export function assertMatrix(where: string, what: string, x: tf.Tensor): void {
  if (x.rank !== 2) throw new Error(`${where}: ${what} must be [N, D], got [${x.shape}]`);
}
