/**
 * The composed experiment config (STYLE.md "Config → objects in one place"): data + model + losses + train +
 * eval (+ SEM pretraining), one strict zod schema, so an unknown key anywhere is an error naming it. Loaded with
 * core's `loadConfigFile` (`extends`, `--set a.b=c` overrides), frozen, and written into every run folder as
 * `resolved-config.yaml` (paths exactly as written, so the file and its hash do not depend on the machine).
 *
 * Paths: relative `data.root`, `data.viewLabels`, `model.appearance.weights` and `model.sem.weights` are relative
 * to the REPOSITORY ROOT ({@link REPO_ROOT}), whatever the working directory; absolute paths stay as they are.
 * {@link withRepoPaths} is the one place they are resolved.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { configIdentity, deepFreeze, loadConfigFile, resolveConfigFile, sha256Hex, stringifyConfig, VEHICLEID_EVAL_SIZES, VERIWILD_TEST_SIZES, writeFileAtomic, type ConfigIdentity } from '@clip-senet/core';
import { ModelConfigSchema, PretrainSemConfigSchema, TrainConfigSchema } from '@clip-senet/engine';
import { LossesConfigSchema, defaultLossesConfig } from '@clip-senet/losses';
import { REPO_ROOT } from './repo-root';

/** Repository root; relative config paths resolve against it. */
export { REPO_ROOT };

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
  pretrainIdsPerModel: positiveInt.optional(),
  pretrainAttributes: z.enum(['weighted', 'balanced']).optional(),
});
export type WorldConfig = z.output<typeof WorldConfigSchema>;

/** The datasets a config can target. */
export const DATASETS = ['synthetic', 'veri776', 'vehicleid', 'veriwild'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** VehicleID test lists (number of test identities): Small / Medium / Large. */
export const VEHICLEID_SIZES = VEHICLEID_EVAL_SIZES;
/** VeRi-Wild test sets (number of query identities): Small / Medium / Large. */
export const VERIWILD_SIZES = VERIWILD_TEST_SIZES;

/** Which knob applies to which dataset (set on another dataset, it is an error naming the key). */
const APPLIES: Record<string, readonly DatasetName[]> = {
  world: ['synthetic'],
  testSize: ['vehicleid', 'veriwild'],
  draws: ['vehicleid'],
  drawSeed: ['vehicleid'],
  officialIndices: ['synthetic', 'veri776'],
  viewLabels: ['veri776'],
  format: ['veriwild'],
};

/** Per-dataset defaults filled into the resolved config, so a run folder shows every knob it ran with. */
const DATASET_DEFAULTS: Record<DatasetName, Record<string, unknown>> = {
  synthetic: { officialIndices: false },
  veri776: { officialIndices: false, viewLabels: null },
  vehicleid: { draws: 10, drawSeed: 0 },
  veriwild: { format: 'auto' },
};

/** A dataset-specific knob counts as set unless absent or `null` (`null` lets a file extending another dataset's base clear it). */
const isSet = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * Which dataset a run uses and how it is read. Knobs of other datasets are errors (e.g. `draws` on VeRi-776).
 *
 * - `synthetic`: the generated world (`world` parameters); `root` overrides where it is generated.
 * - `veri776`: `root` (required); `officialIndices` evaluates with the official `gt_index.txt` / `jk_index.txt`
 *   instead of the same-id same-camera rule; `viewLabels`, an optional `<image name> <view 0..7>` file, gives
 *   each sample a viewpoint (needed by a CV model with `numViews > 0`). Cameras come from the file names.
 * - `vehicleid`: `root`, `testSize` 800 | 1600 | 2400, `draws` seeded query/gallery draws (default 10, seeds
 *   `drawSeed`..`drawSeed + draws − 1`, default from 0), reported as mean ± std.
 * - `veriwild`: `root`, `testSize` 3000 | 5000 | 10000 (Small / Medium / Large), list `format` (default `auto`).
 *
 * `root`, `viewLabels`: relative paths are relative to the repository root. `strictCounts` (default true): the
 * readers throw when on-disk counts differ from the published ones; false turns that into warnings.
 * A knob of another dataset may be written as `null` (cleared, e.g. `officialIndices: null` in a VehicleID file
 * extending the VeRi-776 base; `world: null` in a real-dataset file extending a synthetic one); the output holds
 * exactly the knobs of its dataset, defaults filled in.
 */
const dataShape = {
  dataset: z.enum(DATASETS).default('synthetic'),
  /** Dataset root (required except for `synthetic`, where it overrides the generated world's folder). */
  root: z.string().min(1).optional(),
  /** Synthetic world parameters (`null`: none, for a file that extends a synthetic config but reads a real dataset). */
  world: WorldConfigSchema.nullable().prefault({}),
  /** VehicleID 800 | 1600 | 2400, VeRi-Wild 3000 | 5000 | 10000. */
  testSize: z.union([z.literal(800), z.literal(1600), z.literal(2400), z.literal(3000), z.literal(5000), z.literal(10000)]).nullable().optional(),
  draws: positiveInt.nullable().optional(),
  drawSeed: z.number().int().min(0).nullable().optional(),
  officialIndices: z.boolean().nullable().optional(),
  viewLabels: z.string().min(1).nullable().optional(),
  format: z.enum(['auto', 'original', 'newer']).nullable().optional(),
  strictCounts: z.boolean().default(true),
};

/** The dataset section: the fields above, per-dataset checks, and the dataset's knobs with defaults in schema order. */
export const DataConfigSchema = z
  .strictObject(dataShape)
  .superRefine((d, ctx) => {
    const issue = (key: string, message: string): void => void ctx.addIssue({ code: 'custom', path: [key], message });
    for (const [key, datasets] of Object.entries(APPLIES)) {
      const value = (d as Record<string, unknown>)[key];
      const set = key === 'world' ? d.world !== null && Object.keys(d.world).length > 0 : isSet(value);
      if (set && !datasets.includes(d.dataset)) issue(key, `only applies to dataset ${datasets.map((x) => `'${x}'`).join(' / ')}, not '${d.dataset}'`);
    }
    if (d.dataset !== 'synthetic' && d.root === undefined) issue('root', `dataset '${d.dataset}' needs data.root (relative to the repository root, or absolute)`);
    const sizes: readonly number[] | undefined = d.dataset === 'vehicleid' ? VEHICLEID_SIZES : d.dataset === 'veriwild' ? VERIWILD_SIZES : undefined;
    if (sizes && (!isSet(d.testSize) || !sizes.includes(d.testSize!))) {
      issue('testSize', `dataset '${d.dataset}' needs testSize ${sizes.join(' | ')}${isSet(d.testSize) ? `, got ${d.testSize}` : ''}`);
    }
  })
  .transform((d) => {
    // knobs of the dataset: value or its default; knobs of other datasets (absent or null): dropped
    // Keys in schema order whatever the input order, so a resolved config re-reads to the same text.
    const input: Record<string, unknown> = { ...d, world: d.world ?? {} };
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(dataShape)) {
      const datasets = APPLIES[key];
      const value = input[key] ?? (datasets && key !== 'world' ? DATASET_DEFAULTS[d.dataset][key] : undefined);
      if (value !== undefined && (!datasets || key === 'world' || datasets.includes(d.dataset))) out[key] = value;
    }
    return out as Omit<typeof d, 'world'> & { world: WorldConfig };
  });
export type DataConfig = z.output<typeof DataConfigSchema>;

/**
 * Evaluation protocol settings (PROTOCOLS.md; turned into a metrics protocol by `protocolFor`). Flip TTA is
 * `train.eval.flip`. Re-ranking is offered on VeRi-776 / synthetic only (VeRi-Wild is too large, VehicleID has one
 * gallery image per id); VehicleID takes neither AQE nor the trapezoid AP (its protocol is fixed).
 */
export const EvalConfigSchema = z.strictObject({
  /** Cosine (1 − cos) or squared euclidean distance. */
  metric: z.enum(['cosine', 'euclidean']).default('cosine'),
  /** AP integration: non-interpolated (Python toolkits, default) or trapezoid (VeRi-776 official MATLAB). */
  ap: z.enum(['non-interpolated', 'trapezoid']).default('non-interpolated'),
  /** Length of the reported CMC curve. */
  maxRank: positiveInt.default(50),
  /** k-reciprocal re-ranking (Zhong et al. 2017). */
  rerank: z
    .strictObject({
      enabled: z.boolean().default(false),
      k1: positiveInt.default(20),
      k2: positiveInt.default(6),
      lambda: z.number().min(0).max(1).default(0.3),
    })
    .prefault({}),
  /** Alpha query expansion. */
  aqe: z
    .strictObject({
      enabled: z.boolean().default(false),
      k: positiveInt.default(5),
      alpha: z.number().min(0).default(3),
      /** Also expand the gallery features. */
      expandGallery: z.boolean().default(false),
    })
    .prefault({}),
  /** Query rows per streamed distance block (VeRi-Wild). */
  blockSize: positiveInt.default(64),
});
export type EvalConfig = z.output<typeof EvalConfigSchema>;

/** The whole experiment. */
export const ExperimentConfigSchema = z
  .strictObject({
    data: DataConfigSchema.prefault({}),
    model: ModelConfigSchema.prefault({}),
    losses: LossesConfigSchema.default(() => structuredClone(defaultLossesConfig)),
    train: TrainConfigSchema.prefault({}),
    eval: EvalConfigSchema.prefault({}),
    /** SEM pretraining (`clip-senet pretrain-sem`). */
    pretrainSem: PretrainSemConfigSchema.prefault({}),
    /** Default run folder (relative to the working directory); `--run-dir` overrides it. */
    runDir: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string): void => void ctx.addIssue({ code: 'custom', path, message });
    const ds = c.data.dataset;
    if (c.eval.rerank.enabled && ds !== 'veri776' && ds !== 'synthetic') issue(['eval', 'rerank', 'enabled'], `re-ranking is offered on veri776 / synthetic only, not '${ds}'`);
    if (ds === 'vehicleid' && c.eval.aqe.enabled) issue(['eval', 'aqe', 'enabled'], "the VehicleID protocol has no query expansion");
    if (ds === 'vehicleid' && c.eval.ap !== 'non-interpolated') issue(['eval', 'ap'], 'the VehicleID protocol uses non-interpolated AP only');
    const cv = c.model.fusion.cameraView;
    // The synthetic world always ships its view labels (view_labels.txt, 5 views); VeRi-776 needs data.viewLabels.
    if (cv && cv.numViews > 0 && !(ds === 'synthetic' || (ds === 'veri776' && typeof c.data.viewLabels === 'string'))) {
      issue(['model', 'fusion', 'cameraView', 'numViews'], 'a view embedding needs view labels: the synthetic world, or dataset veri776 with data.viewLabels');
    }
    if (cv && cv.numCameras > 0 && ds === 'vehicleid') issue(['model', 'fusion', 'cameraView', 'numCameras'], 'VehicleID has no camera ids');
    if (cv && ds === 'veri776' && cv.numCameras > 0 && cv.numCameras < 20) {
      issue(['model', 'fusion', 'cameraView', 'numCameras'], `VeRi-776 has 20 cameras (c001..c020), got numCameras ${cv.numCameras}`);
    }
  });
/**
 * A validated experiment config. Deep-frozen at runtime by `loadConfigFile`; typed as the schema output (not
 * `DeepReadonly`, which loses tuple types) so its parts pass straight to the engine's typed options.
 */
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;

/** Name of the resolved config inside a run folder. */
export const RESOLVED_CONFIG = 'resolved-config.yaml';

/** Load and validate an experiment config (with `extends` and `--set` overrides). */
export function loadExperimentConfig(path: string, overrides: readonly string[] = [], options: { requireModel?: boolean } = {}): ExperimentConfig {
  if (options.requireModel) {
    // every model knob has a default — the paper's full recipe — so a config that names no model (an empty file,
    // a typo in a top-level key) would silently build a multi-GB model: say so and let the user opt in
    const raw = resolveConfigFile(path, { overrides: [...overrides] }).value;
    if (raw.model === undefined) {
      throw new Error(`${resolve(path)}: no 'model' section (nor in the files it extends). The defaults are the paper's full ` +
        "CLIP-SENet — ResNeXt101-32x4d-IBN-a at 320×320 + TinyCLIP ViT-40M/32 at 224×224, several GB of memory and hours per " +
        "epoch on a CPU — so write 'model: {}' to train exactly that, or start from a shipped config " +
        "through 'extends' (experiments/configs/synthetic/base.yaml for the embedded world, experiments/configs/base/veri776.yaml " +
        "for the paper's recipe on VeRi-776)");
    }
  }
  return loadConfigFile(path, ExperimentConfigSchema, { overrides: [...overrides] }) as ExperimentConfig;
}

/** A config path as the process uses it: absolute stays, relative is relative to the repository root. */
export function resolveRepoPath(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path);
}

/**
 * The config with every file path made absolute by {@link resolveRepoPath} (`data.root`, `data.viewLabels`,
 * `model.appearance.weights`, `model.sem.weights`) — what commands hand to loaders and the engine. The config
 * as written is what goes into `resolved-config.yaml`.
 */
export function withRepoPaths(config: ExperimentConfig): ExperimentConfig {
  const opt = (p: string | null | undefined): string | null | undefined => (typeof p === 'string' ? resolveRepoPath(p) : p);
  const data = { ...config.data };
  if (data.root !== undefined) data.root = resolveRepoPath(data.root);
  if (typeof data.viewLabels === 'string') data.viewLabels = resolveRepoPath(data.viewLabels);
  const model = {
    ...config.model,
    appearance: { ...config.model.appearance, weights: opt(config.model.appearance.weights) ?? null },
    sem: config.model.sem === null ? null : { ...config.model.sem, weights: opt(config.model.sem.weights) ?? null },
  };
  return deepFreeze({ ...config, data, model }) as ExperimentConfig;
}

/** The YAML text of a resolved config. */
export function resolvedConfigText(config: ExperimentConfig): string {
  return stringifyConfig(config);
}

/** Content digests of files, memoised on (path, size, mtime): a grid hashes the same SEM weights once. */
const digestCache = new Map<string, string>();

/** SHA-256 (hex) of a file's bytes, or `missing` when there is no such file. */
export function fileDigest(path: string): string {
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  const memo = `${path}\0${st.size}\0${st.mtimeMs}`;
  let digest = digestCache.get(memo);
  if (digest === undefined) {
    digest = sha256Hex(readFileSync(path));
    digestCache.set(memo, digest);
  }
  return digest;
}

/** The files a run reads besides its dataset: the pretrained weights its config points at (field → repo path). */
export function weightInputs(config: ExperimentConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (config.model.appearance.weights) out['model.appearance.weights'] = config.model.appearance.weights;
  if (config.model.sem?.weights) out['model.sem.weights'] = config.model.sem.weights;
  return out;
}

/**
 * What a run is: core's one config identity of its resolved config — `text` is `resolved-config.yaml` (paths as
 * written), `inputs` maps each weights field to its file's SHA-256 (`missing` if absent), and `key` (12 hex digits)
 * is the ablation runner's run key, the run folder's name and the checkpoint hash `train` resumes against.
 */
export type RunIdentity = ConfigIdentity;

/**
 * Identity of a resolved config. The weights files it names are part of it: re-pretraining the SEM into the same
 * path gives new keys, so the runner retrains instead of reporting runs made with the old weights, and `train
 * --resume` refuses a checkpoint made with other weights. A config without weights files keys on its text alone.
 * Paths are the config's as written (repository-relative), so keys do not depend on where the repository lives.
 */
export function runIdentity(config: ExperimentConfig): RunIdentity {
  const inputs = Object.fromEntries(Object.entries(weightInputs(config)).map(([field, path]) => [field, fileDigest(resolveRepoPath(path))]));
  return configIdentity(config, inputs);
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
