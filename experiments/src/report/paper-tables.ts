/**
 * `reports/paper-tables.md` (+ one CSV per table, and `fig3.png` when there is data): the paper's Tables I–VI and
 * Fig. 3 with our numbers beside them, gathered from every committed ablation record. A run fills a paper cell when
 * its variant maps to that cell's key: in the "ours" column when its dataset is the cell's dataset, in the
 * separate "embedded synthetic world (not comparable)" column when it ran on the synthetic world. Runs are grouped
 * per (record, protocol, column) — different protocols or profiles are never averaged together. Output depends on
 * the records alone, so regeneration is byte-identical.
 */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { AblationRecord, RunSummary } from '../ablation/summary';
import { drawLineChart, paletteColor, type ChartSeries } from './line-chart';
import { meanCurve } from './figures';
import { FIG3_EPOCHS, PAPER_CELLS, PAPER_TABLES, findPaperCell, type PaperCell, type PaperTable } from './paper-values';
import { repoRelative, type GeneratedFile } from './report-files';
import { csvNum, distinct, fmt1, fmtMeanStd, mdCell, mdTable, meanStd, metricStats, REPORT_METRICS } from './stats';
import { checkClaims, claimsCsv, claimsMarkdown } from './claims';

/** A record and where it was read from. */
export interface LoadedRecord {
  readonly path: string;
  readonly record: AblationRecord;
}

/** Which column a group of runs fills. */
export type OursColumn = 'ours' | 'synthetic';

/** Finished runs of one (paper cell, record, protocol, column). */
export interface CellGroup {
  readonly key: string;
  readonly column: OursColumn;
  /** `<ablation>/<profile>`. */
  readonly source: string;
  readonly recordPath: string;
  readonly protocolId: string;
  readonly dataset: string;
  readonly summaries: readonly RunSummary[];
}

/** A run that maps to a cell but ran on neither the cell's dataset nor the synthetic world. */
export interface UnplacedRun {
  readonly key: string;
  readonly source: string;
  readonly variant: string;
  readonly dataset: string;
}

const SYNTHETIC = 'synthetic';

/** Group every finished run under the paper cells its variant maps to. */
export function collectCellGroups(records: readonly LoadedRecord[], repoRoot?: string): { groups: CellGroup[]; unplaced: UnplacedRun[] } {
  const groups = new Map<string, { key: string; column: OursColumn; source: string; recordPath: string; protocolId: string; dataset: string; runs: Map<string, RunSummary> }>();
  const unplaced: UnplacedRun[] = [];
  for (const { path, record } of records) {
    const source = `${record.ablation}/${record.profile}`;
    const recordPath = repoRelative(path, repoRoot);
    for (const run of record.runs) {
      const s = run.summary;
      const variant = record.variants.find((v) => v.name === run.variant);
      if (!s || !variant) continue;
      for (const key of variant.paper) {
        const cell = findPaperCell(key);
        if (!cell) continue;
        const column: OursColumn | undefined = s.dataset === cell.dataset ? 'ours' : s.dataset === SYNTHETIC ? 'synthetic' : undefined;
        if (!column) {
          unplaced.push({ key, source, variant: variant.name, dataset: s.dataset });
          continue;
        }
        const id = JSON.stringify([key, column, recordPath, s.protocolId, s.dataset]);
        const g = groups.get(id) ?? { key, column, source, recordPath, protocolId: s.protocolId, dataset: s.dataset, runs: new Map<string, RunSummary>() };
        g.runs.set(run.runKey, s);
        groups.set(id, g);
      }
    }
  }
  const list = [...groups.values()]
    .map((g) => ({ key: g.key, column: g.column, source: g.source, recordPath: g.recordPath, protocolId: g.protocolId, dataset: g.dataset, summaries: [...g.runs.values()].sort((a, b) => a.seed - b.seed) }))
    .sort((a, b) => (a.recordPath + a.protocolId).localeCompare(b.recordPath + b.protocolId));
  // Ablations share runs (same resolved config → same run key): the same runs under one cell are listed once, with
  // every record that holds them.
  const merged = new Map<string, CellGroup>();
  for (const g of list) {
    const id = JSON.stringify([g.key, g.column, g.protocolId, g.dataset, g.summaries.map((x) => x.runKey).sort()]);
    const prev = merged.get(id);
    merged.set(id, prev ? { ...prev, source: `${prev.source}, ${g.source}`, recordPath: `${prev.recordPath}, ${g.recordPath}` } : g);
  }
  return { groups: [...merged.values()], unplaced };
}

const TABLE_TITLE: Readonly<Record<PaperTable, string>> = {
  I: 'Table I — comparison with the state of the art on VeRi-776',
  II: 'Table II — VehicleID (R1 / R5)',
  III: 'Table III — VeRi-Wild (mAP / R1)',
  IV: 'Table IV — components on VeRi-776',
  V: 'Table V — AFEM groups G on VeRi-776',
  VI: 'Table VI — CNN backbone on VeRi-776',
  fig3: 'Fig. 3 — SupCon vs triplet, mAP during training on VeRi-776',
};

/** The text of one group in a table cell. */
export function groupText(g: CellGroup): string {
  const st = metricStats(g.summaries)!;
  const n = g.summaries.length;
  return `mAP ${fmtMeanStd(st.mAP)} · R1 ${fmtMeanStd(st.rank1)} · R5 ${fmtMeanStd(st.rank5)} (${n} seed${n === 1 ? '' : 's'}; \`${g.protocolId}\`; ${g.source})`;
}

function columnText(groups: readonly CellGroup[], key: string, column: OursColumn): string {
  const gs = groups.filter((g) => g.key === key && g.column === column);
  return gs.length === 0 ? 'not run' : gs.map(groupText).join('<br>');
}

const paperVal = (x: number | undefined): string => (x === undefined ? '—' : fmt1(x));

function tableMarkdown(table: PaperTable, cells: readonly PaperCell[], groups: readonly CellGroup[]): string {
  const rows = cells.map((c) => [
    mdCell(c.row) + (c.clipSenet ? '' : ' (ref.)'), `\`${c.key}\``, `\`${c.dataset}\``, paperVal(c.values.mAP), paperVal(c.values.rank1), paperVal(c.values.rank5),
    c.clipSenet ? columnText(groups, c.key, 'ours') : '—', c.clipSenet ? columnText(groups, c.key, 'synthetic') : '—',
  ]);
  const header = ['row', 'key', 'dataset', 'paper mAP', 'paper R1', 'paper R5', 'ours (mean ± std over seeds)', 'embedded synthetic world (not comparable)'];
  return `## ${TABLE_TITLE[table]}\n\n${mdTable(header, rows)}\n`;
}

const CSV_HEADER = ['table', 'key', 'row', 'dataset', 'paper_mAP', 'paper_rank1', 'paper_rank5', 'column', 'source', 'record', 'protocol', 'run_dataset', 'n', ...REPORT_METRICS.flatMap((m) => [`${m}_mean`, `${m}_std`])];

function tableCsv(cells: readonly PaperCell[], groups: readonly CellGroup[]): string {
  const rows = cells.flatMap((c) => {
    const head = [c.table, c.key, c.row, c.dataset, csvNum(c.values.mAP), csvNum(c.values.rank1), csvNum(c.values.rank5)];
    const gs = groups.filter((g) => g.key === c.key);
    if (gs.length === 0) return [[...head, 'not run', '', '', '', '', '', ...Array<string>(2 * REPORT_METRICS.length).fill('')]];
    return gs.map((g) => {
      const st = metricStats(g.summaries)!;
      return [...head, g.column, g.source, g.recordPath, g.protocolId, g.dataset, String(g.summaries.length),
        ...REPORT_METRICS.flatMap((m) => [csvNum(st[m].mean), csvNum(st[m].std)])];
    });
  });
  return stringify([CSV_HEADER, ...rows], { eof: true });
}

/** Mean mAP (%) at `epoch` over the group's seeds that evaluated then. */
function mapAtEpoch(g: CellGroup, epoch: number): string {
  const vals = g.summaries.flatMap((s) => s.evalCurve.filter((p) => p.epoch === epoch).map((p) => p.mAP * 100));
  const ms = meanStd(vals);
  return ms ? `${fmtMeanStd(ms)} (n=${ms.n})` : '—';
}

function fig3Markdown(cells: readonly PaperCell[], groups: readonly CellGroup[]): string {
  const rows = cells.flatMap((c) => {
    const gs = groups.filter((g) => g.key === c.key);
    if (gs.length === 0) return [[`\`${c.key}\``, 'not run', '—', '—', ...FIG3_EPOCHS.map(() => '—')]];
    return gs.map((g) => [`\`${c.key}\``, g.column === 'ours' ? 'ours' : 'embedded synthetic world (not comparable)', g.source, `\`${g.protocolId}\``, ...FIG3_EPOCHS.map((e) => mapAtEpoch(g, e))]);
  });
  const header = ['key', 'column', 'source', 'protocol', ...FIG3_EPOCHS.map((e) => `mAP @ epoch ${e}`)];
  const curves = groups.some((g) => g.key.startsWith('fig3/') && g.summaries.some((s) => s.evalCurve.length > 0));
  const figure = curves ? '\n![Fig. 3, ours: mAP vs epoch](paper-tables/fig3.png)\n' : '';
  return `## ${TABLE_TITLE.fig3}\n\nThe paper's Fig. 3 values were not recovered (only that SupCon beats triplet at every epoch), so there is no paper column. ` +
    'Ours: mean ± std over the seeds that evaluated at that epoch; — where no evaluation point exists.\n\n' + `${mdTable(header, rows)}\n${figure}`;
}

function fig3Png(groups: readonly CellGroup[]): Buffer | undefined {
  const series: ChartSeries[] = [];
  groups
    .filter((g) => g.key.startsWith('fig3/'))
    .forEach((g, i) => {
      const curve = meanCurve(g.summaries.map((s) => s.evalCurve.map((p) => [p.epoch, p.mAP * 100] as const)).filter((c) => c.length > 0));
      if (curve.length === 0) return;
      const tag = g.column === 'ours' ? g.dataset : 'synthetic, not comparable';
      series.push({ label: `${g.key.slice(5)} — ${g.source} (${tag})`, color: paletteColor(i), points: curve, markers: true });
    });
  if (series.length === 0) return undefined;
  return drawLineChart({ title: 'Fig. 3 (ours): SupCon vs triplet, mAP vs epoch', xLabel: 'epoch', yLabel: 'mAP (%)', series });
}

function header(records: readonly LoadedRecord[], repoRoot?: string): string {
  const commits = distinct(records.flatMap((r) => r.record.runs.flatMap((x) => (x.summary ? [x.summary.commit] : []))));
  const list = records.length === 0 ? '- (no ablation records found)' : records.map((r) => `- \`${repoRelative(r.path, repoRoot)}\` (${r.record.title})`).join('\n');
  return [
    '# Paper tables vs ours',
    '',
    'Generated by `clip-senet paper-tables` from the ablation records below (do not edit; regenerate). Paper values in %; ' +
      'ours: mean ± sample std over finished seeds, with the protocol id and the `<ablation>/<profile>` that produced them. ' +
      'A run fills a cell when its variant maps to the cell key; runs on the embedded synthetic world go to their own column and are not comparable with the paper. ' +
      '"(ref.)" rows are other methods, shown for reference only.',
    '',
    list,
    '',
    `Commits of the runs: ${commits.length === 0 ? '— (no finished run)' : commits.map((c) => `\`${c}\``).join(', ')}`,
    '',
  ].join('\n');
}

function unplacedSection(unplaced: readonly UnplacedRun[]): string {
  if (unplaced.length === 0) return '';
  const lines = distinct(unplaced.map((u) => `- \`${u.key}\` ← ${u.source} variant \`${u.variant}\` ran on \`${u.dataset}\``));
  return `## Runs not placed (dataset differs from the cell's)\n\n${lines.join('\n')}\n`;
}

/** Options of {@link paperTableFiles}. */
export interface PaperTableFilesOptions {
  /** Draw `fig3.png` (default true; check mode skips it). */
  readonly figures?: boolean;
  /** Paths in the text are relative to this (default: the repository root). */
  readonly repoRoot?: string;
}

/** Every paper-tables file for `reportsDir` (`<reportsDir>/paper-tables.md`, `<reportsDir>/paper-tables/*`), in memory. */
export function paperTableFiles(records: readonly LoadedRecord[], reportsDir: string, options: PaperTableFilesOptions = {}): GeneratedFile[] {
  const sorted = [...records].sort((a, b) => repoRelative(a.path, options.repoRoot).localeCompare(repoRelative(b.path, options.repoRoot)));
  const { groups, unplaced } = collectCellGroups(sorted, options.repoRoot);
  const sections: string[] = [];
  const files: GeneratedFile[] = [];
  for (const table of PAPER_TABLES) {
    const cells = PAPER_CELLS.filter((c) => c.table === table);
    sections.push(table === 'fig3' ? fig3Markdown(cells, groups) : tableMarkdown(table, cells, groups));
    files.push({ path: join(reportsDir, 'paper-tables', `table-${table}.csv`), content: tableCsv(cells, groups) });
  }
  const claims = checkClaims(sorted.map((r) => r.record));
  files.push({ path: join(reportsDir, 'paper-tables', 'claims.csv'), content: claimsCsv(claims) });
  const unplacedText = unplacedSection(unplaced);
  const md = [header(sorted, options.repoRoot), claimsMarkdown(claims), ...sections, ...(unplacedText ? [unplacedText] : [])].join('\n');
  files.unshift({ path: join(reportsDir, 'paper-tables.md'), content: md });
  if (options.figures ?? true) {
    const png = fig3Png(groups);
    if (png) files.push({ path: join(reportsDir, 'paper-tables', 'fig3.png'), content: png });
  }
  return files;
}
