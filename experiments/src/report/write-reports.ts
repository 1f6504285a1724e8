/**
 * Writing one ablation's reports next to its record: `<ablation>.csv`, `<ablation>.md`, and the figures
 * `<ablation>-train.png`, `<ablation>-curves.png` (when there are evaluation curves), `<ablation>-delta.png` (the Δ forest plot, when a variant has a paired Δ) and `<ablation>-ranked.png`
 * (when the dataset images are on this machine). The ablation runner calls {@link writeAblationReport} after a
 * grid; `clip-senet report` regenerates (or checks) records' reports.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { AblationRecord } from '../ablation/summary';
import { upgradeSummary } from '../ablation/summarize';
import { ablationCsv, ablationMarkdown, ablationRows, type FigureRefs } from './ablation-report';
import { curvesFigure, deltaFigure, rankedFigure, trainingFigure } from './figures';
import { writeGenerated, type GeneratedFile } from './report-files';

/** Read and minimally validate a `runs.json`. */
export function readAblationRecord(path: string): AblationRecord {
  let record: AblationRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as AblationRecord;
  } catch (err) {
    throw new Error(`${path}: not a readable JSON ablation record (${(err as Error).message})`, { cause: err });
  }
  if (record.format !== 'clip-senet/ablation-runs@1') throw new Error(`${path}: not an ablation record (format '${String(record.format)}')`);
  if (!Array.isArray(record.variants) || !Array.isArray(record.runs) || !Array.isArray(record.seeds)) throw new Error(`${path}: ablation record without variants/runs/seeds`);
  const runs = record.runs.map((r, i) => ({ ...r, summary: r.summary === null ? null : upgradeSummary(r.summary, `${path}: runs[${i}].summary`) }));
  return { ...record, runs };
}

/** Options of {@link ablationReportFiles}. */
export interface AblationReportFilesOptions {
  /** Draw the PNGs (default true; check mode skips them). */
  readonly figures?: boolean;
}

/** The generated files and notes (e.g. a skipped ranked-list figure). */
export interface AblationReportOutput {
  readonly files: readonly GeneratedFile[];
  readonly notes: readonly string[];
}

function figureRefs(record: AblationRecord): FigureRefs {
  const finished = record.runs.flatMap((r) => (r.summary ? [r.summary] : []));
  const a = record.ablation;
  return {
    ...(finished.some((s) => s.trainCurve.length > 0) ? { train: `${a}-train.png` } : {}),
    ...(finished.some((s) => s.evalCurve.length > 0) ? { curves: `${a}-curves.png` } : {}),
    ...(finished.some((s) => s.ranked.length > 0) ? { ranked: `${a}-ranked.png` } : {}),
    ...(ablationRows(record).some((r) => r.ci !== undefined) ? { delta: `${a}-delta.png` } : {}),
  };
}

/** Every report file of `record` for `outDir`, in memory. */
export function ablationReportFiles(record: AblationRecord, outDir: string, options: AblationReportFilesOptions = {}): AblationReportOutput {
  const refs = figureRefs(record);
  const base = join(outDir, record.ablation);
  const files: GeneratedFile[] = [
    { path: `${base}.csv`, content: ablationCsv(record) },
    { path: `${base}.md`, content: ablationMarkdown(record, refs) },
  ];
  const notes: string[] = [];
  if (options.figures ?? true) {
    const train = refs.train ? trainingFigure(record) : undefined;
    if (train && refs.train) files.push({ path: join(outDir, refs.train), content: train });
    const curves = refs.curves ? curvesFigure(record) : undefined;
    if (curves && refs.curves) files.push({ path: join(outDir, refs.curves), content: curves });
    const delta = refs.delta ? deltaFigure(record) : undefined;
    if (delta && refs.delta) files.push({ path: join(outDir, refs.delta), content: delta });
    if (refs.ranked) {
      const ranked = rankedFigure(record);
      if ('png' in ranked) files.push({ path: join(outDir, refs.ranked), content: ranked.png });
      else notes.push(`${record.ablation}: ranked-list figure skipped: ${ranked.skipped}`);
    }
  }
  return { files, notes };
}

/** What {@link writeAblationReport} wrote. */
export interface WrittenReport {
  readonly written: readonly string[];
  readonly notes: readonly string[];
}

/**
 * Write the CSV, Markdown and figures of an ablation (atomically). Given a `runs.json` path, `outDir` defaults to
 * its folder; given a record, `outDir` is required.
 */
export function writeAblationReport(recordOrPath: string | AblationRecord, outDir?: string): WrittenReport {
  const record = typeof recordOrPath === 'string' ? readAblationRecord(recordOrPath) : recordOrPath;
  const dir = outDir ?? (typeof recordOrPath === 'string' ? dirname(resolve(recordOrPath)) : undefined);
  if (dir === undefined) throw new Error('writeAblationReport: outDir is required when passing a record');
  const { files, notes } = ablationReportFiles(record, dir);
  return { written: writeGenerated(files), notes };
}
