/**
 * CLIP symmetric InfoNCE (Radford et al. 2021), for pretraining the SEM on image–caption pairs. With
 * L2-normalised image and text embeddings `u_i`, `v_i` and scale `s = min(exp(t), maxScale)`:
 *
 *   z_ij = s · u_i·v_j
 *   L = ½ [ (1/N) Σ_i −log softmax_j(z_ij)_{j=i}  +  (1/N) Σ_j −log softmax_i(z_ij)_{i=j} ]
 *
 * `t` (the "logit scale") is a trainable scalar initialised to ln(1/0.07) (CLIP), or fixed with
 * `learnableScale: false`. CLIP clamps `t` to ln 100 after each step; here the forward pass uses
 * `min(t, ln maxScale)` instead (no gradient above the clamp), so no optimiser hook is needed.
 */
import { tf } from '@clip-senet/core';
import { assertMatrix, l2Normalize, type LossTerm } from './common';

/** Options of {@link ClipInfoNce}. */
export interface ClipInfoNceOptions {
  /** Learn the logit scale (default true, as CLIP). */
  readonly learnableScale?: boolean;
  /** Initial logit scale t (default ln(1/0.07) ≈ 2.659). */
  readonly initLogitScale?: number;
  /** Upper bound of exp(t) (default 100, as CLIP). */
  readonly maxScale?: number;
  /** Name the term is logged under and prefix of its parameter (default `'clip-infonce'`). */
  readonly name?: string;
}

/** Symmetric InfoNCE with a (learnable) logit scale; `params` holds `logit_scale` when learnable. */
export class ClipInfoNce {
  readonly name: string;
  readonly learnableScale: boolean;
  readonly maxScale: number;
  /** Trainable variables by stable name (`logit_scale` [] when learnable; empty otherwise). */
  readonly params = new Map<string, tf.Variable>();
  private readonly logitScale: tf.Variable;

  constructor(opts: ClipInfoNceOptions = {}) {
    this.name = opts.name ?? 'clip-infonce';
    this.learnableScale = opts.learnableScale ?? true;
    this.maxScale = opts.maxScale ?? 100;
    if (!(this.maxScale > 0)) throw new Error(`ClipInfoNce: maxScale must be > 0, got ${this.maxScale}`);
    const init = tf.scalar(opts.initLogitScale ?? Math.log(1 / 0.07));
    this.logitScale = tf.variable(init, this.learnableScale);
    init.dispose();
    if (this.learnableScale) this.params.set('logit_scale', this.logitScale);
  }

  /** Current scale `min(exp(t), maxScale)` (read asynchronously: the variable may live on a GPU). */
  async scale(): Promise<number> {
    return Math.min(Math.exp((await this.logitScale.data())[0]!), this.maxScale);
  }

  /** Loss of matched pairs: `image` [N, D] and `text` [N, D] (row i of each is a positive pair). */
  compute(image: tf.Tensor2D, text: tf.Tensor2D): LossTerm {
    assertMatrix('ClipInfoNce', 'image embeddings', image);
    assertMatrix('ClipInfoNce', 'text embeddings', text);
    if (image.shape[0] !== text.shape[0] || image.shape[1] !== text.shape[1]) {
      throw new Error(`ClipInfoNce: image [${image.shape}] and text [${text.shape}] embeddings must have the same shape`);
    }
    const n = image.shape[0];
    const value = tf.tidy(() => {
      const u = l2Normalize(image);
      const v = l2Normalize(text);
      const s = tf.exp(tf.minimum(this.logitScale, Math.log(this.maxScale)));
      const eye = tf.eye(n);
      const ce = (z: tf.Tensor2D): tf.Tensor => tf.neg(tf.div(tf.sum(tf.mul(tf.logSoftmax(z), eye)), n));
      const zImage = tf.mul(tf.matMul(u, v, false, true), s) as tf.Tensor2D; // image → text logits [N, N]
      const zText = tf.mul(tf.matMul(v, u, false, true), s) as tf.Tensor2D; // text → image logits [N, N] (= zImageᵀ)
      return tf.mul(tf.add(ce(zImage), ce(zText)), 0.5) as tf.Scalar;
    });
    return { name: this.name, value };
  }

  /** Free the scale variable. */
  dispose(): void {
    this.logitScale.dispose();
    this.params.clear();
  }
}
