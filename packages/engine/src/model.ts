/**
 * CLIP-SENet model assembly (PAPER.md "Tensor walk-through"):
 * x_a ─ appearance CNN ─ T_a;  x_s ─ SEM (CLIP ViT image tower) ─ T_s;  T = fusion(T_a, T_s[, cam, view]);
 * optional BNNeck; bias-free classifier → logits (CE); retrieval / metric features pre- or post-BN (knobs).
 *
 * Each branch has its own input tensor (its size and normalisation, see `branchInputs`); with a frozen SEM
 * its variables are not trainable and it always runs in eval mode. The model is a core `Module` whose children are
 * the parts, adopted under their prefixes — `appearance.*`, `sem.*`, `fusion.*`, `neck.*`, `classifier.*` — so
 * `params` / `buffers` hold every tensor under its checkpoint key.
 */
import { BatchNorm1d, Linear, Module, tf, validated, type Rng } from '@clip-senet/core';
import type { Tensor1D, Tensor2D, Tensor4D, Variable } from '@clip-senet/core';
import { buildBackbone, type Backbone, type ClipVisionTransformer } from '@clip-senet/backbones';
import { buildFusion, fusionVariant, type Fusion } from '@clip-senet/afem';
import { ModelConfigSchema, type BranchInputConfig, type ModelConfig, type ModelConfigInput } from './model-config';

/** Inputs of one forward pass. */
export interface ModelInputs {
  /** Appearance-branch images [N, H, W, 3]. */
  readonly appearance: Tensor4D;
  /** SEM-branch images [N, H', W', 3] (required unless the model has no SEM). */
  readonly semantic?: Tensor4D;
  readonly cameraIds?: Tensor1D;
  readonly viewIds?: Tensor1D;
}

/** Outputs of one forward pass. */
export interface ModelOutputs {
  /** The retrieval feature (pre/post BN per config) [N, D]. */
  readonly features: Tensor2D;
  /** The feature for metric losses [N, D]. */
  readonly metricFeatures: Tensor2D;
  /** Classifier logits [N, #ids] (training only). */
  readonly logits?: Tensor2D;
}

/** Options of {@link buildModel}. */
export interface BuildModelOptions {
  /** Number of training identities (classifier width). */
  readonly numClasses: number;
  /** Seeded generator for every initial weight. */
  readonly rng: Rng;
  /** Where weight-loading reports go (default console.warn; null = silent). */
  readonly log?: ((line: string) => void) | null;
}

/** The assembled model. */
export class ClipSenetModel extends Module {
  readonly config: ModelConfig;
  readonly appearance: Backbone;
  readonly sem: ClipVisionTransformer | undefined;
  readonly fusion: Fusion;
  readonly bnneck: BatchNorm1d | undefined;
  readonly classifier: Linear;

  constructor(config: ModelConfig, opts: BuildModelOptions) {
    super();
    this.config = config;
    const { rng } = opts;
    const appearance = buildBackbone(config.appearance.backbone, { rng: rng.derive('appearance') });
    if (appearance.family !== 'cnn') throw new Error(`model: appearance backbone '${config.appearance.backbone.name}' is not a CNN`);
    this.appearance = this.addChild('appearance', appearance);
    if (config.sem !== null && fusionVariant(config.fusion.name).reads.semantic) {
      const sem = buildBackbone(config.sem.backbone, { rng: rng.derive('sem') });
      if (sem.family !== 'clip-vit') throw new Error(`model: SEM backbone '${config.sem.backbone.name}' is not a CLIP ViT`);
      this.sem = this.addChild('sem', sem as ClipVisionTransformer);
    }
    const dims = { appearanceDim: this.appearance.featureDim, semanticDim: this.sem?.featureDim ?? 0 };
    this.fusion = this.addChild('fusion', buildFusion(config.fusion, dims, rng.derive('fusion')));
    const d = this.fusion.outDim;
    if (config.neck.bnneck) this.bnneck = this.addChild('neck', new BatchNorm1d({ dim: d }));
    if (!Number.isInteger(opts.numClasses) || opts.numClasses < 1) throw new Error(`model: numClasses must be ≥ 1, got ${opts.numClasses}`);
    this.classifier = this.addChild('classifier', new Linear({ inDim: d, outDim: opts.numClasses, bias: !config.neck.bnneck }, rng.derive('classifier')));
  }

  /** Feature width D. */
  get featureDim(): number {
    return this.fusion.outDim;
  }

  /** Whether the SEM is trained. */
  get semTrainable(): boolean {
    return this.sem !== undefined && this.config.sem?.freeze === false;
  }

  /** Parameters the optimiser updates: `params` less a frozen SEM's. */
  trainableParams(): Map<string, Variable> {
    if (this.semTrainable || this.sem === undefined) return new Map(this.params);
    return new Map([...this.params].filter(([k]) => !k.startsWith('sem.')));
  }

  /** Run the model; in training mode also returns classifier logits. Caller owns the outputs. */
  forward(inputs: ModelInputs): ModelOutputs {
    const training = this.training; // the parts get their mode per call (a frozen SEM stays in eval)
    return tf.tidy(() => {
      const ta = this.appearance.forward(inputs.appearance, { training }).features;
      let ts: Tensor2D | undefined;
      if (this.sem) {
        if (!inputs.semantic) throw new Error('model: the SEM branch needs inputs.semantic (images at the SEM input size)');
        const semTraining = training && this.semTrainable;
        ts = this.sem.forward(inputs.semantic, { training: semTraining }).features;
      }
      // without a SEM the fusion is one that does not read T_s (the config schema guarantees it)
      const t = this.fusion.forward({ appearance: ta, ...(ts ? { semantic: ts } : {}), cameraIds: inputs.cameraIds, viewIds: inputs.viewIds }, { training });
      const bn = this.bnneck ? this.bnneck.forward(t, { training }) : t;
      const pick = (which: 'pre-bn' | 'post-bn'): Tensor2D => (which === 'pre-bn' ? t : bn);
      const features = pick(this.config.neck.retrievalFeature);
      const metricFeatures = pick(this.config.neck.metricFeature);
      return training ? { features, metricFeatures, logits: this.classifier.forward(bn) } : { features, metricFeatures };
    });
  }

  /** Input size and normalisation of each branch, in `ModelInputs` order (appearance, then SEM if any). */
  branchInputs(): BranchInputConfig[] {
    return this.sem && this.config.sem ? [this.config.appearance.input, this.config.sem.input] : [this.config.appearance.input];
  }
}

/**
 * Validate `config` (zod) and assemble the model with its initial weights only: the pretrained weight files the
 * config names (`appearance.weights`, `sem.weights`) are not read here — `buildModel` (./build-model, Node) reads
 * them; a browser page refuses such a config and restores a trained model's parameters instead.
 */
export function assembleModel(config: ModelConfigInput, opts: BuildModelOptions): ClipSenetModel {
  return new ClipSenetModel(validated(ModelConfigSchema, config), opts);
}

