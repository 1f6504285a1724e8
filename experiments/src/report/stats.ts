/**
 * Seed statistics and number formatting shared by the ablation report and the paper tables: mean and sample
 * standard deviation (n − 1) over finished seeds, in %, and the fixed text forms every table uses.
 */
import { Rng } from '@clip-senet/core/base';
import type { RunMetrics, RunSummary } from '../ablation/summary';

/** The metrics a report shows, in column order. */
export const REPORT_METRICS = ['mAP', 'rank1', 'rank5', 'mINP'] as const;
/** A metric a report shows. */
export type ReportMetric = (typeof REPORT_METRICS)[number];

/** Column headers of {@link REPORT_METRICS}. */
export const METRIC_LABEL: Readonly<Record<ReportMetric, string>> = { mAP: 'mAP', rank1: 'R1', rank5: 'R5', mINP: 'mINP' };

/** Mean and sample standard deviation (null for n = 1) of n ≥ 1 values. */
export interface MeanStd {
  readonly mean: number;
  readonly std: number | null;
  readonly n: number;
}

/** Mean and sample std (n − 1) of `values`; undefined when empty. */
export function meanStd(values: readonly number[]): MeanStd | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: null, n };
  const ss = values.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/** Per-metric mean ± std in % over the summaries (undefined when there are none). */
export function metricStats(summaries: readonly RunSummary[]): Record<ReportMetric, MeanStd> | undefined {
  if (summaries.length === 0) return undefined;
  const of = (m: keyof RunMetrics): MeanStd => meanStd(summaries.map((s) => s.metrics[m] * 100))!;
  return { mAP: of('mAP'), rank1: of('rank1'), rank5: of('rank5'), mINP: of('mINP') };
}

/** Two-sided 95 % Student-t quantiles t(0.975, df) for df = 1…30 (standard table values). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t(0.975, df): the table for df ≤ 30, beyond it the Cornish–Fisher expansion around the normal quantile (error < 1e-3). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tQuantile975: df must be an integer ≥ 1, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** A difference of means with its 95 % interval, paired over seeds. */
export interface PairedDelta {
  /** Seeds both sides finished. */
  readonly n: number;
  readonly mean: number;
  /** Interval bounds (absent for n < 2). */
  readonly lo?: number;
  readonly hi?: number;
  /** The interval excludes 0. */
  readonly decided: boolean;
}

/**
 * Mean and 95 % t-interval of the per-seed differences `variant[i] − baseline[i]` (pairs of the same seed: same data
 * order and initial draws where the variants share them); undefined when no seed has both.
 */
export function pairedDelta(pairs: readonly { readonly variant: number; readonly baseline: number }[]): PairedDelta | undefined {
  const d = pairs.map((p) => p.variant - p.baseline);
  const s = meanStd(d);
  if (!s) return undefined;
  if (s.std === null) return { n: 1, mean: s.mean, decided: false };
  const half = tQuantile975(s.n - 1) * s.std / Math.sqrt(s.n);
  const lo = s.mean - half;
  const hi = s.mean + half;
  return { n: s.n, mean: s.mean, lo, hi, decided: lo > 0 || hi < 0 };
}

/** Replicates of {@link queryBootstrapDelta}. */
export const QUERY_BOOTSTRAP_REPLICATES = 2000;
/** Seed of its resampling (fixed: a table regenerates byte-identically). */
export const QUERY_BOOTSTRAP_SEED = 20260;

/** One seed's per-query AP of the variant and the baseline (query order, `null` = skipped query). */
export interface QueryPair {
  readonly variant: readonly (number | null)[];
  readonly baseline: readonly (number | null)[];
}

/**
 * Δ mAP in points with a 95 % percentile interval from a bootstrap over queries: each replicate draws the valid
 * queries with replacement (the same draw for every seed) and averages, over the seeds, the mean per-query AP
 * difference on that draw. It measures how much the test set's queries alone move the difference (seeds' training
 * randomness is the paired t-interval's job). Undefined without per-query AP; an error when the seeds' query lists
 * differ in length (not the same test set).
 */
export function queryBootstrapDelta(pairs: readonly QueryPair[], replicates = QUERY_BOOTSTRAP_REPLICATES, seed = QUERY_BOOTSTRAP_SEED): PairedDelta | undefined {
  if (pairs.length === 0) return undefined;
  const q = pairs[0]!.variant.length;
  for (const p of pairs) {
    if (p.variant.length !== q || p.baseline.length !== q) throw new Error(`queryBootstrapDelta: per-query AP lists of different lengths (${q} vs ${p.variant.length}/${p.baseline.length}): not the same test set`);
  }
  const valid: number[] = [];
  for (let i = 0; i < q; i++) if (pairs.every((p) => p.variant[i] !== null && p.baseline[i] !== null)) valid.push(i);
  if (valid.length === 0) return undefined;
  const diffs = pairs.map((p) => valid.map((i) => (p.variant[i]! - p.baseline[i]!) * 100));
  const meanOver = (idx: ArrayLike<number>): number => {
    let total = 0;
    for (const d of diffs) {
      let acc = 0;
      for (let k = 0; k < idx.length; k++) acc += d[idx[k]!]!;
      total += acc / idx.length;
    }
    return total / diffs.length;
  };
  const mean = meanOver(valid.map((_, k) => k));
  const rng = new Rng(seed);
  const stats = new Float64Array(replicates);
  const draw = new Int32Array(valid.length);
  for (let b = 0; b < replicates; b++) {
    for (let k = 0; k < draw.length; k++) draw[k] = rng.int(valid.length);
    stats[b] = meanOver(draw);
  }
  stats.sort();
  const at = (p: number): number => stats[Math.min(replicates - 1, Math.max(0, Math.round(p * (replicates - 1))))]!;
  const lo = at(0.025);
  const hi = at(0.975);
  return { n: pairs.length, mean, lo, hi, decided: lo > 0 || hi < 0 };
}

/** The bootstrap cell: `[+0.4, +2.1] decided (48 queries)`. */
export function fmtQueryBootstrap(p: PairedDelta, queries: number): string {
  return `[${fmtDelta(p.lo!)}, ${fmtDelta(p.hi!)}] ${p.decided ? 'decided' : 'not decided'} (${queries} queries)`;
}

/** One sentence on the bootstrap column. */
export const QUERY_BOOTSTRAP_METHOD =
  `Δ mAP query bootstrap: ${QUERY_BOOTSTRAP_REPLICATES} resamplings of the test queries with replacement (the same draw for every seed, ` +
  'seeded), the 2.5th–97.5th percentile of the seed-mean Δ mAP; it shows how much the choice of queries alone moves the difference.';

/** The interval cell: `[-1.2, +3.4] not decided at 2 seeds`, `[+0.4, +2.1] decided`, `not decided at 1 seed`. */
export function fmtPairedDelta(p: PairedDelta): string {
  const seeds = `${p.n} seed${p.n === 1 ? '' : 's'}`;
  if (p.lo === undefined || p.hi === undefined) return `not decided at ${seeds}`;
  return `[${fmtDelta(p.lo)}, ${fmtDelta(p.hi)}] ${p.decided ? 'decided' : `not decided at ${seeds}`}`;
}

/** One sentence stating how the interval column is computed (under every table that has it). */
export const PAIRED_DELTA_METHOD =
  'Δ mAP 95% CI: over the seeds both the variant and the baseline finished, paired by seed (same data order and initial draws ' +
  'where they share them), mean difference ± t(0.975, n − 1) · sd / √n; "decided" when the interval excludes 0.';

/** `x` with one decimal. */
export function fmt1(x: number): string {
  const s = x.toFixed(1);
  return s === '-0.0' ? '0.0' : s;
}

/** `mean ± std` with one decimal; std `—` for a single seed. */
export function fmtMeanStd(s: MeanStd): string {
  return `${fmt1(s.mean)} ± ${s.std === null ? '—' : fmt1(s.std)}`;
}

/** A signed difference with one decimal (`+1.2`, `-0.4`, `0.0`). */
export function fmtDelta(d: number): string {
  const s = fmt1(d);
  return d > 0 && s !== '0.0' ? `+${s}` : s;
}

/** A number for a CSV cell: full precision, empty when absent. */
export function csvNum(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '' : String(x);
}

/** Seconds as `1h 02m 03s` / `2m 03s` / `3s`. */
export function fmtDuration(seconds: number): string {
  const t = Math.round(seconds);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(s).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Sorted distinct values. */
export function distinct(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/** Escape text for a Markdown table cell. */
export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A Markdown table. */
export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
