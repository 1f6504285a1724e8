/**
 * Label-smoothed cross-entropy (paper: L_CE with ε = 0.1; Szegedy et al. 2016, as in BoT re-ID):
 *
 *   q_ik = (1 − ε)·[k = y_i] + ε / K,   L = −(1/N) Σ_i Σ_k q_ik · log softmax(z_i)_k
 *
 * ε = 0 is plain cross-entropy.
 */
import { tf } from '@clip-senet/core';
import { assertLabels, assertMatrix, type LossTerm } from './common';

/** Options of {@link crossEntropyLabelSmooth}. */
export interface CrossEntropyOptions {
  /** Smoothing ε in [0, 1) (default 0.1, the paper's value). */
  readonly epsilon?: number;
  /** Name the term is logged under (default `'cross-entropy'`). */
  readonly name?: string;
}

/** Label-smoothed CE of `logits` [N, K] against integer `labels` [N] in [0, K). */
export function crossEntropyLabelSmooth(logits: tf.Tensor2D, labels: tf.Tensor1D, opts: CrossEntropyOptions = {}): LossTerm {
  const eps = opts.epsilon ?? 0.1;
  if (!(eps >= 0 && eps < 1)) throw new Error(`crossEntropyLabelSmooth: epsilon must be in [0, 1), got ${eps}`);
  assertMatrix('crossEntropyLabelSmooth', 'logits', logits);
  const [n, k] = logits.shape;
  assertLabels('crossEntropyLabelSmooth', labels, n);
  const value = tf.tidy(() => {
    const logp = tf.logSoftmax(logits); // [N, K]
    const hot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), k), 'float32'); // [N] → [N, K]
    const q = tf.add(tf.mul(hot, 1 - eps), eps / k);
    return tf.neg(tf.div(tf.sum(tf.mul(q, logp)), n)) as tf.Scalar;
  });
  return { name: opts.name ?? 'cross-entropy', value };
}
