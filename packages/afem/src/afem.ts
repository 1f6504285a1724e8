/**
 * AFEM — Adaptive Fine-grained Enhancement Module (CLIP-SENet, Eq. 4):
 *
 *   h      = ReLU(BN(Linear_{dIn→dOut}(T_s)))                 [N, dOut]
 *   h_g    = h split into G groups of dOut/G channels          [N, G, dOut/G]
 *   w(h)   = h_g ⊙ w_g, w_g ~ N(0, 1) learnable               [N, G, dOut/G] → [N, dOut]
 *   T_s'   = h + w(h)          (residual; knob)                [N, dOut]
 *
 * `w_g` is one scalar per group (`weightMode: 'scalar'`, [G]) or one value per channel of the group
 * (`'vector'`, [G, dOut/G]); the paper is ambiguous (see PAPER.md). No squeeze-excitation gate is used,
 * since the paper describes none.
 *
 * Tensors: `fc.weight` [dIn, dOut], `fc.bias` [dOut], `bn.weight`/`bn.bias` [dOut],
 * buffers `bn.running_mean`/`bn.running_var` [dOut], `group_weight` [G] or [G, dOut/G].
 */
import { BatchNorm1d, Linear, Module, normalArray, tf, type ForwardOptions, type Rng } from '@clip-senet/core';
import type { AfemConfig } from './config';

/** Options of {@link Afem}: the input width plus a validated AFEM config (`buildAfem` validates a literal). */
export interface AfemOptions extends AfemConfig {
  /** Width of the semantic feature T_s (paper: 512, the projected CLIP image embedding). */
  readonly inDim: number;
}

/** The AFEM module (Eq. 4). Build with `buildAfem(knobs, inDim, rng)`, or `new Afem({ inDim, ...validatedConfig }, rng)`. */
export class Afem extends Module {
  readonly inDim: number;
  readonly outDim: number;
  readonly groups: number;
  readonly weightMode: 'scalar' | 'vector';
  readonly residual: boolean;
  private readonly fc: Linear;
  private readonly bn: BatchNorm1d;

  constructor(opts: AfemOptions, rng: Rng) {
    super();
    const { inDim, ...c } = opts; // a validated config: constructors never parse (see core's validated)
    if (!Number.isInteger(inDim) || inDim <= 0) throw new Error(`AFEM inDim must be a positive integer, got ${inDim}`);
    if (c.dOut % c.groups !== 0) {
      throw new Error(`AFEM: dOut (${c.dOut}) must be divisible by groups (${c.groups}); got remainder ${c.dOut % c.groups}`);
    }
    this.inDim = inDim;
    this.outDim = c.dOut;
    this.groups = c.groups;
    this.weightMode = c.weightMode;
    this.residual = c.residual;
    this.fc = this.addChild('fc', new Linear({ inDim, outDim: c.dOut }, rng));
    this.bn = this.addChild('bn', new BatchNorm1d({ dim: c.dOut, momentum: c.bnMomentum, eps: c.bnEps }));
    const shape = c.weightMode === 'scalar' ? [c.groups] : [c.groups, c.dOut / c.groups];
    this.addParam('group_weight', normalArray(shape.reduce((a, b) => a * b, 1), rng), shape);
  }

  /** Channels per group (dOut / G). */
  get groupSize(): number {
    return this.outDim / this.groups;
  }

  /** T_s [N, inDim] → T_s' [N, outDim]. */
  forward(ts: tf.Tensor2D, opts?: ForwardOptions): tf.Tensor2D {
    if (ts.rank !== 2 || ts.shape[1] !== this.inDim) throw new Error(`AFEM: expected T_s [N, ${this.inDim}], got [${ts.shape}]`);
    const training = this.isTraining(opts);
    return tf.tidy(() => {
      const h = tf.relu(this.bn.forward(this.fc.forward(ts), { training })) as tf.Tensor2D;
      const n = h.shape[0];
      const hg = tf.reshape(h, [n, this.groups, this.groupSize]); // [N, dOut] → [N, G, dOut/G]
      const w = this.t('group_weight');
      const wb = this.weightMode === 'scalar'
        ? tf.reshape(w, [1, this.groups, 1]) // [G] → [1, G, 1]
        : tf.reshape(w, [1, this.groups, this.groupSize]); // [G, dOut/G] → [1, G, dOut/G]
      const weighted = tf.reshape(tf.mul(hg, wb), [n, this.outDim]); // [N, G, dOut/G] → [N, dOut]
      return (this.residual ? tf.add(h, weighted) : weighted) as tf.Tensor2D;
    });
  }
}
