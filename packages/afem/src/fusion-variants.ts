/**
 * The fusion variants of CLIP-SENet Eq. 5 and the ablations, one entry each: its config schema, its formula and
 * source, which branch features it reads, the parts it owns (in the order their initial weights are drawn) and
 * its computation written once over {@link FusionOps}. `Fusion` (./fusion) runs that computation on tfjs tensors;
 * the ONNX exporter runs the same function on graph values, so a variant is defined in one place for both.
 *
 * Adding a variant = one schema in ./config + one entry here (and its schema's type in `AnyFusionSchema`): the
 * config union {@link FusionConfigSchema}, the registry (./registry), `--help` texts and the contract tests
 * (fusion, webgpu, ONNX export) are made from {@link FUSION_VARIANTS}.
 */
import { markValidated } from '@clip-senet/core/base';
import { z } from 'zod';
import {
  AppearanceOnlyFusionConfigSchema,
  ClipSenetFusionConfigSchema,
  ConcatFcFusionConfigSchema,
  GatedFusionConfigSchema,
  SemanticOnlyFusionConfigSchema,
  SumFusionConfigSchema,
} from './config';

/** The schema of one variant (each a member of {@link FusionConfigSchema}). */
type AnyFusionSchema =
  | typeof ClipSenetFusionConfigSchema | typeof ConcatFcFusionConfigSchema | typeof SumFusionConfigSchema
  | typeof GatedFusionConfigSchema | typeof AppearanceOnlyFusionConfigSchema | typeof SemanticOnlyFusionConfigSchema;
/** A validated config of any variant. */
export type FusionConfig = z.output<AnyFusionSchema>;
export type FusionConfigInput = z.input<AnyFusionSchema>;
export type FusionName = FusionConfig['name'];

/** Branch widths, known only once the backbones are built (afem never imports them). */
export interface FusionDims {
  /** Width of T_a (paper: 2048, ResNeXt101-IBN-a after GAP). */
  readonly appearanceDim: number;
  /** Width of T_s (paper: 512, the projected CLIP image embedding). */
  readonly semanticDim: number;
}

/**
 * A part a variant owns, named by its tensor prefix: a Linear over `inDim` channels (`fc`, `gate`), the AFEM over
 * T_s, or a projection of one branch to `outDim` that is left out (identity) when the branch already has it.
 */
export type FusionPart =
  | { readonly prefix: 'fc' | 'gate'; readonly kind: 'linear'; readonly inDim: number; readonly biasInit?: number }
  | { readonly prefix: 'afem'; readonly kind: 'afem'; readonly inDim: number }
  | { readonly prefix: 'proj_a' | 'proj_s'; readonly kind: 'projection'; readonly inDim: number };

/** The operations a variant's computation is written in; `T` is a tensor (tfjs) or a value name (ONNX). */
export interface FusionOps<T> {
  /** T_a [N, dA]. */
  appearance(): T;
  /** T_s [N, dS]. */
  semantic(): T;
  /** [T_s; T_a] along the channels, [N, dS + dA] (the paper's order; it matters only for checkpoint layouts). */
  concatSemanticAppearance(): T;
  /** The part's Linear applied to x. */
  linear(part: 'fc' | 'gate', x: T): T;
  /** P_a(T_a): `proj_a` when the variant has it, else T_a itself. */
  projectAppearance(): T;
  /** P_s(T_s): `proj_s` when the variant has it, else T_s itself. */
  projectSemantic(): T;
  /** The AFEM part applied to x (Eq. 4). */
  afem(x: T): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  /** 1 − x. */
  oneMinus(x: T): T;
  sigmoid(x: T): T;
  /** x as the variant's own output (tfjs: a copy the caller owns; ONNX: the same value). */
  output(x: T): T;
}

/** One fusion variant. */
export interface FusionVariant<S extends AnyFusionSchema = AnyFusionSchema> {
  readonly name: z.output<S>['name'];
  /** The formula, for logs, `--help` texts and reports. */
  readonly formula: string;
  /** Paper reference, or "added by this project". */
  readonly source: string;
  /** Its config schema (a member of `FusionConfigSchema`). */
  readonly schema: S;
  /** Which branch features it reads (an exported model has an input for each). */
  readonly reads: { readonly appearance: boolean; readonly semantic: boolean };
  /** The parts it owns, in the order their initial weights are drawn. */
  parts(config: z.output<S>, dims: FusionDims): readonly FusionPart[];
  /** T [N, outDim] (before the optional camera / view embedding, which `Fusion` adds to every variant). */
  fuse<T>(ops: FusionOps<T>, config: z.output<S>): T;
}

const both = { appearance: true, semantic: true } as const;
/** P_a then P_s (sum and gated): each left out where its branch already has outDim channels. */
const projections = (d: FusionDims): FusionPart[] => [
  { prefix: 'proj_a', kind: 'projection', inDim: d.appearanceDim },
  { prefix: 'proj_s', kind: 'projection', inDim: d.semanticDim },
];

const clipSenet: FusionVariant<typeof ClipSenetFusionConfigSchema> = {
  name: 'clip-senet',
  formula: 'T = FC([T_s; T_a]) + AFEM(T_s)',
  source: 'paper Eq. 5 (Table IV row 3)',
  schema: ClipSenetFusionConfigSchema,
  reads: both,
  parts: (_c, d) => [
    { prefix: 'fc', kind: 'linear', inDim: d.semanticDim + d.appearanceDim },
    { prefix: 'afem', kind: 'afem', inDim: d.semanticDim },
  ],
  fuse: (o) => o.add(o.linear('fc', o.concatSemanticAppearance()), o.afem(o.semantic())),
};

const concatFc: FusionVariant<typeof ConcatFcFusionConfigSchema> = {
  name: 'concat-fc',
  formula: 'T = FC([T_s; T_a])',
  source: 'paper Table IV row 2 (+SEM, no AFEM)',
  schema: ConcatFcFusionConfigSchema,
  reads: both,
  parts: (_c, d) => [{ prefix: 'fc', kind: 'linear', inDim: d.semanticDim + d.appearanceDim }],
  fuse: (o) => o.linear('fc', o.concatSemanticAppearance()),
};

const sum: FusionVariant<typeof SumFusionConfigSchema> = {
  name: 'sum',
  formula: 'T = P_a(T_a) + P_s(T_s)',
  source: 'added by this project (fusion ablation)',
  schema: SumFusionConfigSchema,
  reads: both,
  parts: (_c, d) => projections(d),
  fuse: (o) => o.add(o.projectAppearance(), o.projectSemantic()),
};

const gated: FusionVariant<typeof GatedFusionConfigSchema> = {
  name: 'gated',
  formula: 'g = σ(FC([T_s; T_a])); T = g ⊙ P_s(T_s) + (1 − g) ⊙ P_a(T_a)',
  source: 'added by this project (fusion ablation)',
  schema: GatedFusionConfigSchema,
  reads: both,
  parts: (c, d) => [...projections(d), { prefix: 'gate', kind: 'linear', inDim: d.semanticDim + d.appearanceDim, biasInit: c.gateBiasInit }],
  fuse: (o) => {
    const g = o.sigmoid(o.linear('gate', o.concatSemanticAppearance()));
    return o.add(o.mul(g, o.projectSemantic()), o.mul(o.oneMinus(g), o.projectAppearance()));
  },
};

const appearanceOnly: FusionVariant<typeof AppearanceOnlyFusionConfigSchema> = {
  name: 'appearance-only',
  formula: 'T = P_a(T_a)',
  source: 'paper Table IV row 1 (baseline)',
  schema: AppearanceOnlyFusionConfigSchema,
  reads: { appearance: true, semantic: false },
  parts: (_c, d) => [{ prefix: 'proj_a', kind: 'projection', inDim: d.appearanceDim }],
  fuse: (o) => o.output(o.projectAppearance()),
};

const semanticOnly: FusionVariant<typeof SemanticOnlyFusionConfigSchema> = {
  name: 'semantic-only',
  formula: 'T = AFEM(T_s)  (P_s(T_s) with useAfem: false)',
  source: 'added by this project (fusion ablation)',
  schema: SemanticOnlyFusionConfigSchema,
  reads: { appearance: false, semantic: true },
  parts: (c, d) => [c.useAfem ? { prefix: 'afem', kind: 'afem', inDim: d.semanticDim } : { prefix: 'proj_s', kind: 'projection', inDim: d.semanticDim }],
  fuse: (o, c) => (c.useAfem ? o.afem(o.semantic()) : o.output(o.projectSemantic())),
};

/** A variant of any name (each paired with its own config type). */
export type AnyFusionVariant = AnyFusionSchema extends infer S ? (S extends AnyFusionSchema ? FusionVariant<S> : never) : never;

/** Every fusion variant, in `--help` order. */
const VARIANTS = [clipSenet, concatFc, sum, gated, appearanceOnly, semanticOnly] as const;
export const FUSION_VARIANTS: readonly AnyFusionVariant[] = VARIANTS;

type SchemasOf<T extends readonly { readonly schema: unknown }[]> = { -readonly [K in keyof T]: T[K]['schema'] };

/** Any fusion config: the discriminated union (on `name`) of the variants' schemas. */
export const FusionConfigSchema = z.discriminatedUnion('name', VARIANTS.map((v) => v.schema) as unknown as SchemasOf<typeof VARIANTS>);

/** The paper's fusion: `clip-senet`, outDim 2048, AFEM G = 32 scalar weights, no CV. */
export const defaultFusionConfig: FusionConfig = markValidated(FusionConfigSchema.parse({ name: 'clip-senet' }));

/** The variant of `config.name` (an error naming the known ones otherwise). */
export function fusionVariant(name: string): AnyFusionVariant {
  const v = FUSION_VARIANTS.find((x) => x.name === name);
  if (!v) throw new Error(`unknown fusion '${name}' (known: ${FUSION_VARIANTS.map((x) => x.name).join(', ')})`);
  return v;
}

/**
 * The variant of a validated config, with its parts and computation bound to that config — the one place where
 * a config is paired with the entry of its own name (which a union type cannot say).
 */
export function boundVariant(config: FusionConfig): { readonly variant: AnyFusionVariant; parts(dims: FusionDims): readonly FusionPart[]; fuse<T>(ops: FusionOps<T>): T } {
  const variant = fusionVariant(config.name) as unknown as FusionVariant;
  return {
    variant: variant as unknown as AnyFusionVariant,
    parts: (dims) => variant.parts(config, dims),
    fuse: (ops) => variant.fuse(ops, config),
  };
}
