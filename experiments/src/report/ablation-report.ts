/**
 * One ablation's table (issue 7 part 4): from its `runs.json` ({@link AblationRecord}) to a CSV (machine-friendly,
 * full precision) and a Markdown page. Rows are the variants in order; metrics are mean ± sample std over the
 * finished seeds in %, Δ against the baseline variant's mean, and — where a variant maps to a paper cell — the
 * paper's value and the paper's own Δ against the cell the baseline maps to in the same table. Unfinished runs are
 * counted, never filled in. Output depends on the record alone (no clock), so regeneration is byte-identical.
 */
import { stringify } from 'csv-stringify/sync';
import type { AblationRecord, AblationVariantRecord, RunSummary } from '../ablation/summary';
import { findPaperCell, type PaperCell, type PaperMetric } from './paper-values';
import {
  csvNum, distinct, fmt1, fmtDelta, fmtDuration, fmtMeanStd, fmtPairedDelta, fmtQueryBootstrap, mdCell, mdTable, metricStats, METRIC_LABEL, PAIRED_DELTA_METHOD, pairedDelta,
  QUERY_BOOTSTRAP_METHOD, queryBootstrapDelta, REPORT_METRICS, type QueryPair,
  type MeanStd, type PairedDelta, type ReportMetric,
} from './stats';
import { PLATEAU_METHOD, plateauCount, plateauStatus, type PlateauStatus } from './plateau';

/** The paper side of a variant's row. */
export interface PaperSide {
  readonly cell: PaperCell;
  /** Paper value minus the paper value of the baseline's cell in the same table (when both exist). */
  readonly delta: Readonly<Partial<Record<PaperMetric, number>>>;
}

/** One variant's row of the ablation table. */
export interface VariantRow {
  readonly variant: AblationVariantRecord;
  readonly isBaseline: boolean;
  readonly finished: number;
  readonly total: number;
  /** Mean ± std in % (undefined when no seed finished). */
  readonly stats?: Readonly<Record<ReportMetric, MeanStd>>;
  /** Mean minus the baseline's mean, in points (undefined when either side has no finished seed). */
  readonly delta?: Readonly<Record<'mAP' | 'rank1', number>>;
  /** Δ mAP paired over the seeds both finished, with its 95 % interval (not for the baseline). */
  readonly ci?: PairedDelta;
  /** Δ mAP with the 95 % interval of the bootstrap over queries (where both sides recorded per-query AP). */
  readonly boot?: { readonly delta: PairedDelta; readonly queries: number };
  readonly paper?: PaperSide;
}

/** Finished summaries of one variant, in seed order. */
export function finishedSummaries(record: AblationRecord, variant: string): RunSummary[] {
  return record.runs.filter((r) => r.variant === variant && r.summary !== null).map((r) => r.summary!);
}

/** The first paper key of a variant that names a known cell (ablation files with unknown keys are refused when loaded; a record written before that shows them flagged). */
function primaryCell(variant: AblationVariantRecord, table?: string): PaperCell | undefined {
  for (const key of variant.paper) {
    const c = findPaperCell(key);
    if (c && (table === undefined || c.table === table)) return c;
  }
  return undefined;
}

function paperSide(variant: AblationVariantRecord, baseline: AblationVariantRecord | undefined): PaperSide | undefined {
  const cell = primaryCell(variant);
  if (!cell) return undefined;
  const base = baseline ? primaryCell(baseline, cell.table) : undefined;
  const delta: Partial<Record<PaperMetric, number>> = {};
  if (base) {
    for (const m of ['mAP', 'rank1', 'rank5'] as const) {
      const a = cell.values[m];
      const b = base.values[m];
      if (a !== undefined && b !== undefined) delta[m] = a - b;
    }
  }
  return { cell, delta };
}

/** (variant, baseline) values in % of one metric for every seed where both finished. */
function seedPairs(record: AblationRecord, variant: string, metric: ReportMetric): { variant: number; baseline: number }[] {
  const bySeed = (name: string): Map<number, number> =>
    new Map(record.runs.filter((r) => r.variant === name && r.summary !== null).map((r) => [r.seed, r.summary!.metrics[metric] * 100]));
  const base = bySeed(record.baseline);
  return [...bySeed(variant)].filter(([seed]) => base.has(seed)).map(([seed, v]) => ({ variant: v, baseline: base.get(seed)! }));
}

/** Per-query AP of the variant and the baseline for every seed where both finished and recorded it. */
function queryPairs(record: AblationRecord, variant: string): QueryPair[] {
  const bySeed = (name: string): Map<number, readonly (number | null)[]> =>
    new Map(record.runs.flatMap((r) => (r.variant === name && r.summary?.apPerQuery ? [[r.seed, r.summary.apPerQuery] as const] : [])));
  const base = bySeed(record.baseline);
  return [...bySeed(variant)].filter(([seed]) => base.has(seed)).map(([seed, v]) => ({ variant: v, baseline: base.get(seed)! }));
}

function bootstrapOf(record: AblationRecord, variant: string): VariantRow['boot'] {
  const pairs = queryPairs(record, variant);
  const delta = queryBootstrapDelta(pairs);
  if (!delta) return undefined;
  const queries = pairs[0]!.variant.filter((x, i) => pairs.every((p) => p.variant[i] !== null && p.baseline[i] !== null) && x !== null).length;
  return { delta, queries };
}

/** The rows of an ablation table, variants in record order. */
export function ablationRows(record: AblationRecord): VariantRow[] {
  const baseVariant = record.variants.find((v) => v.name === record.baseline);
  const baseStats = metricStats(finishedSummaries(record, record.baseline));
  return record.variants.map((variant) => {
    const total = record.runs.filter((r) => r.variant === variant.name).length;
    const summaries = finishedSummaries(record, variant.name);
    const stats = metricStats(summaries);
    const delta = stats && baseStats ? { mAP: stats.mAP.mean - baseStats.mAP.mean, rank1: stats.rank1.mean - baseStats.rank1.mean } : undefined;
    const paper = paperSide(variant, baseVariant);
    const ci = variant.name === record.baseline ? undefined : pairedDelta(seedPairs(record, variant.name, 'mAP'));
    const boot = variant.name === record.baseline ? undefined : bootstrapOf(record, variant.name);
    return {
      variant, isBaseline: variant.name === record.baseline, finished: summaries.length, total,
      ...(stats ? { stats } : {}), ...(delta ? { delta } : {}), ...(ci ? { ci } : {}), ...(boot ? { boot } : {}), ...(paper ? { paper } : {}),
    };
  });
}

const CSV_COLUMNS = [
  'ablation', 'profile', 'variant', 'description', 'is_baseline', 'seeds_finished', 'seeds_total',
  ...REPORT_METRICS.flatMap((m) => [`${m}_mean`, `${m}_std`]),
  'plateau_judged', 'plateau_on',
  'delta_mAP', 'delta_rank1', 'delta_mAP_paired_n', 'delta_mAP_ci95_lo', 'delta_mAP_ci95_hi', 'delta_mAP_decided',
  'delta_mAP_query_bootstrap_queries', 'delta_mAP_query_bootstrap_lo', 'delta_mAP_query_bootstrap_hi', 'delta_mAP_query_bootstrap_decided', 'paper_key', 'paper_mAP', 'paper_rank1', 'paper_rank5', 'paper_delta_mAP', 'paper_delta_rank1', 'paper_delta_rank5',
];

/** The ablation table as CSV (values in %, full precision; empty cells for absent values). */
export function ablationCsv(record: AblationRecord): string {
  const rows = ablationRows(record).map((r) => [
    record.ablation, record.profile, r.variant.name, r.variant.description, r.isBaseline ? 'true' : 'false', String(r.finished), String(r.total),
    ...REPORT_METRICS.flatMap((m) => [csvNum(r.stats?.[m].mean), csvNum(r.stats?.[m].std)]),
    ...plateauCsv(finishedSummaries(record, r.variant.name)),
    csvNum(r.delta?.mAP), csvNum(r.delta?.rank1),
    csvNum(r.ci?.n), csvNum(r.ci?.lo), csvNum(r.ci?.hi), r.ci ? String(r.ci.decided) : '',
    csvNum(r.boot?.queries), csvNum(r.boot?.delta.lo), csvNum(r.boot?.delta.hi), r.boot ? String(r.boot.delta.decided) : '',
    r.paper?.cell.key ?? '', csvNum(r.paper?.cell.values.mAP), csvNum(r.paper?.cell.values.rank1), csvNum(r.paper?.cell.values.rank5),
    csvNum(r.paper?.delta.mAP), csvNum(r.paper?.delta.rank1), csvNum(r.paper?.delta.rank5),
  ]);
  return stringify([CSV_COLUMNS, ...rows], { eof: true });
}

function plateauCsv(summaries: readonly RunSummary[]): [string, string] {
  const judged = summaries.map(plateauStatus).filter((x) => x.kind !== 'unjudged');
  return [String(judged.length), String(judged.filter((x) => x.kind === 'plateau').length)];
}

function metricCells(r: VariantRow): string[] {
  if (!r.stats) return REPORT_METRICS.map(() => 'not run');
  return REPORT_METRICS.map((m) => fmtMeanStd(r.stats![m]));
}

function deltaCells(r: VariantRow): string[] {
  if (r.isBaseline) return ['baseline', 'baseline', 'baseline', 'baseline'];
  if (!r.delta) return ['—', '—', '—', '—'];
  const boot = r.boot ? fmtQueryBootstrap(r.boot.delta, r.boot.queries) : r.ci ? 'no per-query AP recorded' : 'no seed in common';
  return [fmtDelta(r.delta.mAP), fmtDelta(r.delta.rank1), r.ci ? fmtPairedDelta(r.ci) : 'no seed in common', boot];
}

/** The paper-cell column: the cell the values come from, then any other keys (unknown ones flagged). */
function keyText(r: VariantRow): string {
  const primary = r.paper?.cell.key;
  const others = r.variant.paper.filter((k) => k !== primary).map((k) => (findPaperCell(k) ? `\`${k}\`` : `\`${k}\` (unknown key)`));
  if (primary === undefined) return others.length === 0 ? '—' : others.join(', ');
  return others.length === 0 ? `\`${primary}\`` : `\`${primary}\` (also ${others.join(', ')})`;
}

function paperCells(r: VariantRow): string[] {
  if (!r.paper) return [keyText(r), '—', '—', '—', '—'];
  const { cell, delta } = r.paper;
  const val = (x: number | undefined): string => (x === undefined ? '—' : fmt1(x));
  const d = (x: number | undefined): string => (r.isBaseline ? 'baseline' : x === undefined ? '—' : fmtDelta(x));
  return [keyText(r), val(cell.values.mAP), val(cell.values.rank1), d(delta.mAP), d(delta.rank1)];
}

/** The Markdown table rows (exposed for tests). */
export function ablationMarkdownRows(record: AblationRecord): string[][] {
  return ablationRows(record).map((r) => [
    `\`${r.variant.name}\``, mdCell(r.variant.description), `${r.finished}/${r.total} seeds`, ...metricCells(r), ...deltaCells(r),
    plateauCount(finishedSummaries(record, r.variant.name)), ...paperCells(r),
  ]);
}

/** The Markdown table header. */
export const ABLATION_MD_HEADER: readonly string[] = [
  'variant', 'description', 'seeds', ...REPORT_METRICS.map((m) => `${METRIC_LABEL[m]} (%)`), 'Δ mAP', 'Δ R1', 'Δ mAP 95% CI', 'Δ mAP query bootstrap', 'on plateau', 'paper cell', 'paper mAP', 'paper R1', 'paper Δ mAP', 'paper Δ R1',
];

/** What figures exist next to the tables (decided from the record, so the Markdown is machine-independent). */
export interface FigureRefs {
  readonly train?: string;
  readonly curves?: string;
  readonly ranked?: string;
  /** The forest plot of Δ mAP with its interval (shown under the table). */
  readonly delta?: string;
}

function footer(record: AblationRecord): string {
  const s = record.runs.flatMap((r) => (r.summary ? [r.summary] : []));
  const list = (xs: readonly string[]): string => (xs.length === 0 ? '— (no finished run)' : xs.map((x) => `\`${x}\``).join(', '));
  const finished = s.length;
  return [
    '## Provenance',
    '',
    `- protocol: ${list(distinct(s.map((x) => x.protocolId)))}`,
    `- dataset: ${list(distinct(s.map((x) => x.dataset)))}`,
    `- backend: ${list(distinct(s.map((x) => x.backend)))}`,
    `- commit: ${list(distinct(s.map((x) => x.commit)))}`,
    `- seeds: ${record.seeds.join(', ')}; ${finished}/${record.runs.length} runs finished`,
    `- test set: ${testSetText(s)}`,
    `- flip TTA: ${list(distinct(s.map((x) => String(x.flip))))}`,
    `- total wall time: ${fmtDuration(record.wallSeconds)} (as recorded in runs.json)`,
    `- profile: \`${record.profile}\``,
    '',
    'Every number in this file was produced by the ablation runner from `runs.json` (generated by `clip-senet report`; do not edit).',
  ].join('\n');
}

/** Query and gallery sizes of the finished runs (distinct values), or why they are not known (page footer, README). */
export function testSetText(s: readonly RunSummary[]): string {
  if (s.length === 0) return '—';
  const sizes = distinct(s.map((x) => (x.numQueryImages !== undefined && x.numGalleryImages !== undefined
    ? `${x.numQueryImages} query images (${x.numValidQueries} valid), ${x.numGalleryImages} gallery images`
    : `${x.numValidQueries} valid queries; gallery size not recorded (run predates it)`)));
  return sizes.join('; ');
}

function plateauText(p: PlateauStatus): string {
  if (p.kind === 'unjudged') return `not judged (${p.evaluations} evaluation${p.evaluations === 1 ? '' : 's'})`;
  const what = p.kind === 'plateau' ? 'on plateau' : p.kind;
  return `${what} (${fmt1(p.previous)} → ${fmt1(p.last)} at epochs ${p.epochs[0]} → ${p.epochs[1]}, ${fmtDelta(p.change)})`;
}

/** Every run of the grid: its final mAP and its plateau status (unfinished runs say so). */
function runsSection(record: AblationRecord): string {
  const rows = record.runs.map((r) => {
    const s = r.summary;
    const run = s?.evaluates ? `\`${r.runKey}\` (evaluates the checkpoint of \`${s.evaluates}\`)` : `\`${r.runKey}\``;
    return [`\`${r.variant}\``, String(r.seed), run, s ? fmt1(s.metrics.mAP * 100) : 'not finished', s ? plateauText(plateauStatus(s)) : '—'];
  });
  const evalOnly = record.runs.some((r) => r.summary?.evaluates !== undefined)
    ? ' Evaluation-only runs re-evaluated the checkpoint they name with their own evaluation settings (no training of their own); their curves are that run\'s.'
    : '';
  return ['## Runs', '', `${PLATEAU_METHOD}${evalOnly}`, '', mdTable(['variant', 'seed', 'run', 'mAP (%)', 'last two evaluations (mAP %)'], rows), ''].join('\n');
}

function figureSection(record: AblationRecord, figures: FigureRefs): string {
  const parts = ['## Figures', ''];
  if (figures.train) parts.push(`Training loss (total) vs step, seed mean per variant (shaded band: min–max over seeds): ![training curves](${figures.train})`, '');
  else parts.push('No training curve recorded (no finished run).', '');
  if (figures.curves) parts.push(`mAP vs epoch from the periodic evaluations (seed mean; shaded band: min–max over seeds): ![evaluation curves](${figures.curves})`, '');
  if (figures.ranked) {
    const roots = distinct(record.runs.flatMap((r) => (r.summary && r.summary.ranked.length > 0 ? [r.summary.datasetRoot] : [])));
    parts.push(
      `Ranked lists (query, then top-10 gallery; green = same identity, red = not): \`${figures.ranked}\`. ` +
        `It is drawn only where the images exist (dataset root ${roots.map((r) => `\`${r}\``).join(', ') || '—'}); ` +
        'when that file is missing next to this page, the images were not on the machine that generated the reports (e.g. CI).',
      '',
    );
  }
  return parts.join('\n');
}

/** The ablation page as Markdown. `figures` names the figure files next to it (relative links). */
export function ablationMarkdown(record: AblationRecord, figures: FigureRefs = {}): string {
  const head = [
    `# ${mdCell(record.title)}`,
    '',
    `Ablation \`${record.ablation}\`, profile \`${record.profile}\`, baseline \`${record.baseline}\`. ` +
      'Metrics in %: mean ± sample std (n − 1) over the finished seeds (— for one seed); Δ = variant mean − baseline mean in points. ' +
      `${PAIRED_DELTA_METHOD} ${QUERY_BOOTSTRAP_METHOD} ${PLATEAU_METHOD} ` +
      'Paper columns: the first paper cell the variant maps to; paper Δ = that cell − the cell the baseline maps to in the same table. ' +
      '"k/n seeds" counts finished runs; "not run" means none finished.',
    '',
  ].join('\n');
  const table = mdTable(ABLATION_MD_HEADER, ablationMarkdownRows(record));
  const forest = figures.delta ? `\n\nΔ mAP vs \`${record.baseline}\` with its paired 95% interval: ![Δ mAP forest plot](${figures.delta})` : '';
  return `${head}\n${table}${forest}\n\n${figureSection(record, figures)}\n${runsSection(record)}\n${footer(record)}\n`;
}
