/**
 * Batch-hard triplet loss (Hermans et al. 2017; BoT re-ID). The paper uses SupCon instead (Fig. 3 compares
 * the two); provided for that comparison. Euclidean distances `d_ij = sqrt(max(‖x_i − x_j‖², 1e-12))`:
 *
 *   d⁺_i = max_{j: y_j = y_i} d_ij     (hardest positive; includes i itself, whose distance is ≈ 0)
 *   d⁻_i = min_{j: y_j ≠ y_i} d_ij     (hardest negative)
 *   ℓ_i = max(0, d⁺_i − d⁻_i + m)   or, with softMargin, log(1 + exp(d⁺_i − d⁻_i))
 *   L = mean of ℓ_i over anchors that have at least one negative in the batch (0 if none has)
 */
import { tf } from '@clip-senet/core';
import { assertLabels, assertMatrix, l2Normalize, pairwiseSquaredDistances, sameLabelMask, type LossTerm } from './common';

/** Options of {@link batchHardTripletLoss}. */
export interface TripletOptions {
  /** Margin m of the hinge (default 0.3, BoT). Ignored with `softMargin`. */
  readonly margin?: number;
  /** Soft-margin form `softplus(d⁺ − d⁻)` instead of the hinge (default false). */
  readonly softMargin?: boolean;
  /** L2-normalise features before measuring distances (default false). */
  readonly normalizeFeatures?: boolean;
  /** Name the term is logged under (default `'triplet'`). */
  readonly name?: string;
}

const BIG = 1e6;

/** Batch-hard triplet loss of `features` [N, D] with integer `labels` [N]. */
export function batchHardTripletLoss(features: tf.Tensor2D, labels: tf.Tensor1D, opts: TripletOptions = {}): LossTerm {
  const margin = opts.margin ?? 0.3;
  if (!(margin >= 0)) throw new Error(`batchHardTripletLoss: margin must be ≥ 0, got ${margin}`);
  assertMatrix('batchHardTripletLoss', 'features', features);
  assertLabels('batchHardTripletLoss', labels, features.shape[0]);
  const value = tf.tidy(() => {
    const x = opts.normalizeFeatures ? l2Normalize(features) : features;
    const d = tf.sqrt(tf.maximum(pairwiseSquaredDistances(x), 1e-12)); // [N, N]
    const pos = sameLabelMask(labels);
    const neg = tf.sub(1, pos);
    const dPos = tf.max(tf.sub(tf.mul(d, pos), tf.mul(neg, BIG)), 1); // [N]
    const dNeg = tf.min(tf.add(tf.mul(d, neg), tf.mul(pos, BIG)), 1); // [N]
    const gap = tf.sub(dPos, dNeg);
    const per = opts.softMargin ? tf.softplus(gap) : tf.relu(tf.add(gap, margin));
    const valid = tf.cast(tf.greater(tf.sum(neg, 1), 0), 'float32'); // anchors with a negative
    return tf.div(tf.sum(tf.mul(per, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
  return { name: opts.name ?? 'triplet', value };
}
