/**
 * Ablation definitions (`configs/ablations/<name>.yaml`): a base experiment config plus named variants given as
 * config diffs, a list of seeds, per-profile adjustments, and the paper table cells each variant maps to. An
 * ablation is data — a new one never needs code (STYLE.md "An ablation is a config diff, not code").
 *
 * Resolution of one (variant, seed) run, later layers winning:
 *   base file (with its `extends`) → ablation `set` → profile `set` → variant `set` → variant profile `set`
 *   → `train.seed = seed` → command-line `--set` overrides,
 * then validation with the composed experiment schema. The layering is core's `layerConfig`: lists are replaced,
 * maps merged, `null` replaces, and a map written with `$replace: true` replaces the map below it (e.g. a fusion
 * variant with different keys); an invalid run's error names the file and line that set each bad key.
 */
import { basename, dirname, extname, resolve } from 'node:path';
import { z } from 'zod';
import { resolveConfigFile, validateConfig, type ResolvedConfig } from '@clip-senet/core/base';
import { findPaperCell } from '../report/paper-values';

/** The run sizes an ablation can be run at. */
export const PROFILES = ['smoke', 'default', 'full'] as const;
export type Profile = (typeof PROFILES)[number];

const diff = z.record(z.string(), z.unknown());

/** Per-profile adjustments of the whole ablation. */
const ProfileSchema = z.strictObject({
  /** Replace the base experiment config (path relative to the ablation file). */
  base: z.string().optional(),
  /** Config diff applied to every variant. */
  set: diff.optional(),
  /** Replace the ablation's seed list. */
  seeds: z.array(z.number().int()).min(1).optional(),
  /** Only these variants (default: all). */
  variants: z.array(z.string()).min(1).optional(),
});
export type ProfileDef = z.output<typeof ProfileSchema>;

const VariantSchema = z.strictObject({
  /** Row name in the tables; unique within the ablation. */
  name: z.string().regex(/^[A-Za-z0-9+=._-]+$/, 'letters, digits and + = . _ - only'),
  /** One line: what this variant changes and why. */
  description: z.string().min(1),
  /** Paper cells this variant corresponds to (keys of the paper-values table, e.g. `IV/+SEM+AFEM`). */
  paper: z.array(z.string()).default([]),
  /** Config diff of this variant. */
  set: diff.default({}),
  /**
   * The variant changes only evaluation settings (`eval.*`, `train.eval.flip`: re-ranking, query expansion, flip
   * TTA): it re-evaluates the checkpoint of the run the grid trains without its diff (same seed) instead of training
   * its own copy. A diff that touches anything else is an error.
   */
  evaluateOnly: z.boolean().default(false),
  /** Per-profile config diffs of this variant (e.g. the paper-size backbone under `full`). */
  profiles: z.partialRecord(z.enum(PROFILES), z.strictObject({ set: diff })).default({}),
});
export type VariantDef = z.output<typeof VariantSchema>;

/** Schema of an ablation file. */
export const AblationSchema = z
  .strictObject({
    /** Must equal the file name without `.yaml`. */
    name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and - only'),
    title: z.string().min(1),
    /** Base experiment config, relative to the ablation file. */
    base: z.string().min(1),
    /** Variant the Δ columns are computed against. */
    baseline: z.string(),
    seeds: z.array(z.number().int()).min(1),
    set: diff.default({}),
    profiles: z.partialRecord(z.enum(PROFILES), ProfileSchema).default({}),
    variants: z.array(VariantSchema).min(1),
  })
  .superRefine((a, ctx) => {
    const names = a.variants.map((v) => v.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) ctx.addIssue({ code: 'custom', path: ['variants'], message: `duplicate variant name '${dup}'` });
    if (!names.includes(a.baseline)) ctx.addIssue({ code: 'custom', path: ['baseline'], message: `'${a.baseline}' is not a variant (variants: ${names.join(', ')})` });
    for (const [p, def] of Object.entries(a.profiles)) {
      for (const v of def?.variants ?? []) {
        if (!names.includes(v)) ctx.addIssue({ code: 'custom', path: ['profiles', p, 'variants'], message: `'${v}' is not a variant (variants: ${names.join(', ')})` });
      }
      if (def?.variants && !def.variants.includes(a.baseline)) {
        ctx.addIssue({ code: 'custom', path: ['profiles', p, 'variants'], message: `must include the baseline '${a.baseline}'` });
      }
    }
    a.variants.forEach((v, i) => v.paper.forEach((key, k) => {
      if (!findPaperCell(key)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'paper', k], message: `'${key}' is not a paper cell (the keys are in experiments/src/report/paper-values.ts, e.g. IV/+SEM+AFEM, V/G=32)` });
    }));
    for (const s of [a.seeds, ...Object.values(a.profiles).map((p) => p?.seeds ?? [])]) {
      if (new Set(s).size !== s.length) ctx.addIssue({ code: 'custom', path: ['seeds'], message: `duplicate seed in [${s.join(', ')}]` });
    }
  });
export type AblationDef = z.output<typeof AblationSchema>;

/** A loaded ablation file. */
export interface LoadedAblation {
  readonly file: string;
  readonly def: AblationDef;
  /** The file as read, with the line of every key (the plan's errors point into the variants' diffs with it). */
  readonly source: ResolvedConfig;
}

/** Read and validate an ablation file; errors name the file, the offending key and its line. */
export function loadAblation(path: string): LoadedAblation {
  const file = resolve(path);
  const source = resolveConfigFile(file, { extends: false });
  const def = validateConfig(source, AblationSchema, { what: `ablation ${file}` }) as AblationDef;
  const stem = basename(file, extname(file));
  if (def.name !== stem) throw new Error(`Invalid ablation ${file}: name '${def.name}' must equal the file name '${stem}'`);
  return { file, def, source };
}

/** Path of a file referenced by an ablation (relative to the ablation file). */
export function ablationPath(ablation: LoadedAblation, ref: string): string {
  return resolve(dirname(ablation.file), ref);
}
