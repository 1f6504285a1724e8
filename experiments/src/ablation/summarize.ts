/**
 * Turning a finished run folder into its {@link RunSummary}: final metrics from `results.json`, the evaluation and
 * (downsampled) training curves from `log.jsonl`, wall time from the runner's attempt log `attempts.jsonl`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERIWILD_FACTS, writeJsonAtomic, type VeriWildTestSize } from '@clip-senet/core/base';
import type { EvalResults } from '@clip-senet/engine';
import { RETRIEVAL_METRICS, type RetrievalMetric } from '@clip-senet/metrics';
import type { ExperimentConfig } from '../config';
import { RUN_SUMMARY_FORMAT, type EvalPoint, type RunSummary, type TrainPoint } from './summary';

/** Files of a run folder the runner reads or writes. */
export const RUN_FILES = {
  results: 'results.json',
  log: 'log.jsonl',
  summary: 'summary.json',
  attempts: 'attempts.jsonl',
  lock: 'runner.lock',
} as const;

/** At most this many training-curve points are kept (first and last always): enough for the training-curve figure,
 * small enough that a committed grid record stays around 100–200 KB. */
export const MAX_TRAIN_POINTS = 50;


/** The dataset tag of a config: `synthetic`, `veri776`, `vehicleid-800`, `veriwild-small`, … (as the paper cells spell it). */
export function datasetTag(config: ExperimentConfig): string {
  const { dataset, testSize } = config.data;
  if (testSize === undefined || testSize === null) return dataset;
  // VeRi-Wild test sets by name (as the metrics protocol ids and the paper tables spell them), VehicleID by size
  return `${dataset}-${dataset === 'veriwild' ? VERIWILD_FACTS.tests[testSize as VeriWildTestSize].name : testSize}`;
}

/** What a summary reads of a run's `results.json` (the engine's {@link EvalResults}, written by train or eval). */
type ResultsJson = Pick<EvalResults, RetrievalMetric | 'protocolId' | 'numValidQueries' | 'numSkippedQueries' | 'flip' | 'seed' | 'backend' | 'commit' | 'time' | 'ranked' | 'apPerQuery' | 'numQueryImages' | 'numGalleryImages'>;

function readJsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON line`);
      }
    });
}

/** Keep at most `max` points, evenly spaced, always the first and the last. */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]!);
  return out;
}

/** Total wall seconds of the runner's attempts at a run. */
export function attemptSeconds(runDir: string): number {
  return readJsonLines(join(runDir, RUN_FILES.attempts)).reduce((s, a) => s + (typeof a.seconds === 'number' ? a.seconds : 0), 0);
}

/** Build the summary of a finished run (its `results.json` must exist). */
export function summarizeRun(runDir: string, runKey: string, config: ExperimentConfig, datasetRoot: string, inputs: Readonly<Record<string, string>> = {}): RunSummary {
  const resultsFile = join(runDir, RUN_FILES.results);
  if (!existsSync(resultsFile)) throw new Error(`run ${runDir} has no ${RUN_FILES.results} (not finished)`);
  const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as ResultsJson;
  for (const k of RETRIEVAL_METRICS) {
    if (typeof r[k] !== 'number') throw new Error(`${resultsFile}: '${k}' is missing or not a number`);
  }
  const log = readJsonLines(join(runDir, RUN_FILES.log));
  const evalCurve: EvalPoint[] = log
    .filter((l) => l.type === 'eval')
    .map((l) => {
      const m = l.metrics as Record<string, number>;
      // the eval hook logs `ctx.epoch` after the epoch ended: already the number of completed epochs
      return { step: l.step as number, epoch: l.epoch as number, mAP: m.mAP!, rank1: m.rank1!, rank5: m.rank5!, mINP: m.mINP! };
    });
  const steps: TrainPoint[] = log
    .filter((l) => l.type === 'step')
    .map((l) => ({ step: l.step as number, epoch: l.epoch as number, lr: l.lr as number, loss: l.loss as Record<string, number> }));
  return {
    format: RUN_SUMMARY_FORMAT,
    runKey,
    ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
    dataset: datasetTag(config),
    protocolId: r.protocolId,
    seed: config.train.seed,
    metrics: Object.fromEntries(RETRIEVAL_METRICS.map((k) => [k, r[k]])) as RunSummary['metrics'],
    numValidQueries: r.numValidQueries,
    numSkippedQueries: r.numSkippedQueries,
    ...(typeof r.numQueryImages === 'number' && typeof r.numGalleryImages === 'number' ? { numQueryImages: r.numQueryImages, numGalleryImages: r.numGalleryImages } : {}),
    flip: r.flip,
    evalCurve,
    trainCurve: downsample(steps, MAX_TRAIN_POINTS),
    ...(r.apPerQuery ? { apPerQuery: r.apPerQuery.map((ap) => (ap === null ? null : Math.round(ap * 1e6) / 1e6)) } : {}),
    ranked: r.ranked ?? [],
    datasetRoot,
    backend: r.backend,
    commit: r.commit,
    wallSeconds: Math.round(attemptSeconds(runDir) * 10) / 10,
    finishedAt: r.time,
  };
}

/**
 * The summary of an evaluation-only run: its metrics, ranked lists and provenance from its own `results.json`
 * (written by `clip-senet eval --config`), its curves from the summary of the run whose checkpoint it evaluated
 * (`evaluates` names that run), its wall time the evaluation's alone.
 */
export function summarizeEvaluation(runDir: string, runKey: string, config: ExperimentConfig, datasetRoot: string, inputs: Readonly<Record<string, string>>, trained: RunSummary): RunSummary {
  const own = summarizeRun(runDir, runKey, config, datasetRoot, inputs);
  return { ...own, evaluates: trained.runKey, evalCurve: trained.evalCurve, trainCurve: trained.trainCurve };
}

/**
 * A summary as the current format holds it. `run-summary@1` (written before the eval-epoch fix) recorded every
 * evaluation one epoch late — the log's `epoch` (epochs completed) plus 1 — so its curve is shifted back by exactly
 * that; anything else that is not the current format is an error naming `where`.
 */
export function upgradeSummary(raw: unknown, where: string): RunSummary {
  const s = raw as { format?: unknown; evalCurve?: readonly EvalPoint[] };
  if (s?.format === RUN_SUMMARY_FORMAT) return raw as RunSummary;
  if (s?.format === 'clip-senet/run-summary@1') {
    const evalCurve = (s.evalCurve ?? []).map((p) => ({ ...p, epoch: p.epoch - 1 }));
    return { ...(raw as RunSummary), format: RUN_SUMMARY_FORMAT, evalCurve };
  }
  throw new Error(`${where}: unknown format '${String(s?.format)}' (expected ${RUN_SUMMARY_FORMAT})`);
}

/** Read a run's `summary.json` (upgraded to the current format), or undefined when absent. */
export function readSummary(runDir: string): RunSummary | undefined {
  const file = join(runDir, RUN_FILES.summary);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); delete it to re-summarise the run from results.json`);
  }
  return upgradeSummary(raw, file);
}

/** Write a run's `summary.json` atomically. */
export function writeSummary(runDir: string, summary: RunSummary): void {
  writeJsonAtomic(join(runDir, RUN_FILES.summary), summary);
}
