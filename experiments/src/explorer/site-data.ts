/**
 * The explorer's data from the committed ablation records: per grid the report's table (the cells are the
 * committed Markdown's, from `ablationMarkdownRows`; sort keys from the same `ablationRows` / stats.ts numbers),
 * training and evaluation curves per (variant, seed), provenance and figures; the paper tables with our groups
 * (paper-tables.ts' `collectCellGroups`); and per run the ranked lists with their images when the dataset is on
 * this machine. Nothing is recomputed differently from the reports.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { AblationRecord, RunSummary } from '../ablation/summary';
import { ABLATION_MD_HEADER, ablationMarkdownRows, ablationRows } from '../report/ablation-report';
import { collectCellGroups, groupText, type CellGroup, type LoadedRecord } from '../report/paper-tables';
import { PAPER_CELLS, PAPER_TABLES } from '../report/paper-values';
import { repoRelative } from '../report/report-files';
import { distinct, fmtDuration, METRIC_LABEL, metricStats, PAIRED_DELTA_METHOD, REPORT_METRICS } from '../report/stats';
import type { CurveSeries, FigureEntry, GridData, OursCell, PaperTableData, ProvenanceRun, RankedListData, RunRanked, TableRow } from './site-types';

/** A file the site copies in: absolute source, site-relative destination. */
export interface SiteAsset {
  readonly from: string;
  readonly to: string;
}

/** Collects assets, one destination per source. */
export class AssetList {
  private readonly byFrom = new Map<string, string>();

  /** The site path of `from` (copied under `dir`, named by a hash-free stable name). */
  add(from: string, to: string): string {
    const prev = this.byFrom.get(from);
    if (prev !== undefined) return prev;
    this.byFrom.set(from, to);
    return to;
  }

  list(): SiteAsset[] {
    return [...this.byFrom].map(([from, to]) => ({ from, to }));
  }
}

const plain = (cell: string): string => cell.replace(/`/g, '');

type Row = ReturnType<typeof ablationRows>[number];

/** Numeric sort keys of the columns whose numbers ablationRows holds (by header label); others sort by their text. */
const SORT_KEYS: Readonly<Record<string, (r: Row) => number | null | undefined>> = {
  seeds: (r) => r.finished,
  ...Object.fromEntries(REPORT_METRICS.map((m) => [`${METRIC_LABEL[m]} (%)`, (r: Row) => r.stats?.[m].mean])),
  'Δ mAP': (r) => (r.isBaseline ? 0 : r.delta?.mAP),
  'Δ R1': (r) => (r.isBaseline ? 0 : r.delta?.rank1),
  'Δ mAP 95% CI': (r) => (r.isBaseline ? 0 : r.ci?.mean),
  'paper mAP': (r) => r.paper?.cell.values.mAP,
  'paper R1': (r) => r.paper?.cell.values.rank1,
  'paper Δ mAP': (r) => (r.isBaseline ? 0 : r.paper?.delta.mAP),
  'paper Δ R1': (r) => (r.isBaseline ? 0 : r.paper?.delta.rank1),
};

function gridRows(record: AblationRecord): TableRow[] {
  const text = ablationMarkdownRows(record);
  return ablationRows(record).map((r, i) => ({
    cells: text[i]!.map(plain),
    sort: ABLATION_MD_HEADER.map((h) => SORT_KEYS[h]?.(r) ?? null),
  }));
}

function curves(record: AblationRecord, pick: (s: RunSummary) => (readonly [number, number])[]): CurveSeries[] {
  return record.runs.flatMap((r) => (r.summary ? [{ variant: r.variant, seed: r.seed, runKey: r.runKey, points: pick(r.summary) }] : []))
    .filter((c) => c.points.length > 0);
}

function provenance(record: AblationRecord): { lines: [string, string][]; runs: ProvenanceRun[] } {
  const s = record.runs.flatMap((r) => (r.summary ? [r.summary] : []));
  const list = (xs: readonly string[]): string => (xs.length === 0 ? '— (no finished run)' : xs.join(', '));
  const lines: [string, string][] = [
    ['protocol', list(distinct(s.map((x) => x.protocolId)))],
    ['dataset', list(distinct(s.map((x) => x.dataset)))],
    ['backend', list(distinct(s.map((x) => x.backend)))],
    ['commit', list(distinct(s.map((x) => x.commit)))],
    ['seeds', `${record.seeds.join(', ')}; ${s.length}/${record.runs.length} runs finished`],
    ['flip TTA', list(distinct(s.map((x) => String(x.flip))))],
    ['total wall time', `${fmtDuration(record.wallSeconds)} (as recorded in runs.json)`],
    ['profile', record.profile],
  ];
  const runs = record.runs.map((r) => ({
    variant: r.variant, seed: r.seed, runKey: r.runKey, finished: r.summary !== null,
    backend: r.summary?.backend ?? '—', commit: r.summary?.commit ?? '—', protocolId: r.summary?.protocolId ?? '—', dataset: r.summary?.dataset ?? '—',
    wall: r.summary ? fmtDuration(r.summary.wallSeconds) : '—', finishedAt: r.summary?.finishedAt ?? 'not finished',
  }));
  return { lines, runs };
}

const FIGURES: readonly [string, string][] = [['train', 'training loss (total) vs step'], ['curves', 'mAP vs epoch'], ['ranked', 'ranked lists']];

/** Why a figure file is missing, from what the record holds. */
function missingReason(record: AblationRecord, suffix: string): string {
  const finished = record.runs.flatMap((r) => (r.summary ? [r.summary] : []));
  const regenerate = 'not generated for this record: regenerate the reports with `npx nx run experiments:report`';
  if (finished.length === 0) return 'no finished run to draw';
  if (suffix === 'curves' && finished.every((s) => s.evalCurve.length === 0)) return 'the runs recorded no periodic evaluation';
  if (suffix === 'ranked') {
    return finished.some((s) => s.ranked.length > 0) ? `drawn only where the dataset images are (dataset root ${distinct(finished.map((s) => s.datasetRoot)).join(', ')}); ${regenerate} on a machine that has them` : 'the runs recorded no ranked lists';
  }
  return regenerate;
}

function figures(record: AblationRecord, recordPath: string, id: string, assets: AssetList): FigureEntry[] {
  const dir = dirname(recordPath);
  return FIGURES.map(([suffix, label]) => {
    const file = join(dir, `${record.ablation}-${suffix}.png`);
    if (existsSync(file)) return { label, src: assets.add(file, `figures/${id.replace('/', '--')}-${suffix}.png`) };
    return { label, src: null, missing: `${basename(file)} is missing next to ${repoRelative(recordPath)} (${missingReason(record, suffix)})` };
  });
}

/** The page data of one grid. */
export function gridData(loaded: LoadedRecord, assets: AssetList): GridData {
  const { record, path } = loaded;
  const id = `${record.ablation}/${record.profile}`;
  const prov = provenance(record);
  return {
    id, title: record.title, ablation: record.ablation, profile: record.profile, baseline: record.baseline, recordPath: repoRelative(path),
    header: [...ABLATION_MD_HEADER], rows: gridRows(record), ciMethod: PAIRED_DELTA_METHOD,
    trainCurves: curves(record, (s) => s.trainCurve.flatMap((p) => (p.loss.total !== undefined ? [[p.step, p.loss.total] as const] : []))),
    evalCurves: curves(record, (s) => s.evalCurve.map((p) => [p.epoch, p.mAP * 100] as const)),
    provenance: prov.lines, runs: prov.runs, figures: figures(record, path, id, assets),
  };
}

const TABLE_TITLE: Readonly<Record<string, string>> = {
  I: 'Table I — state of the art on VeRi-776', II: 'Table II — VehicleID', III: 'Table III — VeRi-Wild', IV: 'Table IV — components on VeRi-776',
  V: 'Table V — AFEM groups G', VI: 'Table VI — CNN backbone', fig3: 'Fig. 3 — SupCon vs triplet (mAP during training)',
};

function oursCell(g: CellGroup): OursCell {
  const st = metricStats(g.summaries)!;
  return { text: plain(groupText(g)), mAP: st.mAP.mean, rank1: st.rank1.mean, source: g.source, protocolId: g.protocolId, seeds: g.summaries.length };
}

/** The paper's tables with our groups beside each cell (the same grouping as reports/paper-tables.md). */
export function paperData(records: readonly LoadedRecord[]): PaperTableData[] {
  const { groups } = collectCellGroups(records);
  return PAPER_TABLES.map((table) => ({
    table, title: TABLE_TITLE[table] ?? `Table ${table}`,
    rows: PAPER_CELLS.filter((c) => c.table === table).map((c) => ({
      key: c.key, row: c.row, dataset: c.dataset, reference: !c.clipSenet,
      paper: { mAP: c.values.mAP ?? null, rank1: c.values.rank1 ?? null, rank5: c.values.rank5 ?? null },
      ours: groups.filter((g) => g.key === c.key && g.column === 'ours').map(oursCell),
      synthetic: groups.filter((g) => g.key === c.key && g.column === 'synthetic').map(oursCell),
    })),
  }));
}

/** Site path for a dataset image (copied when it exists), or null. */
export function imageAsset(root: string, path: string, assets: AssetList, repoRoot: string): string | null {
  const abs = path.startsWith('/') ? path : join(root.startsWith('/') ? root : join(repoRoot, root), path);
  if (!existsSync(abs)) return null;
  const name = `${basename(dirname(abs))}--${basename(abs, extname(abs))}${extname(abs)}`;
  const rootTag = basename(root.startsWith('/') ? root : join(repoRoot, root));
  return assets.add(abs, `img/${rootTag}/${name}`);
}

/** The ranked lists the records hold, one entry per run (runs shared between grids are listed once). */
export function recordRanked(records: readonly LoadedRecord[], assets: AssetList, repoRoot: string): RunRanked[] {
  const byKey = new Map<string, { labels: string[]; summary: RunSummary }>();
  for (const { record } of records) {
    for (const r of record.runs) {
      if (!r.summary || r.summary.ranked.length === 0) continue;
      const e = byKey.get(r.runKey) ?? { labels: [], summary: r.summary };
      e.labels.push(`${record.ablation}/${record.profile} · ${r.variant} · seed ${r.seed}`);
      byKey.set(r.runKey, e);
    }
  }
  return [...byKey].map(([runKey, { labels, summary }]) => {
    let missing = 0;
    const img = (p: string): string | null => {
      const a = imageAsset(summary.datasetRoot, p, assets, repoRoot);
      if (a === null) missing++;
      return a;
    };
    const lists: RankedListData[] = summary.ranked.map((l) => ({
      query: l.query, queryImage: img(l.query),
      gallery: l.gallery.map((g) => ({ path: g.path, mark: g.match ? 'correct' as const : 'wrong' as const, image: img(g.path) })),
    }));
    return {
      runKey, labels, datasetRoot: summary.datasetRoot, source: 'record' as const, lists,
      ...(missing > 0 ? { imagesMissing: `${missing} images are not on this machine (dataset root ${summary.datasetRoot}; generate the world with \`npx nx run experiments:synth\` and rebuild)` } : {}),
    };
  });
}
