/**
 * The fusion registry (one entry per variant of Eq. 5 / Table IV: the variant objects of ./fusion-variants) and the
 * AFEM preset registry (`afem-scalar`, `afem-vector`). `buildFusion` / `buildAfem` validate a config and build the
 * module ({@link Fusion} runs a variant's entry, {@link Afem} is one parameterised implementation).
 */
import { createRegistry, validated, type Registry, type Rng } from '@clip-senet/core';
import { Afem } from './afem';
import { AfemConfigSchema, type AfemConfigInput } from './config';
import { FUSION_VARIANTS, FusionConfigSchema, type AnyFusionVariant, type FusionConfigInput } from './fusion-variants';
import { Fusion, type FusionDims } from './fusion';

/** A fusion registry entry: the variant itself (schema, formula, source, parts, computation; ./fusion-variants). */
export type FusionEntry = AnyFusionVariant;

/** The registry of fusion variants, filled from {@link FUSION_VARIANTS}. */
export const fusions: Registry<FusionEntry> = createRegistry<FusionEntry>('fusion');
for (const v of FUSION_VARIANTS) fusions.register(v.name, v);

/**
 * Build the fusion head `config` names: a validated config (from the experiments' loader or a parent schema) is
 * used as is, a literal is validated here (the name must be registered, unknown keys are errors).
 */
export function buildFusion(config: FusionConfigInput, dims: FusionDims, rng: Rng): Fusion {
  fusions.get((config as { name: string }).name);
  return new Fusion(validated(FusionConfigSchema, config), dims, rng);
}

/** AFEM presets: partial configs over {@link AfemConfigSchema}. */
export const afemPresets = createRegistry<Readonly<AfemConfigInput>>('afem preset');
afemPresets.register('afem-scalar', { weightMode: 'scalar' });
afemPresets.register('afem-vector', { weightMode: 'vector' });
afemPresets.register('afem-tiny', { dOut: 16, groups: 4 });

/** Build an AFEM from a preset name (optionally overridden) or a config (validated here unless it already is). */
export function buildAfem(config: AfemConfigInput | { readonly preset: string; readonly overrides?: AfemConfigInput }, inDim: number, rng: Rng): Afem {
  const c = 'preset' in config ? { ...afemPresets.get(config.preset), ...config.overrides } : config;
  return new Afem({ inDim, ...validated(AfemConfigSchema, c) }, rng);
}
