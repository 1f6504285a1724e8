/**
 * Center loss (Wen et al. 2016; BoT re-ID). Not used by the paper (CE + SupCon only); provided as a knob.
 * One learnable center per class, `c` [K, D], initialised N(0, 1) from the seeded Rng (as the reference
 * implementation's `torch.randn`):
 *
 *   L = (1/N) Σ_i ‖x_i − c_{y_i}‖²
 *
 * (mean over the batch, no ½ — the KaiyangZhou/BoT convention). Centers are trainable parameters here: the
 * engine decides their optimiser (BoT uses a separate SGD with lr 0.5 and rescales their gradient by 1/weight).
 * Rows are gathered as `oneHot(y) · c` so the gradient is a matMul (the gather gradient is missing on wasm).
 */
import { tf, type Rng } from '@clip-senet/core';
import { assertLabels, assertMatrix, type LossTerm } from './common';

/** Options of {@link CenterLoss}. */
export interface CenterLossOptions {
  readonly numClasses: number;
  readonly featureDim: number;
  /** Name the term is logged under and prefix of its parameter (default `'center'`). */
  readonly name?: string;
}

/** Center loss with its centers as a trainable variable `centers` [numClasses, featureDim]. */
export class CenterLoss {
  readonly name: string;
  readonly numClasses: number;
  readonly featureDim: number;
  /** Trainable variables by stable name (`centers`). */
  readonly params = new Map<string, tf.Variable>();

  constructor(opts: CenterLossOptions, rng: Rng) {
    for (const [k, v] of [['numClasses', opts.numClasses], ['featureDim', opts.featureDim]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`CenterLoss: ${k} must be a positive integer, got ${v}`);
    }
    this.name = opts.name ?? 'center';
    this.numClasses = opts.numClasses;
    this.featureDim = opts.featureDim;
    const data = new Float32Array(opts.numClasses * opts.featureDim);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal();
    const init = tf.tensor2d(data, [opts.numClasses, opts.featureDim]);
    this.params.set('centers', tf.variable(init, true));
    init.dispose();
  }

  /** The centers variable [K, D]. */
  get centers(): tf.Variable {
    const c = this.params.get('centers');
    if (!c) throw new Error('CenterLoss: disposed');
    return c;
  }

  /** Loss of `features` [N, D] with integer `labels` [N] in [0, K). */
  compute(features: tf.Tensor2D, labels: tf.Tensor1D): LossTerm {
    assertMatrix('CenterLoss', 'features', features);
    const [n, d] = features.shape;
    if (d !== this.featureDim) throw new Error(`CenterLoss: features must be [N, ${this.featureDim}], got [${features.shape}]`);
    assertLabels('CenterLoss', labels, n);
    const value = tf.tidy(() => {
      const hot = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), this.numClasses), 'float32') as tf.Tensor2D; // [N] → [N, K]
      const c = tf.matMul(hot, this.centers as tf.Tensor2D); // [N, D]
      return tf.div(tf.sum(tf.square(tf.sub(features, c))), n) as tf.Scalar;
    });
    return { name: this.name, value };
  }

  /** Free the centers. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
