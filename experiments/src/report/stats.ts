/**
 * Seed statistics and number formatting shared by the ablation report and the paper tables: mean and sample
 * standard deviation (n − 1) over finished seeds, in %, and the fixed text forms every table uses.
 */
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
