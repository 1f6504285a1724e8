/**
 * The composed experiment config (STYLE.md "Config → objects in one place"): data + model + losses + train +
 * eval (+ SEM pretraining), one strict zod schema, so an unknown key anywhere is an error naming it. Loaded with
 * core's `loadConfigFile` (`extends`, `--set a.b=c` overrides), frozen, and written into every run folder as
 * `resolved-config.yaml`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile, stringifyConfig, writeFileAtomic } from '@clip-senet/core';
import { ModelConfigSchema, PretrainSemConfigSchema, TrainConfigSchema } from '@clip-senet/engine';
import { LossesConfigSchema, defaultLossesConfig } from '@clip-senet/losses';

const positiveInt = z.number().int().positive();
const intRange = z.tuple([positiveInt, positiveInt]);

/** Parameters of the generated synthetic world (`generateSyntheticWorld`); absent ones take its defaults. */
export const WorldConfigSchema = z.strictObject({
  seed: z.number().int().optional(),
  numTrainIds: positiveInt.optional(),
  numTestIds: positiveInt.optional(),
  numCameras: positiveInt.optional(),
  camerasPerId: intRange.optional(),
  imagesPerIdPerCamera: intRange.optional(),
  queriesPerId: positiveInt.optional(),
  imageSize: positiveInt.optional(),
  idsPerModel: positiveInt.optional(),
  numPretrainIds: z.number().int().min(0).optional(),
  pretrainImagesPerId: positiveInt.optional(),
});
export type WorldConfig = z.output<typeof WorldConfigSchema>;

/** Which dataset a run uses: the generated synthetic world, or VeRi-776 at `root`. */
export const DataConfigSchema = z
  .strictObject({
    dataset: z.enum(['synthetic', 'veri776']).default('synthetic'),
    /** VeRi-776 root (required for `veri776`; for `synthetic` it overrides the generated world's folder). */
    root: z.string().optional(),
    world: WorldConfigSchema.prefault({}),
  })
  .refine((d) => d.dataset !== 'veri776' || d.root !== undefined, { message: "dataset 'veri776' needs data.root", path: ['root'] });
export type DataConfig = z.output<typeof DataConfigSchema>;

/** Evaluation protocol settings (VeRi-776 protocol over query/gallery). */
export const EvalConfigSchema = z.strictObject({
  metric: z.enum(['cosine', 'euclidean']).default('cosine'),
});

/** The whole experiment. */
export const ExperimentConfigSchema = z.strictObject({
  data: DataConfigSchema.prefault({}),
  model: ModelConfigSchema.prefault({}),
  losses: LossesConfigSchema.default(() => structuredClone(defaultLossesConfig)),
  train: TrainConfigSchema.prefault({}),
  eval: EvalConfigSchema.prefault({}),
  /** SEM pretraining (`clip-senet pretrain-sem`). */
  pretrainSem: PretrainSemConfigSchema.prefault({}),
  /** Default run folder (relative to the working directory); `--run-dir` overrides it. */
  runDir: z.string().optional(),
});
/**
 * A validated experiment config. Deep-frozen at runtime by `loadConfigFile`; typed as the schema output (not
 * `DeepReadonly`, which loses tuple types) so its parts pass straight to the engine's typed options.
 */
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;

/** Name of the resolved config inside a run folder. */
export const RESOLVED_CONFIG = 'resolved-config.yaml';

/** Load and validate an experiment config (with `extends` and `--set` overrides). */
export function loadExperimentConfig(path: string, overrides: readonly string[] = []): ExperimentConfig {
  return loadConfigFile(path, ExperimentConfigSchema, { overrides: [...overrides] }) as ExperimentConfig;
}

/** The YAML text of a resolved config. */
export function resolvedConfigText(config: ExperimentConfig): string {
  return stringifyConfig(config);
}

/** Write `resolved-config.yaml` into `runDir` (atomically). */
export function writeResolvedConfig(runDir: string, config: ExperimentConfig): string {
  const file = join(runDir, RESOLVED_CONFIG);
  writeFileAtomic(file, resolvedConfigText(config));
  return file;
}

/** Load a run folder's `resolved-config.yaml`. */
export function loadRunConfig(runDir: string, overrides: readonly string[] = []): ExperimentConfig {
  const file = join(runDir, RESOLVED_CONFIG);
  if (!existsSync(file)) throw new Error(`${runDir} is not a run folder (no ${RESOLVED_CONFIG})`);
  return loadExperimentConfig(file, overrides);
}

/** The text of an existing run's resolved config, or undefined. */
export function readResolvedConfig(runDir: string): string | undefined {
  const file = join(runDir, RESOLVED_CONFIG);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
