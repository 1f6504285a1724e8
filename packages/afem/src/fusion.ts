/**
 * Fusion of the appearance feature T_a [N, dA] and the semantic feature T_s [N, dS] into T [N, outDim]
 * (CLIP-SENet Eq. 5 and the ablation variants). One parameterised implementation; the variant is data:
 *
 * - `clip-senet`      T = FC([T_s; T_a]) + AFEM(T_s)                         (paper, Eq. 5)
 * - `concat-fc`       T = FC([T_s; T_a])                                      (Table IV row 2, +SEM w/o AFEM)
 * - `sum`             T = P_a(T_a) + P_s(T_s)
 * - `gated`           g = σ(FC_g([T_s; T_a])),  T = g ⊙ P_s(T_s) + (1 − g) ⊙ P_a(T_a)
 * - `appearance-only` T = P_a(T_a)                                            (Table IV row 1 baseline)
 * - `semantic-only`   T = AFEM(T_s)  (or P_s(T_s) with `useAfem: false`)
 *
 * P_x is the identity when branch x already has outDim channels, else a Linear projection.
 * With a `cameraView` config, the SIE-style CV embedding is added last: T ← T + λ·(E_cam[c] + E_view[v]).
 * The concatenation order is [T_s; T_a] as written in the paper (matters only for checkpoint layouts).
 *
 * Tensors (present per variant): `fc.*` (FC over the concatenation, [dS + dA, outDim]), `afem.*`,
 * `proj_a.*`, `proj_s.*`, `gate.*`, `camera_view.camera`, `camera_view.view`.
 */
import { tf, type Rng } from '@clip-senet/core';
import { Afem } from './afem';
import { CameraViewEmbedding, type SideInfo } from './camera-view';
import { Component, type ForwardOptions } from './component';
import { FusionConfigSchema, type FusionConfig, type FusionConfigInput, type FusionName } from './config';
import { Linear } from './layers';

/** Branch widths, known only once the backbones are built (afem never imports them). */
export interface FusionDims {
  /** Width of T_a (paper: 2048, ResNeXt101-IBN-a after GAP). */
  readonly appearanceDim: number;
  /** Width of T_s (paper: 512, the projected CLIP image embedding). */
  readonly semanticDim: number;
}

/** Typed options of a fusion: branch widths plus its validated (or to-be-validated) config. */
export type FusionOptions = FusionDims & FusionConfigInput;

/** Inputs of {@link Fusion.forward}. */
export interface FusionInputs extends SideInfo {
  /** T_a [N, appearanceDim]. */
  readonly appearance: tf.Tensor2D;
  /** T_s [N, semanticDim]. */
  readonly semantic: tf.Tensor2D;
}

/** A fusion head; see the module header for the variants. */
export class Fusion extends Component<FusionInputs, tf.Tensor2D> {
  readonly name: FusionName;
  readonly config: FusionConfig;
  readonly appearanceDim: number;
  readonly semanticDim: number;
  readonly outDim: number;
  private readonly fc?: Linear;
  private readonly afem?: Afem;
  private readonly projA?: Linear;
  private readonly projS?: Linear;
  private readonly gate?: Linear;
  private readonly cameraView?: CameraViewEmbedding;

  constructor(opts: FusionOptions, rng: Rng) {
    super();
    const { appearanceDim, semanticDim, ...rest } = opts;
    for (const [k, v] of [['appearanceDim', appearanceDim], ['semanticDim', semanticDim]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`Fusion ${k} must be a positive integer, got ${v}`);
    }
    const c = FusionConfigSchema.parse(rest);
    this.name = c.name;
    this.config = c;
    this.appearanceDim = appearanceDim;
    this.semanticDim = semanticDim;
    this.outDim = c.outDim;
    const d = c.outDim;
    const proj = (prefix: string, inDim: number): Linear | undefined =>
      inDim === d ? undefined : this.addChild(prefix, new Linear({ inDim, outDim: d }, rng));
    switch (c.name) {
      case 'clip-senet':
        this.fc = this.addChild('fc', new Linear({ inDim: semanticDim + appearanceDim, outDim: d }, rng));
        this.afem = this.addChild('afem', new Afem({ inDim: semanticDim, dOut: d, ...c.afem }, rng));
        break;
      case 'concat-fc':
        this.fc = this.addChild('fc', new Linear({ inDim: semanticDim + appearanceDim, outDim: d }, rng));
        break;
      case 'sum':
        this.projA = proj('proj_a', appearanceDim);
        this.projS = proj('proj_s', semanticDim);
        break;
      case 'gated':
        this.projA = proj('proj_a', appearanceDim);
        this.projS = proj('proj_s', semanticDim);
        this.gate = this.addChild('gate', new Linear({ inDim: semanticDim + appearanceDim, outDim: d }, rng));
        tf.tidy(() => this.gate!.t('bias').assign(tf.fill([d], c.gateBiasInit)));
        break;
      case 'appearance-only':
        this.projA = proj('proj_a', appearanceDim);
        break;
      case 'semantic-only':
        if (c.useAfem) this.afem = this.addChild('afem', new Afem({ inDim: semanticDim, dOut: d, ...c.afem }, rng));
        else this.projS = proj('proj_s', semanticDim);
        break;
    }
    if (c.cameraView) this.cameraView = this.addChild('camera_view', new CameraViewEmbedding({ dim: d, ...c.cameraView }, rng));
  }

  /** (T_a [N, dA], T_s [N, dS], optional camera/view ids [N]) → T [N, outDim]. */
  forward(inputs: FusionInputs, opts?: ForwardOptions): tf.Tensor2D {
    const { appearance: ta, semantic: ts } = inputs;
    if (ta.rank !== 2 || ta.shape[1] !== this.appearanceDim) throw new Error(`Fusion '${this.name}': expected T_a [N, ${this.appearanceDim}], got [${ta.shape}]`);
    if (ts.rank !== 2 || ts.shape[1] !== this.semanticDim) throw new Error(`Fusion '${this.name}': expected T_s [N, ${this.semanticDim}], got [${ts.shape}]`);
    if (ta.shape[0] !== ts.shape[0]) throw new Error(`Fusion '${this.name}': batch sizes differ (T_a ${ta.shape[0]}, T_s ${ts.shape[0]})`);
    const training = this.isTraining(opts);
    return tf.tidy(() => {
      const t = this.fuse(ta, ts, training);
      return this.cameraView ? this.cameraView.forward({ features: t, cameraIds: inputs.cameraIds, viewIds: inputs.viewIds }) : t;
    });
  }

  private fuse(ta: tf.Tensor2D, ts: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const cat = (): tf.Tensor2D => tf.concat([ts, ta], 1); // [N, dS] ⊕ [N, dA] → [N, dS + dA]
    const pa = (): tf.Tensor2D => (this.projA ? this.projA.forward(ta) : ta);
    const ps = (): tf.Tensor2D => (this.projS ? this.projS.forward(ts) : ts);
    switch (this.name) {
      case 'clip-senet':
        return tf.add(this.fc!.forward(cat()), this.afem!.forward(ts, { training }));
      case 'concat-fc':
        return this.fc!.forward(cat());
      case 'sum':
        return tf.add(pa(), ps());
      case 'gated': {
        const g = tf.sigmoid(this.gate!.forward(cat()));
        return tf.add(tf.mul(g, ps()), tf.mul(tf.sub(1, g), pa()));
      }
      case 'appearance-only':
        return tf.clone(pa());
      case 'semantic-only':
        return this.afem ? this.afem.forward(ts, { training }) : tf.clone(ps());
    }
  }
}
