/**
 * The two layers the fusion head and the model's BNNeck / classifier are built from, beside their base
 * {@link Module}: a fully connected layer and BatchNorm1d, with PyTorch
 * semantics (nn.Linear default init; BN momentum 0.1, eps 1e-5, biased batch variance for normalisation and
 * unbiased variance for the running estimate). Written in functional tfjs style; moments are computed as
 * `mean(square(x − mean))` because the broadcasting squaredDifference gradient is broken in tfjs 4.22.
 */
import { tf } from './tf';
import type { Rng } from './rng';
import { Module, uniformArray, type ForwardOptions } from './module';

/** Options of {@link Linear}. */
export interface LinearOptions {
  readonly inDim: number;
  readonly outDim: number;
  /** Learn an additive bias (default true). */
  readonly bias?: boolean;
}

function assertDim(what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${n}`);
}

/**
 * `y = x · W + b`, W `[in, out]` (tfjs layout; PyTorch stores `[out, in]`). Initialised like PyTorch's
 * `nn.Linear`: W and b ~ U(−1/√in, 1/√in), drawn from the seeded `rng`.
 * Tensors: `weight` [in, out], `bias` [out].
 */
export class Linear extends Module {
  readonly inDim: number;
  readonly outDim: number;

  constructor(opts: LinearOptions, rng: Rng) {
    super();
    assertDim('Linear inDim', opts.inDim);
    assertDim('Linear outDim', opts.outDim);
    this.inDim = opts.inDim;
    this.outDim = opts.outDim;
    const bound = 1 / Math.sqrt(opts.inDim);
    this.addParam('weight', uniformArray(opts.inDim * opts.outDim, rng, -bound, bound), [opts.inDim, opts.outDim]);
    if (opts.bias ?? true) this.addParam('bias', uniformArray(opts.outDim, rng, -bound, bound), [opts.outDim]);
  }

  /** [N, in] → [N, out]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inDim) throw new Error(`Linear: expected input [N, ${this.inDim}], got [${x.shape}]`);
    return tf.tidy(() => {
      const y = tf.matMul(x, this.t('weight') as tf.Tensor2D);
      const b = this.params.get('bias');
      return (b ? tf.add(y, b) : y) as tf.Tensor2D;
    });
  }
}

/** Options of {@link BatchNorm1d}. */
export interface BatchNormOptions {
  readonly dim: number;
  /** Running-stat update factor (PyTorch default 0.1). */
  readonly momentum?: number;
  /** Variance epsilon (PyTorch default 1e-5). */
  readonly eps?: number;
}

/**
 * BatchNorm1d over the feature axis of [N, C]. Train mode: normalise with the batch mean and biased
 * variance, and update `running_mean` / `running_var` in place
 * (`r ← (1 − m)·r + m·stat`, the variance estimate unbiased by N/(N−1), as PyTorch). Eval mode: running stats.
 * Tensors: `weight` [C] (=1), `bias` [C] (=0), buffers `running_mean` [C] (=0), `running_var` [C] (=1).
 */
export class BatchNorm1d extends Module {
  readonly dim: number;
  readonly momentum: number;
  readonly eps: number;

  constructor(opts: BatchNormOptions) {
    super();
    assertDim('BatchNorm1d dim', opts.dim);
    this.dim = opts.dim;
    this.momentum = opts.momentum ?? 0.1;
    this.eps = opts.eps ?? 1e-5;
    this.addParam('weight', new Float32Array(opts.dim).fill(1), [opts.dim]);
    this.addParam('bias', new Float32Array(opts.dim), [opts.dim]);
    this.addBuffer('running_mean', new Float32Array(opts.dim), [opts.dim]);
    this.addBuffer('running_var', new Float32Array(opts.dim).fill(1), [opts.dim]);
  }

  /** [N, C] → [N, C]. Train mode needs N ≥ 2 (as PyTorch: one sample has no batch variance). */
  forward(x: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.dim) throw new Error(`BatchNorm1d: expected input [N, ${this.dim}], got [${x.shape}]`);
    if (this.isTraining(opts) && x.shape[0] < 2) {
      throw new Error(`BatchNorm1d: train mode needs more than 1 sample per batch, got N = ${x.shape[0]} (use eval mode)`);
    }
    const gamma = this.t('weight');
    const beta = this.t('bias');
    const rm = this.t('running_mean');
    const rv = this.t('running_var');
    if (this.isTraining(opts)) {
      return tf.tidy(() => {
        const n = x.shape[0];
        const mean = tf.mean(x, 0); // [N, C] → [C]
        const centered = tf.sub(x, mean);
        const variance = tf.mean(tf.square(centered), 0); // biased, [C]
        const m = this.momentum;
        rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(mean, m)));
        rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(variance, (m * n) / Math.max(n - 1, 1))));
        return tf.add(tf.mul(centered, tf.mul(gamma, tf.rsqrt(tf.add(variance, this.eps)))), beta) as tf.Tensor2D;
      });
    }
    return tf.tidy(() => {
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(rv, this.eps)));
      return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(rm, scale))) as tf.Tensor2D;
    });
  }
}
