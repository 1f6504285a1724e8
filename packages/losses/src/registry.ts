/**
 * The loss registry (`cross-entropy`, `supcon`, `triplet`, `center`, `clip-infonce`) and `buildLosses`,
 * which turns the weighted list of the config into one function giving the weighted total and every term by
 * name (for the JSONL log). Terms with parameters (center, learnable CLIP scale) expose them as
 * `<label>.<param>` in `params`.
 */
import { createRegistry, Rng, tf } from '@clip-senet/core';
import { CenterLoss } from './center';
import { ClipInfoNce } from './clip-infonce';
import { LossesConfigSchema, type LossConfig, type LossesConfigInput, type LossName } from './config';
import { crossEntropyLabelSmooth } from './cross-entropy';
import { supConLoss } from './supcon';
import { batchHardTripletLoss } from './triplet';
import type { LossTerm } from './common';

/** Everything a loss may read from one training step; each loss names what it needs. */
export interface LossInputs {
  /** Integer identity labels [N]. */
  readonly labels?: tf.Tensor1D;
  /** Classifier logits [N, K] (cross-entropy). */
  readonly logits?: tf.Tensor2D;
  /** Retrieval features [N, D] (supcon, triplet, center). */
  readonly features?: tf.Tensor2D;
  /** Image embeddings [N, D] (clip-infonce). */
  readonly imageEmbeddings?: tf.Tensor2D;
  /** Text embeddings [N, D] (clip-infonce). */
  readonly textEmbeddings?: tf.Tensor2D;
}

/** Sizes some losses need at build time. */
export interface LossContext {
  /** Number of identities (center loss). */
  readonly numClasses?: number;
  /** Width of `features` (center loss). */
  readonly featureDim?: number;
  /** Seeded generator for loss parameters (center init); default `new Rng(0)`. */
  readonly rng?: Rng;
}

/** One built term: its label, weight, parameters and how to compute it from the inputs. */
export interface BuiltLoss {
  readonly name: LossName;
  readonly label: string;
  readonly weight: number;
  readonly params: ReadonlyMap<string, tf.Variable>;
  compute(inputs: LossInputs): LossTerm;
  dispose(): void;
}

type Builder = (config: LossConfig, label: string, ctx: LossContext) => BuiltLoss;

/** The registry of loss builders. */
export const losses = createRegistry<Builder>('loss');

function need<K extends keyof LossInputs>(label: string, inputs: LossInputs, key: K): NonNullable<LossInputs[K]> {
  const v = inputs[key];
  if (!v) throw new Error(`loss '${label}' needs inputs.${String(key)}`);
  return v as NonNullable<LossInputs[K]>;
}

const stateless = (c: LossConfig, label: string, compute: (i: LossInputs) => LossTerm): BuiltLoss => ({
  name: c.name, label, weight: c.weight, params: new Map(), compute, dispose: () => undefined,
});

losses.register('cross-entropy', (c, label) => stateless(c, label, (i) => {
  const o = c as Extract<LossConfig, { name: 'cross-entropy' }>;
  return crossEntropyLabelSmooth(need(label, i, 'logits'), need(label, i, 'labels'), { epsilon: o.epsilon, name: label });
}));
losses.register('supcon', (c, label) => stateless(c, label, (i) => {
  const o = c as Extract<LossConfig, { name: 'supcon' }>;
  return supConLoss(need(label, i, 'features'), need(label, i, 'labels'), { temperature: o.temperature, baseTemperature: o.baseTemperature, name: label });
}));
losses.register('triplet', (c, label) => stateless(c, label, (i) => {
  const o = c as Extract<LossConfig, { name: 'triplet' }>;
  return batchHardTripletLoss(need(label, i, 'features'), need(label, i, 'labels'), { margin: o.margin, softMargin: o.softMargin, normalizeFeatures: o.normalizeFeatures, name: label });
}));
losses.register('center', (c, label, ctx) => {
  if (ctx.numClasses === undefined || ctx.featureDim === undefined) throw new Error(`loss '${label}' (center) needs numClasses and featureDim in the build context`);
  const m = new CenterLoss({ numClasses: ctx.numClasses, featureDim: ctx.featureDim, name: label }, (ctx.rng ?? new Rng(0)).derive(`loss:${label}`));
  return { name: c.name, label, weight: c.weight, params: m.params, compute: (i) => m.compute(need(label, i, 'features'), need(label, i, 'labels')), dispose: () => m.dispose() };
});
losses.register('clip-infonce', (c, label) => {
  const o = c as Extract<LossConfig, { name: 'clip-infonce' }>;
  const m = new ClipInfoNce({ learnableScale: o.learnableScale, initLogitScale: o.initLogitScale, maxScale: o.maxScale, name: label });
  return { name: c.name, label, weight: c.weight, params: m.params, compute: (i) => m.compute(need(label, i, 'imageEmbeddings'), need(label, i, 'textEmbeddings')), dispose: () => m.dispose() };
});

/** Result of one evaluation of a loss set: the weighted total and every unweighted term by label. */
export interface LossResult {
  readonly total: tf.Scalar;
  readonly terms: Readonly<Record<string, tf.Scalar>>;
}

/** A built weighted loss list. */
export interface LossSet {
  readonly terms: readonly BuiltLoss[];
  /** Trainable loss parameters by `<label>.<name>` (center `centers`, CLIP `logit_scale`). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /**
   * Σ weight · term, plus each unweighted term by label. The caller owns every returned scalar; inside
   * `tf.variableGrads` return `total` and `tf.keep` the terms to log them after the tape's tidy.
   */
  compute(inputs: LossInputs): LossResult;
  dispose(): void;
}

/** Validate the weighted list (zod) and build it. */
export function buildLosses(config: LossesConfigInput, ctx: LossContext = {}): LossSet {
  for (const entry of Array.isArray(config) ? config : []) {
    const name = (entry as { name?: unknown })?.name;
    if (typeof name === 'string') losses.get(name); // unknown names: an error listing the known ones
  }
  const list = LossesConfigSchema.parse(config);
  const terms = list.map((c) => losses.get(c.name)(c, c.label ?? c.name, ctx));
  const params = new Map<string, tf.Variable>();
  for (const t of terms) for (const [k, v] of t.params) params.set(`${t.label}.${k}`, v);
  return {
    terms,
    params,
    compute(inputs: LossInputs): LossResult {
      const out: Record<string, tf.Scalar> = {};
      try {
        for (const t of terms) out[t.label] = t.compute(inputs).value;
      } catch (err) {
        tf.dispose(Object.values(out)); // no leaked terms when a later one rejects its inputs
        throw err;
      }
      const total = tf.tidy(() => terms.reduce<tf.Scalar>((acc, t) => tf.add(acc, tf.mul(out[t.label]!, t.weight)), tf.scalar(0)));
      return { total, terms: out };
    },
    dispose(): void {
      for (const t of terms) t.dispose();
    },
  };
}
