/**
 * Expanding an ablation into runs: variants × seeds, each resolved to a validated experiment config and keyed by
 * a hash of its resolved YAML text. Runs with the same resolved config (the same baseline in two ablations, say)
 * get the same key and are trained once. `--shard i/n` takes every n-th run of the sorted key list, so shards are
 * disjoint, cover the grid, and agree across machines without coordination.
 */
import { join } from 'node:path';
import { layerConfig, overrideConfig, parseOverrides, resolveConfigFile, validateConfig, type ResolvedConfig } from '@clip-senet/core/base';
import { ExperimentConfigSchema, runIdentity, type ExperimentConfig } from '../config';
import { trainingDifferences } from '../eval-settings';
import { ablationPath, type LoadedAblation, type Profile } from './definition';

/** One run of the grid. */
export interface PlannedRun {
  readonly variant: string;
  readonly seed: number;
  readonly config: ExperimentConfig;
  /** The resolved YAML text (what `resolved-config.yaml` holds). */
  readonly configText: string;
  /** Config field → SHA-256 of each weights file the run loads (`missing` if absent); part of the key. */
  readonly inputs: Readonly<Record<string, string>>;
  /** {@link runIdentity}'s key: 12 hex digits of SHA-256 of `configText` + the weights digests. */
  readonly runKey: string;
  /**
   * For an evaluation-only variant: the run whose checkpoint this one evaluates (the same config without the
   * variant's evaluation settings). Absent for runs that train.
   */
  readonly evaluates?: TrainingRun;
}

/** The training a run needs: its own, or for an evaluation-only run the run it evaluates. */
export interface TrainingRun {
  readonly config: ExperimentConfig;
  readonly configText: string;
  readonly inputs: Readonly<Record<string, string>>;
  readonly runKey: string;
}

/** The run that must be trained for `run` (itself, or the run an evaluation-only run evaluates), with its cell. */
export function trainingRunOf(run: PlannedRun): PlannedRun {
  return run.evaluates ? { variant: run.variant, seed: run.seed, ...run.evaluates } : run;
}

/** The expanded grid of one ablation at one profile. */
export interface AblationPlan {
  readonly ablation: LoadedAblation;
  readonly profile: Profile;
  readonly baseFile: string;
  readonly seeds: readonly number[];
  readonly variants: readonly string[];
  /** Variant-major, seed-minor. */
  readonly runs: readonly PlannedRun[];
}

/** Options of {@link planAblation}. */
export interface PlanOptions {
  readonly profile: Profile;
  /** `key.path=value` overrides applied to every run (after the ablation's own layers). */
  readonly overrides?: readonly string[];
  /** Replace the seed list. */
  readonly seeds?: readonly number[];
}

/** Expand an ablation into its validated runs. Errors name the variant and seed, and each bad key's file and line. */
export function planAblation(ablation: LoadedAblation, options: PlanOptions): AblationPlan {
  const { def, source } = ablation;
  const profileName = options.profile;
  const profile = def.profiles[profileName] ?? {};
  const baseFile = ablationPath(ablation, profile.base ?? def.base);
  const overrides = parseOverrides(options.overrides ?? []);
  const seeds = options.seeds ?? profile.seeds ?? def.seeds;
  const seedsAt = options.seeds ? undefined : profile.seeds ? ['profiles', profileName, 'seeds'] : ['seeds'];
  const variants = def.variants.filter((v) => profile.variants?.includes(v.name) ?? true);
  const runs: PlannedRun[] = [];
  // Layers, later winning: base file → ablation `set` → profile `set` → variant `set` → variant profile `set` → seed → --set.
  const at = (...path: PropertyKey[]) => ({ in: source, at: path });
  const common = layerConfig(layerConfig(resolveConfigFile(baseFile), def.set, at('set')), profile.set, at('profiles', profileName, 'set'));
  for (const v of variants) {
    const index = def.variants.indexOf(v);
    const layered = layerConfig(layerConfig(common, v.set, at('variants', index, 'set')), v.profiles[profileName]?.set, at('variants', index, 'profiles', profileName, 'set'));
    seeds.forEach((seed, k) => {
      const resolveRun = (layers: ResolvedConfig, what: string): TrainingRun => {
        const seeded = layerConfig(layers, { train: { seed } }, seedsAt ? at(...seedsAt, k) : { source: '--seeds' });
        const config = validateConfig(overrideConfig(seeded, overrides), ExperimentConfigSchema, {
          what: `experiment config of ${what} in ablation ${ablation.file} (seed ${seed}, profile ${profileName}, base ${baseFile})`,
        }) as ExperimentConfig; // frozen and marked: the trainer's builders take it without parsing again
        const id = runIdentity(config);
        return { config, configText: id.text, inputs: id.inputs, runKey: id.key };
      };
      const own = resolveRun(layered, `variant '${v.name}'`);
      let evaluates: TrainingRun | undefined;
      if (v.evaluateOnly) {
        const trained = resolveRun(common, `the run evaluation-only variant '${v.name}' evaluates`);
        const diff = trainingDifferences(trained.config, own.config);
        if (diff.length > 0) {
          throw new Error(`ablation ${ablation.file}: variant '${v.name}' is evaluateOnly but changes ${diff.slice(0, 5).map((d) => `'${d}'`).join(', ')}` +
            `${diff.length > 5 ? ', …' : ''} (only eval.* and train.eval.flip may differ from the run it evaluates)`);
        }
        if (trained.runKey !== own.runKey) evaluates = trained; // same config as the trained run: it is that run
      }
      runs.push({ variant: v.name, seed, ...own, ...(evaluates ? { evaluates } : {}) });
    });
  }
  return { ablation, profile: profileName, baseFile, seeds, variants: variants.map((v) => v.name), runs };
}

/** A `--shard i/n` selection (1-based i). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Parse `i/n` (1 ≤ i ≤ n). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new Error(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/4), got '${text}'`);
  return { index, count };
}

/**
 * The distinct run keys this shard trains: the grid's distinct keys sorted, every `count`-th from `index − 1`.
 * (Sorting by key, not by position, keeps shards stable when variants are reordered.)
 */
export function shardKeys(runs: readonly PlannedRun[], shard: Shard | undefined): Set<string> {
  const keys = [...new Set(runs.map((r) => r.runKey))].sort();
  return new Set(shard ? keys.filter((_, i) => i % shard.count === shard.index - 1) : keys);
}

/** Folder of a run. */
export function runDirFor(runsDir: string, runKey: string): string {
  return join(runsDir, runKey);
}
