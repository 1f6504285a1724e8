/**
 * The loss registry: one entry per loss (`cross-entropy`, `supcon`, `triplet`, `center`, `clip-infonce`) carrying
 * its config schema, a one-line description, the inputs it reads and its builder; the list schema (a discriminated
 * union of the entries' schemas) and `buildLosses`, which turns the weighted list of the config into one function
 * giving the weighted total and every term by name (for the JSONL log). Terms with parameters (center, learnable
 * CLIP scale) expose them as `<label>.<param>` in `params`. Adding a loss = its schema in ./config, its function,
 * and one entry in {@link LOSS_ENTRIES}.
 */
import { createRegistry, markValidated, Rng, tf, validated } from '@clip-senet/core';
import { z } from 'zod';
import { CenterLoss } from './center';
import { ClipInfoNce } from './clip-infonce';
import {
  CenterLossConfigSchema,
  ClipInfoNceLossConfigSchema,
  CrossEntropyLossConfigSchema,
  SupConLossConfigSchema,
  TripletLossConfigSchema,
} from './config';
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

type AnyLossSchema = typeof CrossEntropyLossConfigSchema | typeof SupConLossConfigSchema | typeof TripletLossConfigSchema | typeof CenterLossConfigSchema | typeof ClipInfoNceLossConfigSchema;
/** A registered loss name. */
export type LossName = z.output<AnyLossSchema>['name'];

/** One loss: its schema, what it is, which inputs it reads, and how a validated config becomes a built term. */
export interface LossEntry<S extends AnyLossSchema = AnyLossSchema> {
  readonly name: z.output<S>['name'];
  readonly schema: S;
  /** One line for `--help` texts and logs. */
  readonly describe: string;
  /** The {@link LossInputs} it reads. */
  readonly reads: readonly (keyof LossInputs)[];
  build(config: z.output<S>, label: string, ctx: LossContext): BuiltLoss;
}

function need<K extends keyof LossInputs>(label: string, inputs: LossInputs, key: K): NonNullable<LossInputs[K]> {
  const v = inputs[key];
  if (!v) throw new Error(`loss '${label}' needs inputs.${String(key)}`);
  return v as NonNullable<LossInputs[K]>;
}

const stateless = (c: { name: LossName; weight: number }, label: string, compute: (i: LossInputs) => LossTerm): BuiltLoss => ({
  name: c.name, label, weight: c.weight, params: new Map(), compute, dispose: () => undefined,
});
const entry = <S extends AnyLossSchema>(schema: S, e: Omit<LossEntry<S>, 'name' | 'schema'>): LossEntry<S> => ({
  name: schema.shape.name.value as z.output<S>['name'], schema, ...e,
});

/** Every loss, in `--help` order. */
export const LOSS_ENTRIES = [
  entry(CrossEntropyLossConfigSchema, {
    describe: 'label-smoothed cross-entropy on the classifier logits (paper: L_CE, ε 0.1)',
    reads: ['logits', 'labels'],
    build: (c, label) => stateless(c, label, (i) => crossEntropyLabelSmooth(need(label, i, 'logits'), need(label, i, 'labels'), { epsilon: c.epsilon, name: label })),
  }),
  entry(SupConLossConfigSchema, {
    describe: 'supervised contrastive loss on the metric features (paper: L_SupCon, τ not given → 0.07)',
    reads: ['features', 'labels'],
    build: (c, label) => stateless(c, label, (i) => supConLoss(need(label, i, 'features'), need(label, i, 'labels'), { temperature: c.temperature, baseTemperature: c.baseTemperature, name: label })),
  }),
  entry(TripletLossConfigSchema, {
    describe: 'batch-hard triplet loss on the metric features (BoT; the loss ablation\'s comparison)',
    reads: ['features', 'labels'],
    build: (c, label) => stateless(c, label, (i) => batchHardTripletLoss(need(label, i, 'features'), need(label, i, 'labels'), { margin: c.margin, softMargin: c.softMargin, normalizeFeatures: c.normalizeFeatures, name: label })),
  }),
  entry(CenterLossConfigSchema, {
    describe: 'center loss on the metric features, learnable centres (BoT, weight 5e-4)',
    reads: ['features', 'labels'],
    build: (c, label, ctx) => {
      if (ctx.numClasses === undefined || ctx.featureDim === undefined) throw new Error(`loss '${label}' (center) needs numClasses and featureDim in the build context`);
      const m = new CenterLoss({ numClasses: ctx.numClasses, featureDim: ctx.featureDim, name: label }, (ctx.rng ?? new Rng(0)).derive(`loss:${label}`));
      return { name: c.name, label, weight: c.weight, params: m.params, compute: (i) => m.compute(need(label, i, 'features'), need(label, i, 'labels')), dispose: () => m.dispose() };
    },
  }),
  entry(ClipInfoNceLossConfigSchema, {
    describe: 'CLIP symmetric InfoNCE between image and text embeddings (SEM pretraining)',
    reads: ['imageEmbeddings', 'textEmbeddings'],
    build: (c, label) => {
      const m = new ClipInfoNce({ learnableScale: c.learnableScale, initLogitScale: c.initLogitScale, maxScale: c.maxScale, name: label });
      return { name: c.name, label, weight: c.weight, params: m.params, compute: (i) => m.compute(need(label, i, 'imageEmbeddings'), need(label, i, 'textEmbeddings')), dispose: () => m.dispose() };
    },
  }),
] as const;

type SchemasOf<T extends readonly { readonly schema: AnyLossSchema }[]> = { -readonly [K in keyof T]: T[K]['schema'] };

/** One entry of the loss list: the discriminated union (on `name`) of the entries' schemas. */
export const LossConfigSchema = z.discriminatedUnion('name', LOSS_ENTRIES.map((e) => e.schema) as unknown as SchemasOf<typeof LOSS_ENTRIES>);
export type LossConfig = z.output<typeof LossConfigSchema>;
export type LossConfigInput = z.input<typeof LossConfigSchema>;

/** The weighted list; labels (default: names) must be unique. */
export const LossesConfigSchema = z
  .array(LossConfigSchema)
  .min(1)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    for (const [i, c] of list.entries()) {
      const label = c.label ?? c.name;
      if (seen.has(label)) ctx.addIssue({ code: 'custom', path: [i, 'label'], message: `duplicate loss label '${label}' (set a distinct 'label')` });
      seen.add(label);
    }
  });
export type LossesConfig = z.output<typeof LossesConfigSchema>;
export type LossesConfigInput = z.input<typeof LossesConfigSchema>;

/** The paper: label-smoothed CE (ε 0.1) + SupCon (τ 0.07), weights 1:1. */
export const defaultLossesConfig: LossesConfig = markValidated(LossesConfigSchema.parse([{ name: 'cross-entropy' }, { name: 'supcon' }]));

/** The registry of losses, filled from {@link LOSS_ENTRIES}. */
export const losses = createRegistry<LossEntry>('loss');
for (const e of LOSS_ENTRIES) losses.register(e.name, e as unknown as LossEntry);

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

/** Build the weighted list (validated here unless it already is: zod, unknown names list the known ones). */
export function buildLosses(config: LossesConfigInput, ctx: LossContext = {}): LossSet {
  for (const entry of Array.isArray(config) ? config : []) {
    const name = (entry as { name?: unknown })?.name;
    if (typeof name === 'string') losses.get(name); // unknown names: an error listing the known ones
  }
  const list = validated(LossesConfigSchema, config);
  const terms = list.map((c) => (losses.get(c.name) as LossEntry<AnyLossSchema>).build(c as never, c.label ?? c.name, ctx));
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
