/**
 * The records the ablation runner writes and the report layer reads (the contract between them).
 *
 * - A run lives in `runs/<runKey>/` (git-ignored): `resolved-config.yaml`, `log.jsonl`, `checkpoints/`,
 *   `results.json`, and — once finished — `summary.json` ({@link RunSummary}). `runKey` is a hash of the resolved
 *   config text, so identical runs are shared between ablations and never trained twice.
 * - An ablation's grid lives in `reports/ablations/<ablation>/<profile>/runs.json` ({@link AblationRecord}): the
 *   variants in order, the seeds, and for every (variant, seed) the run key and its summary (null when that run
 *   has not finished). It is committed; the tables and figures are generated from it alone.
 */
import type { RetrievalMetrics } from '@clip-senet/metrics';

/** Final retrieval metrics, as fractions in [0, 1] (metrics' one list of names). */
export type RunMetrics = RetrievalMetrics;

/** One periodic evaluation during training (from `log.jsonl` records of type `eval`). */
export interface EvalPoint {
  readonly step: number;
  /** Epochs completed when evaluated (1-based: evaluated after epoch `epoch`). */
  readonly epoch: number;
  readonly mAP: number;
  readonly rank1: number;
  readonly rank5: number;
  readonly mINP: number;
}

/** One (downsampled) training step: lr and every loss term by name (incl. `total`). */
export interface TrainPoint {
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  readonly loss: Readonly<Record<string, number>>;
}

/** A query's ranked list (for the ranked-list figure): image paths relative to the dataset root. */
export interface RankedList {
  readonly query: string;
  readonly gallery: readonly { readonly path: string; readonly match: boolean }[];
}

/** Format tag of {@link RunSummary}; `@2` fixed the evaluation epochs (`@1` recorded each one epoch late). */
export const RUN_SUMMARY_FORMAT = 'clip-senet/run-summary@2';

/** `runs/<runKey>/summary.json`: everything the reports need from one finished run. */
export interface RunSummary {
  readonly format: typeof RUN_SUMMARY_FORMAT;
  readonly runKey: string;
  /**
   * Evaluation-only runs: the run key of the trained run whose checkpoint this run re-evaluated with its own
   * evaluation settings (its curves are that run's). Absent for runs that trained.
   */
  readonly evaluates?: string;
  /** SHA-256 of each weights file the run loaded (config field → digest; part of `runKey`); absent when none. */
  readonly inputs?: Readonly<Record<string, string>>;
  /** `synthetic`, `veri776`, `vehicleid-<800|1600|2400>`, `veriwild-<small|medium|large>` (the paper cells' spelling). */
  readonly dataset: string;
  /** The metrics protocol id (distance, AP mode, re-ranking, AQE), e.g. `veri776/no-rr/cosine/non-interp`. */
  readonly protocolId: string;
  readonly seed: number;
  readonly metrics: RunMetrics;
  readonly numValidQueries: number;
  readonly numSkippedQueries: number;
  /** Images in the evaluated query / gallery lists; absent in summaries written before they were recorded. */
  readonly numQueryImages?: number;
  readonly numGalleryImages?: number;
  readonly flip: boolean;
  /** Periodic evaluations, in step order (empty when the config evaluates only at the end). */
  readonly evalCurve: readonly EvalPoint[];
  /** Training curve, downsampled to at most 50 points (first and last step always kept). */
  readonly trainCurve: readonly TrainPoint[];
  /**
   * Every query's AP in query order (6 decimals; `null` = skipped query), for the bootstrap over queries; absent in
   * summaries written before it was recorded, and where the protocol has no per-query results.
   */
  readonly apPerQuery?: readonly (number | null)[];
  /** A few queries' top-10 lists (may be empty). */
  readonly ranked: readonly RankedList[];
  /** Dataset root the ranked-list paths are relative to (absolute, machine-specific; may not exist elsewhere). */
  readonly datasetRoot: string;
  readonly backend: string;
  readonly commit: string;
  /** Wall time of the training process(es) of this run, summed over resumptions. */
  readonly wallSeconds: number;
  readonly finishedAt: string;
}

/** A paper cell a variant maps to: a key of the paper-values table, e.g. `IV/+SEM+AFEM`, `V/G=32`, `fig3/supcon/baseline`. */
export type PaperCellKey = string;

/** One variant of an ablation as recorded. */
export interface AblationVariantRecord {
  readonly name: string;
  /** One-line description (from the ablation YAML). */
  readonly description: string;
  readonly paper: readonly PaperCellKey[];
}

/** One (variant, seed) cell of the grid. */
export interface AblationRunRecord {
  readonly variant: string;
  readonly seed: number;
  readonly runKey: string;
  readonly summary: RunSummary | null;
}

/** `reports/ablations/<ablation>/<profile>/runs.json`. */
export interface AblationRecord {
  readonly format: 'clip-senet/ablation-runs@1';
  readonly ablation: string;
  readonly title: string;
  readonly profile: 'smoke' | 'default' | 'full';
  /** The variant Δ columns are computed against. */
  readonly baseline: string;
  readonly variants: readonly AblationVariantRecord[];
  readonly seeds: readonly number[];
  /** Variant-major, seed-minor, complete grid (unfinished runs have `summary: null`). */
  readonly runs: readonly AblationRunRecord[];
  /** Sum of the wall times of the grid's distinct finished runs (training + evaluation, over all resumptions). */
  readonly wallSeconds: number;
}
