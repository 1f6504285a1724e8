/**
 * An ablation's figures (PNG bytes, drawn with @napi-rs/canvas): (a) total training loss vs step per variant
 * (seed mean solid, min–max over seeds shaded), (b) mAP vs epoch from the periodic evaluations (Fig. 3 style),
 * (c) a forest plot of each variant's paired Δ mAP with its 95 % interval, and (d) a ranked-list picture — query plus top-10 gallery images with green (same identity) / red borders — read from the
 * dataset images, skipped when they are not on this machine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createCanvas, Image } from '@napi-rs/canvas';
import type { AblationRecord, RankedList, RunSummary } from '../ablation/summary';
import { drawForestPlot, drawLineChart, paletteColor, type ChartSeries } from './line-chart';
import { ablationRows, finishedSummaries } from './ablation-report';
import { REPO_ROOT } from './report-files';

type Point = readonly [number, number];

/** Mean curve over seeds at the x values every seed has (x ascending). */
export function meanCurve(curves: readonly (readonly Point[])[]): Point[] {
  if (curves.length === 0) return [];
  const maps = curves.map((c) => new Map(c.map(([x, y]) => [x, y])));
  const xs = [...maps[0].keys()].filter((x) => maps.every((m) => m.has(x))).sort((a, b) => a - b);
  return xs.map((x) => [x, maps.reduce((a, m) => a + m.get(x)!, 0) / maps.length] as const);
}

/** Min and max over seeds at the x values every seed has (x ascending). */
export function rangeBand(curves: readonly (readonly Point[])[]): [number, number, number][] {
  if (curves.length === 0) return [];
  const maps = curves.map((c) => new Map(c.map(([x, y]) => [x, y])));
  const xs = [...maps[0].keys()].filter((x) => maps.every((m) => m.has(x))).sort((a, b) => a - b);
  return xs.map((x) => {
    const ys = maps.map((m) => m.get(x)!);
    return [x, Math.min(...ys), Math.max(...ys)];
  });
}

/** Per variant the seed mean, with a shaded min–max band over seeds (a seed's own curve when there is one seed, or no x every seed shares). */
function variantSeries(record: AblationRecord, curveOf: (s: RunSummary) => Point[], markers: boolean): ChartSeries[] {
  const out: ChartSeries[] = [];
  record.variants.forEach((v, i) => {
    const curves = finishedSummaries(record, v.name).map(curveOf).filter((c) => c.length > 0);
    if (curves.length === 0) return;
    const color = paletteColor(i);
    const mean = curves.length > 1 ? meanCurve(curves) : [];
    if (mean.length === 0) {
      // a single seed, or seeds that share no x: each seed's own curve
      curves.forEach((c, k) => out.push({ label: curves.length > 1 ? `${v.name} (seed ${k + 1} of ${curves.length})` : v.name, color, points: c, markers }));
      return;
    }
    out.push({ label: `${v.name} (mean of ${curves.length}, band min–max)`, color, points: mean, markers, band: rangeBand(curves) });
  });
  return out;
}

/** Total training loss vs step per variant; undefined when no finished run has a training curve. */
export function trainingFigure(record: AblationRecord): Buffer | undefined {
  const series = variantSeries(record, (s) => s.trainCurve.flatMap((p) => (p.loss.total !== undefined && Number.isFinite(p.loss.total) ? [[p.step, p.loss.total] as const] : [])), false);
  if (series.length === 0) return undefined;
  return drawLineChart({ title: `${record.title}: training loss (${record.profile})`, xLabel: 'step', yLabel: 'total loss', series });
}

/** mAP (%) vs epoch per variant from the evaluation curves; undefined when no run has evaluation points. */
export function curvesFigure(record: AblationRecord): Buffer | undefined {
  const series = variantSeries(record, (s) => s.evalCurve.map((p) => [p.epoch, p.mAP * 100] as const), true);
  if (series.length === 0) return undefined;
  return drawLineChart({ title: `${record.title}: mAP during training (${record.profile})`, xLabel: 'epoch', yLabel: 'mAP (%)', series });
}

/** Δ mAP vs the baseline with its paired 95 % interval per variant (forest plot); undefined when no variant has one. */
export function deltaFigure(record: AblationRecord): Buffer | undefined {
  const rows = ablationRows(record).flatMap((r) =>
    r.ci ? [{ label: `${r.variant.name} (n=${r.ci.n})`, mean: r.ci.mean, ...(r.ci.lo !== undefined && r.ci.hi !== undefined ? { lo: r.ci.lo, hi: r.ci.hi } : {}), decided: r.ci.decided }] : []);
  if (rows.length === 0) return undefined;
  return drawForestPlot({
    title: `${record.title}: Δ mAP vs ${record.baseline}, paired by seed, 95% CI (${record.profile})`,
    xLabel: 'Δ mAP (points); blue = interval excludes 0, grey = not decided',
    rows,
  });
}

/** Rows of the ranked-list figure: per variant, the first finished run with ranked lists, up to `perVariant` queries. */
export function rankedRows(record: AblationRecord, perVariant = 1, maxRows = 6): { label: string; root: string; list: RankedList }[] {
  const rows: { label: string; root: string; list: RankedList }[] = [];
  for (const v of record.variants) {
    const s = finishedSummaries(record, v.name).find((x) => x.ranked.length > 0);
    if (!s) continue;
    for (const [i, list] of s.ranked.slice(0, perVariant).entries()) rows.push({ label: `${v.name} (seed ${s.seed}) q${i + 1}`, root: resolve(REPO_ROOT, s.datasetRoot), list }); // relative roots are repository-relative
  }
  return rows.slice(0, maxRows);
}

/** The ranked-list figure, or why it was skipped. */
export type RankedFigure = { readonly png: Buffer } | { readonly skipped: string };

/** Query + top-10 gallery per row with green (match) / red (non-match) borders; small (one query per variant, 48 px cells) to keep the committed PNG lean. */
export function rankedFigure(record: AblationRecord, cell = 48): RankedFigure {
  const rows = rankedRows(record);
  if (rows.length === 0) return { skipped: 'no finished run has ranked lists' };
  const paths = rows.flatMap((r) => [r.list.query, ...r.list.gallery.map((g) => g.path)].map((p) => resolve(r.root, p)));
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) return { skipped: `${missing.length} of ${paths.length} images missing on this machine (e.g. ${missing[0]})` };
  const labelH = 16;
  const gap = 12;
  const cols = 1 + Math.max(...rows.map((r) => r.list.gallery.length));
  const rowH = labelH + cell + 6;
  const canvas = createCanvas(cols * (cell + 6) + gap + 6, rows.length * rowH + 6);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const draw = (file: string, x: number, y: number, border: string): void => {
    const img = new Image();
    img.src = readFileSync(file);
    ctx.fillStyle = border;
    ctx.fillRect(x - 3, y - 3, cell + 6, cell + 6);
    ctx.drawImage(img, x, y, cell, cell);
  };
  rows.forEach((r, i) => {
    const y = i * rowH + labelH + 3;
    ctx.fillStyle = '#111111';
    ctx.font = '12px "DejaVu Sans", sans-serif';
    ctx.fillText(`${r.label}: query | top-${r.list.gallery.length}`, 4, y - 5);
    draw(resolve(r.root, r.list.query), 3, y, '#444444');
    r.list.gallery.forEach((g, j) => draw(resolve(r.root, g.path), 3 + gap + (j + 1) * (cell + 6), y, g.match ? '#1a9e1a' : '#d62728'));
  });
  return { png: canvas.encodeSync('png') };
}
