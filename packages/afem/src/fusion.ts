/**
 * Fusion of the appearance feature T_a [N, dA] and the semantic feature T_s [N, dS] into T [N, outDim]
 * (CLIP-SENet Eq. 5 and the ablation variants). One implementation that runs the variant's entry in
 * ./fusion-variants (its parts and its computation, shared with the ONNX exporter):
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
import { Linear, Module, tf, type ForwardOptions, type Rng } from '@clip-senet/core';
import { Afem } from './afem';
import { CameraViewEmbedding, type SideInfo } from './camera-view';
import { boundVariant, type FusionConfig, type FusionDims, type FusionName, type FusionOps, type FusionPart } from './fusion-variants';

export type { FusionDims } from './fusion-variants';

/** Inputs of {@link Fusion.forward}. */
export interface FusionInputs extends SideInfo {
  /** T_a [N, appearanceDim]. */
  readonly appearance: tf.Tensor2D;
  /** T_s [N, semanticDim]; only for a variant that reads it (a model without a SEM has none to give). */
  readonly semantic?: tf.Tensor2D;
}

/** A fusion head; see the module header for the variants. */
export class Fusion extends Module {
  readonly name: FusionName;
  readonly config: FusionConfig;
  readonly appearanceDim: number;
  readonly semanticDim: number;
  readonly outDim: number;
  private readonly variant: ReturnType<typeof boundVariant>;
  private readonly linears = new Map<string, Linear>();
  private afemPart?: Afem;
  private readonly cameraView?: CameraViewEmbedding;

  /** `config` is validated (constructors never parse; `buildFusion` validates a literal); `dims` the branch widths. */
  constructor(config: FusionConfig, dims: FusionDims, rng: Rng) {
    super();
    const { appearanceDim, semanticDim } = dims;
    const c = config;
    this.variant = boundVariant(c);
    const reads = this.variant.variant.reads;
    if (!Number.isInteger(appearanceDim) || appearanceDim <= 0) throw new Error(`Fusion appearanceDim must be a positive integer, got ${appearanceDim}`);
    // a variant that ignores T_s (appearance-only) is built for a model without a SEM: semanticDim 0 says "none"
    if (!Number.isInteger(semanticDim) || semanticDim < (reads.semantic ? 1 : 0)) {
      throw new Error(`Fusion semanticDim must be a ${reads.semantic ? 'positive' : 'non-negative'} integer${reads.semantic ? ` (fusion '${c.name}' reads T_s)` : ''}, got ${semanticDim}`);
    }
    this.name = c.name;
    this.config = c;
    this.appearanceDim = appearanceDim;
    this.semanticDim = semanticDim;
    this.outDim = c.outDim;
    for (const part of this.variant.parts({ appearanceDim, semanticDim })) this.build(part, rng);
    if (c.cameraView) this.cameraView = this.addChild('camera_view', new CameraViewEmbedding({ dim: c.outDim, ...c.cameraView }, rng));
  }

  /** Builds one part under its tensor prefix (a projection of a branch that already has outDim channels is none). */
  private build(part: FusionPart, rng: Rng): void {
    const d = this.outDim;
    if (part.kind === 'afem') {
      const { afem } = this.config as Extract<FusionConfig, { afem: unknown }>;
      this.afemPart = this.addChild(part.prefix, new Afem({ inDim: part.inDim, dOut: d, ...afem }, rng));
      return;
    }
    if (part.kind === 'projection' && part.inDim === d) return;
    const linear = this.addChild(part.prefix, new Linear({ inDim: part.inDim, outDim: d }, rng));
    if (part.kind === 'linear' && part.biasInit !== undefined) tf.tidy(() => linear.t('bias').assign(tf.fill([d], part.biasInit!)));
    this.linears.set(part.prefix, linear);
  }

  /** (T_a [N, dA], T_s [N, dS], optional camera/view ids [N]) → T [N, outDim]. */
  forward(inputs: FusionInputs, opts?: ForwardOptions): tf.Tensor2D {
    const { appearance: ta, semantic: ts } = inputs;
    if (ta.rank !== 2 || ta.shape[1] !== this.appearanceDim) throw new Error(`Fusion '${this.name}': expected T_a [N, ${this.appearanceDim}], got [${ta.shape}]`);
    if (this.variant.variant.reads.semantic || ts !== undefined) {
      if (ts === undefined) throw new Error(`Fusion '${this.name}': reads T_s [N, ${this.semanticDim}], but no semantic feature was given`);
      if (ts.rank !== 2 || ts.shape[1] !== this.semanticDim) throw new Error(`Fusion '${this.name}': expected T_s [N, ${this.semanticDim}], got [${ts.shape}]`);
      if (ta.shape[0] !== ts.shape[0]) throw new Error(`Fusion '${this.name}': batch sizes differ (T_a ${ta.shape[0]}, T_s ${ts.shape[0]})`);
    }
    const training = this.isTraining(opts);
    return tf.tidy(() => {
      const t = this.variant.fuse(this.ops(ta, ts, training));
      return this.cameraView ? this.cameraView.forward({ features: t, cameraIds: inputs.cameraIds, viewIds: inputs.viewIds }) : t;
    });
  }

  /** The variant's operations on tfjs tensors. */
  private ops(ta: tf.Tensor2D, given: tf.Tensor2D | undefined, training: boolean): FusionOps<tf.Tensor2D> {
    const semantic = (): tf.Tensor2D => {
      if (!given) throw new Error(`Fusion '${this.name}': no semantic feature T_s`);
      return given;
    };
    const part = (prefix: string): Linear => {
      const l = this.linears.get(prefix);
      if (!l) throw new Error(`Fusion '${this.name}': no part '${prefix}'`);
      return l;
    };
    return {
      appearance: () => ta,
      semantic,
      concatSemanticAppearance: () => tf.concat([semantic(), ta], 1), // [N, dS] ⊕ [N, dA] → [N, dS + dA]
      linear: (prefix, x) => part(prefix).forward(x),
      projectAppearance: () => this.linears.get('proj_a')?.forward(ta) ?? ta,
      projectSemantic: () => this.linears.get('proj_s')?.forward(semantic()) ?? semantic(),
      afem: (x) => {
        if (!this.afemPart) throw new Error(`Fusion '${this.name}': no AFEM part`);
        return this.afemPart.forward(x, { training });
      },
      add: (a, b) => tf.add(a, b),
      mul: (a, b) => tf.mul(a, b),
      oneMinus: (x) => tf.sub(1, x),
      sigmoid: (x) => tf.sigmoid(x),
      output: (x) => tf.clone(x),
    };
  }
}
