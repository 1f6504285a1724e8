/**
 * The fusion registry (one entry per variant of Eq. 5 / Table IV) and the AFEM preset registry
 * (`afem-scalar`, `afem-vector`). Every entry is data over one parameterised implementation
 * ({@link Fusion}, {@link Afem}); `buildFusion` / `buildAfem` validate a config and build the module.
 */
import { createRegistry, type Rng } from '@clip-senet/core';
import { Afem } from './afem';
import { AfemConfigSchema, FusionConfigSchema, type AfemConfigInput, type FusionConfigInput, type FusionName } from './config';
import { Fusion, type FusionDims } from './fusion';

/** What a fusion registry entry records: its formula and where it comes from. */
export interface FusionEntry {
  readonly name: FusionName;
  /** The formula, for logs and reports. */
  readonly formula: string;
  /** Paper reference or "added by this project". */
  readonly source: string;
}

/** The registry of fusion variants. */
export const fusions = createRegistry<FusionEntry>('fusion');

const entry = (name: FusionName, formula: string, source: string): void => {
  fusions.register(name, { name, formula, source });
};
entry('clip-senet', 'T = FC([T_s; T_a]) + AFEM(T_s)', 'paper Eq. 5 (Table IV row 3)');
entry('concat-fc', 'T = FC([T_s; T_a])', 'paper Table IV row 2 (+SEM, no AFEM)');
entry('sum', 'T = P_a(T_a) + P_s(T_s)', 'added by this project (fusion ablation)');
entry('gated', 'g = σ(FC([T_s; T_a])); T = g ⊙ P_s(T_s) + (1 − g) ⊙ P_a(T_a)', 'added by this project (fusion ablation)');
entry('appearance-only', 'T = P_a(T_a)', 'paper Table IV row 1 (baseline)');
entry('semantic-only', 'T = AFEM(T_s)', 'added by this project (fusion ablation)');

/** Validate `config` (name must be registered, unknown keys are errors) and build the fusion head. */
export function buildFusion(config: FusionConfigInput, dims: FusionDims, rng: Rng): Fusion {
  fusions.get((config as { name: string }).name);
  return new Fusion({ ...dims, ...FusionConfigSchema.parse(config) }, rng);
}

/** AFEM presets: partial configs over {@link AfemConfigSchema}. */
export const afemPresets = createRegistry<Readonly<AfemConfigInput>>('afem preset');
afemPresets.register('afem-scalar', { weightMode: 'scalar' });
afemPresets.register('afem-vector', { weightMode: 'vector' });
afemPresets.register('afem-tiny', { dOut: 16, groups: 4 });

/** Build an AFEM from a preset name (optionally overridden) or a plain config. */
export function buildAfem(config: AfemConfigInput | { readonly preset: string; readonly overrides?: AfemConfigInput }, inDim: number, rng: Rng): Afem {
  const c = 'preset' in config ? { ...afemPresets.get(config.preset), ...config.overrides } : config;
  return new Afem({ inDim, ...AfemConfigSchema.parse(c) }, rng);
}
