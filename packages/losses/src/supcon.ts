/**
 * Supervised contrastive loss (Khosla et al. 2020, "SupCon", the L_out form; paper: L_SupCon on the final
 * feature, 1:1 with CE). Features are L2-normalised first (`z = f / ‖f‖`):
 *
 *   s_ij = z_i·z_j / τ
 *   log p_ij = s_ij − log Σ_{k≠i} exp(s_ik)
 *   ℓ_i = −(τ / τ_base) · (1/|P(i)|) Σ_{p∈P(i)} log p_ip,     P(i) = {p ≠ i : y_p = y_i}
 *   L = mean of ℓ_i over anchors with |P(i)| > 0
 *
 * Anchors with no positive in the batch are excluded from the mean (the reference code would divide by 0);
 * a batch with no positive pair at all gives L = 0. τ_base = τ makes the factor 1 (reference default:
 * both 0.07). Rows are shifted by their max over k ≠ i before exp (exactly cancels; avoids underflow at small τ).
 */
import { tf } from '@clip-senet/core';
import { assertLabels, assertMatrix, l2Normalize, sameLabelMask, type LossTerm } from './common';

/** Options of {@link supConLoss}. */
export interface SupConOptions {
  /** Temperature τ (default 0.07; the paper does not give it). */
  readonly temperature?: number;
  /** Base temperature τ_base of the reference implementation (default 0.07 → factor τ/τ_base = 1 at τ = 0.07). */
  readonly baseTemperature?: number;
  /** Name the term is logged under (default `'supcon'`). */
  readonly name?: string;
}

/** SupCon of `features` [N, D] (normalised inside) with integer `labels` [N]. */
export function supConLoss(features: tf.Tensor2D, labels: tf.Tensor1D, opts: SupConOptions = {}): LossTerm {
  const tau = opts.temperature ?? 0.07;
  const base = opts.baseTemperature ?? 0.07;
  if (!(tau > 0) || !(base > 0)) throw new Error(`supConLoss: temperatures must be > 0, got τ=${tau}, τ_base=${base}`);
  assertMatrix('supConLoss', 'features', features);
  const n = features.shape[0];
  assertLabels('supConLoss', labels, n);
  const value = tf.tidy(() => {
    const z = l2Normalize(features);
    const s = tf.div(tf.matMul(z, z, false, true), tau); // [N, N]
    const notSelf = tf.sub(1, tf.eye(n)); // [N, N]
    const pos = tf.mul(sameLabelMask(labels), notSelf);
    const rowMax = tf.max(tf.sub(s, tf.mul(tf.sub(1, notSelf), 1e9)), 1, true); // max over k ≠ i, [N, 1]
    const shifted = tf.sub(s, rowMax);
    const logDen = tf.log(tf.sum(tf.mul(tf.exp(shifted), notSelf), 1, true)); // [N, 1]
    const logProb = tf.sub(shifted, logDen); // [N, N]
    const numPos = tf.sum(pos, 1); // [N]
    const meanLogProbPos = tf.div(tf.sum(tf.mul(pos, logProb), 1), tf.maximum(numPos, 1)); // [N]
    const valid = tf.cast(tf.greater(numPos, 0), 'float32');
    const perAnchor = tf.mul(meanLogProbPos, -(tau / base));
    return tf.div(tf.sum(tf.mul(perAnchor, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
  return { name: opts.name ?? 'supcon', value };
}
