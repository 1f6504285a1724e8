/**
 * A small line chart drawn with @napi-rs/canvas: title, axes with "nice" ticks and labels, a legend, and series
 * that can be faint (individual seeds, no legend entry) or solid (means). Used by the report figures.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';

/** One line of the chart. */
export interface ChartSeries {
  /** Legend label (faint series have no legend entry). */
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  /** Thin and translucent, no legend entry, no markers. */
  readonly faint?: boolean;
  /** Draw a dot at every point (for sparse curves such as evaluations). */
  readonly markers?: boolean;
  /** A shaded band under the line: `[x, lo, hi]` in x order (e.g. min–max over seeds). */
  readonly band?: readonly (readonly [number, number, number])[];
}

/** Options of {@link drawLineChart}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  readonly width?: number;
  readonly height?: number;
}

/** A fixed, colour-blind-friendly palette (Okabe–Ito), cycled. */
export const PALETTE: readonly string[] = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

/** Colour of series `i`. */
export function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

const FONT = '"DejaVu Sans", sans-serif';

/** Ticks covering [lo, hi] at a 1/2/5 × 10^k step. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function extent(values: readonly number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

function tickLabel(t: number): string {
  return Number.isInteger(t) ? String(t) : String(Number(t.toPrecision(6)));
}

function legendWidth(ctx: SKRSContext2D, series: readonly ChartSeries[]): number {
  const shown = series.filter((s) => !s.faint);
  if (shown.length === 0) return 0;
  ctx.font = `12px ${FONT}`;
  return Math.max(...shown.map((s) => ctx.measureText(s.label).width)) + 36;
}

/** Legend in the right margin, top-aligned with the plot. */
function drawLegend(ctx: SKRSContext2D, series: readonly ChartSeries[], x: number, y: number, w: number): void {
  const shown = series.filter((s) => !s.faint);
  if (shown.length === 0) return;
  ctx.font = `12px ${FONT}`;
  ctx.strokeStyle = '#999999';
  ctx.lineWidth = 1;
  ctx.strokeRect(x, y, w, shown.length * 18 + 8);
  shown.forEach((s, i) => {
    const ly = y + 16 + i * 18;
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.moveTo(x + 6, ly - 4);
    ctx.lineTo(x + 26, ly - 4);
    ctx.stroke();
    ctx.fillStyle = '#111111';
    ctx.textAlign = 'left';
    ctx.fillText(s.label, x + 30, ly);
  });
}

/**
 * Break `text` into at most `maxLines` lines no wider than `maxWidth` (by `measure`), at spaces; a word longer than a
 * line, or text left over after the last line, ends the last line with '…' so nothing is drawn outside the canvas.
 */
export function wrapText(text: string, maxWidth: number, measure: (s: string) => number, maxLines = 2): string[] {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let line = '';
  let i = 0;
  for (; i < words.length; i++) {
    const next = line === '' ? words[i]! : `${line} ${words[i]!}`;
    if (measure(next) <= maxWidth || line === '') {
      line = next;
      continue;
    }
    lines.push(line);
    line = words[i]!;
    if (lines.length === maxLines) break;
  }
  if (lines.length < maxLines) {
    lines.push(line);
    line = '';
  }
  const rest = lines.length === maxLines && i < words.length;
  let last = lines[lines.length - 1]!;
  if (rest || measure(last) > maxWidth) {
    while (last.length > 1 && measure(`${last}…`) > maxWidth) last = last.slice(0, -1).trimEnd();
    lines[lines.length - 1] = `${last}…`;
  }
  return lines;
}

/** Draw the chart; returns PNG bytes. */
export function drawLineChart(options: LineChartOptions): Buffer {
  const width = options.width ?? 800;
  const height = options.height ?? 480;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const legendW = Math.min(legendWidth(ctx, options.series), width / 2);
  ctx.font = `bold 15px ${FONT}`;
  const titleLines = wrapText(options.title, width - 24, (t) => ctx.measureText(t).width);
  const m = { left: 70, right: legendW > 0 ? legendW + 24 : 20, top: 22 + titleLines.length * 19, bottom: 50 };
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  const pts = options.series.flatMap((s) => s.points);
  const [x0, x1] = extent(pts.map((p) => p[0]));
  const [ylo, yhi] = extent([...pts.map((p) => p[1]), ...options.series.flatMap((s) => (s.band ?? []).flatMap((b) => [b[1], b[2]]))]);
  const [y0, y1] = [ylo - (yhi - ylo) * 0.05, yhi + (yhi - ylo) * 0.05];
  const xt = niceTicks(x0, x1).filter((t) => t >= x0 - 1e-9 && t <= x1 + 1e-9);
  const yt = niceTicks(y0, y1).filter((t) => t >= y0 && t <= y1);
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (x: number): number => m.left + (x1 === x0 ? pw / 2 : ((x - x0) / (x1 - x0)) * pw);
  const sy = (y: number): number => m.top + ph - (y1 === y0 ? ph / 2 : ((y - y0) / (y1 - y0)) * ph);
  // grid, ticks and tick labels
  ctx.font = `12px ${FONT}`;
  ctx.lineWidth = 1;
  for (const t of yt) {
    ctx.strokeStyle = '#e6e6e6';
    ctx.beginPath();
    ctx.moveTo(m.left, sy(t));
    ctx.lineTo(m.left + pw, sy(t));
    ctx.stroke();
    ctx.fillStyle = '#333333';
    ctx.textAlign = 'right';
    ctx.fillText(tickLabel(t), m.left - 6, sy(t) + 4);
  }
  for (const t of xt) {
    ctx.strokeStyle = '#333333';
    ctx.beginPath();
    ctx.moveTo(sx(t), m.top + ph);
    ctx.lineTo(sx(t), m.top + ph + 5);
    ctx.stroke();
    ctx.fillStyle = '#333333';
    ctx.textAlign = 'center';
    ctx.fillText(tickLabel(t), sx(t), m.top + ph + 18);
  }
  ctx.strokeStyle = '#333333';
  ctx.strokeRect(m.left, m.top, pw, ph);
  // bands under everything else
  for (const s of options.series) {
    if (!s.band || s.band.length < 2) continue;
    ctx.fillStyle = s.color;
    ctx.globalAlpha = 0.15;
    ctx.beginPath();
    s.band.forEach(([x, , hi], i) => (i === 0 ? ctx.moveTo(sx(x), sy(hi)) : ctx.lineTo(sx(x), sy(hi))));
    for (const [x, lo] of [...s.band].reverse()) ctx.lineTo(sx(x), sy(lo));
    ctx.closePath();
    ctx.fill();
    ctx.globalAlpha = 1;
  }
  // series: faint first so the means are on top
  const ordered = [...options.series.filter((s) => s.faint), ...options.series.filter((s) => !s.faint)];
  for (const s of ordered) {
    ctx.strokeStyle = s.color;
    ctx.globalAlpha = s.faint ? 0.25 : 1;
    ctx.lineWidth = s.faint ? 1 : 2.5;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(sx(x), sy(y)) : ctx.lineTo(sx(x), sy(y))));
    ctx.stroke();
    if (s.markers && !s.faint) {
      ctx.fillStyle = s.color;
      for (const [x, y] of s.points) {
        ctx.beginPath();
        ctx.arc(sx(x), sy(y), 3.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.globalAlpha = 1;
  }
  // title and axis labels
  ctx.fillStyle = '#111111';
  ctx.textAlign = 'center';
  ctx.font = `bold 15px ${FONT}`;
  titleLines.forEach((line, i) => ctx.fillText(line, width / 2, 22 + i * 19));
  ctx.font = `13px ${FONT}`;
  ctx.fillText(options.xLabel, m.left + pw / 2, height - 12);
  ctx.save();
  ctx.translate(18, m.top + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(options.yLabel, 0, 0);
  ctx.restore();
  drawLegend(ctx, options.series, m.left + pw + 12, m.top, legendW);
  return canvas.encodeSync('png');
}

/** One row of a forest plot: a difference with its interval (absent when it could not be computed). */
export interface ForestRow {
  readonly label: string;
  readonly mean: number;
  readonly lo?: number;
  readonly hi?: number;
  /** The interval excludes 0 (drawn solid; otherwise grey). */
  readonly decided: boolean;
}

/** A forest plot of differences with their intervals around a vertical line at 0; returns PNG bytes. */
export function drawForestPlot(options: { readonly title: string; readonly xLabel: string; readonly rows: readonly ForestRow[]; readonly width?: number }): Buffer {
  const width = options.width ?? 640;
  const rowH = 26;
  const probe = createCanvas(1, 1).getContext('2d');
  probe.font = `12px ${FONT}`;
  const labelW = Math.min(width / 3, Math.max(60, ...options.rows.map((r) => probe.measureText(r.label).width)) + 12);
  probe.font = `bold 14px ${FONT}`;
  const titleLines = wrapText(options.title, width - 24, (t) => probe.measureText(t).width);
  const m = { left: labelW + 10, right: 24, top: 20 + titleLines.length * 18, bottom: 46 };
  const height = m.top + m.bottom + Math.max(1, options.rows.length) * rowH;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  const values = [0, ...options.rows.flatMap((r) => [r.mean, r.lo ?? r.mean, r.hi ?? r.mean])];
  const [lo0, hi0] = extent(values);
  const pad = (hi0 - lo0) * 0.06;
  const [x0, x1] = [lo0 - pad, hi0 + pad];
  const pw = width - m.left - m.right;
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const ticks = niceTicks(x0, x1).filter((t) => t >= x0 && t <= x1);
  const bottom = m.top + options.rows.length * rowH;
  ctx.font = `12px ${FONT}`;
  ctx.lineWidth = 1;
  for (const t of ticks) {
    ctx.strokeStyle = '#e6e6e6';
    ctx.beginPath();
    ctx.moveTo(sx(t), m.top);
    ctx.lineTo(sx(t), bottom);
    ctx.stroke();
    ctx.fillStyle = '#333333';
    ctx.textAlign = 'center';
    ctx.fillText(tickLabel(t), sx(t), bottom + 16);
  }
  ctx.strokeStyle = '#333333';
  ctx.beginPath();
  ctx.moveTo(sx(0), m.top - 4);
  ctx.lineTo(sx(0), bottom);
  ctx.stroke();
  options.rows.forEach((r, i) => {
    const y = m.top + i * rowH + rowH / 2;
    const color = r.decided ? '#0072B2' : '#8c8c8c';
    ctx.fillStyle = '#111111';
    ctx.textAlign = 'right';
    ctx.fillText(r.label, m.left - 10, y + 4);
    if (r.lo !== undefined && r.hi !== undefined) {
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(sx(r.lo), y);
      ctx.lineTo(sx(r.hi), y);
      for (const e of [r.lo, r.hi]) {
        ctx.moveTo(sx(e), y - 5);
        ctx.lineTo(sx(e), y + 5);
      }
      ctx.stroke();
    }
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.arc(sx(r.mean), y, 4.5, 0, 2 * Math.PI);
    ctx.fill();
  });
  ctx.fillStyle = '#111111';
  ctx.textAlign = 'center';
  ctx.font = `bold 14px ${FONT}`;
  titleLines.forEach((line, i) => ctx.fillText(line, width / 2, 20 + i * 18));
  ctx.font = `13px ${FONT}`;
  ctx.fillText(options.xLabel, m.left + pw / 2, height - 10);
  return canvas.encodeSync('png');
}
