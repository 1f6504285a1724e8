/**
 * An interactive SVG line chart: one line per (variant, seed), coloured by variant; the legend toggles variants and
 * seeds; hovering shows the nearest point's values.
 */
import type { CurveSeries } from '../../src/explorer/site-types';
import { el } from './dom';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (hi <= lo) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly CurveSeries[];
  readonly id?: string;
}

/** The chart with its legend and readout. */
export function lineChart(o: LineChartOptions): HTMLElement {
  const W = 620;
  const H = 300;
  const m = { l: 52, r: 12, t: 22, b: 36 };
  const variants = [...new Set(o.series.map((s) => s.variant))];
  const seeds = [...new Set(o.series.map((s) => s.seed))].sort((a, b) => a - b);
  const color = (v: string): string => PALETTE[variants.indexOf(v) % PALETTE.length]!;
  const hidden = new Set<string>();
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const pad = (y1 - y0) * 0.05 || 1;
  const sx = (x: number): number => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number): number => H - m.b - ((y - (y0 - pad)) / (y1 - y0 + 2 * pad)) * (H - m.t - m.b);
  const root = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' });
  root.append(svg('text', { x: m.l, y: 14 }));
  root.lastChild!.textContent = o.title;
  for (const t of ticks(x0, x1)) {
    root.append(svg('line', { x1: sx(t), x2: sx(t), y1: H - m.b, y2: H - m.b + 4, stroke: '#999' }));
    const tx = svg('text', { x: sx(t), y: H - m.b + 16, 'text-anchor': 'middle' });
    tx.textContent = String(t);
    root.append(tx);
  }
  for (const t of ticks(y0 - pad, y1 + pad)) {
    root.append(svg('line', { x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t), stroke: '#eee' }));
    const ty = svg('text', { x: m.l - 6, y: sy(t) + 4, 'text-anchor': 'end' });
    ty.textContent = String(t);
    root.append(ty);
  }
  const xl = svg('text', { x: (m.l + W - m.r) / 2, y: H - 4, 'text-anchor': 'middle' });
  xl.textContent = o.xLabel;
  const yl = svg('text', { x: 12, y: (m.t + H - m.b) / 2, transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`, 'text-anchor': 'middle' });
  yl.textContent = o.yLabel;
  root.append(xl, yl, svg('rect', { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, fill: 'none', stroke: '#ccc' }));
  const lines = o.series.map((s) => {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    const path = svg('path', { d, fill: 'none', stroke: color(s.variant), 'stroke-width': 1.6, 'stroke-dasharray': seeds.indexOf(s.seed) % 2 === 1 ? '5 3' : '' });
    path.dataset.variant = s.variant;
    path.dataset.seed = String(s.seed);
    root.append(path);
    return { s, path };
  });
  const dot = svg('circle', { r: 4, fill: 'none', stroke: '#000', visibility: 'hidden' });
  root.append(dot);
  const readout = el('div', { class: 'readout' }, 'hover the chart for values');
  const visible = (s: CurveSeries): boolean => !hidden.has(`v:${s.variant}`) && !hidden.has(`s:${s.seed}`);
  const refresh = (): void => lines.forEach(({ s, path }) => path.setAttribute('visibility', visible(s) ? 'visible' : 'hidden'));
  root.addEventListener('mousemove', (ev) => {
    const box = root.getBoundingClientRect();
    const px = ((ev.clientX - box.left) / box.width) * W;
    const py = ((ev.clientY - box.top) / box.height) * H;
    let best: { s: CurveSeries; p: readonly [number, number]; d: number } | undefined;
    for (const { s } of lines) {
      if (!visible(s)) continue;
      for (const p of s.points) {
        const d = (sx(p[0]) - px) ** 2 + (sy(p[1]) - py) ** 2;
        if (!best || d < best.d) best = { s, p, d };
      }
    }
    if (!best) return;
    dot.setAttribute('cx', String(sx(best.p[0])));
    dot.setAttribute('cy', String(sy(best.p[1])));
    dot.setAttribute('visibility', 'visible');
    readout.textContent = `${best.s.variant} · seed ${best.s.seed}: ${o.xLabel} ${best.p[0]}, ${o.yLabel} ${best.p[1].toFixed(3)}`;
  });
  const toggle = (key: string, label: string, swatch?: string): HTMLElement => {
    const box = el('input', { type: 'checkbox', checked: true, onchange: (e: Event) => {
      if ((e.target as HTMLInputElement).checked) hidden.delete(key);
      else hidden.add(key);
      refresh();
    } });
    return el('label', {}, box, swatch ? el('span', { style: `color:${swatch}` }, ' ■ ') : ' ', label);
  };
  const legend = el('div', { class: 'legend' },
    ...variants.map((v) => toggle(`v:${v}`, v, color(v))),
    ...seeds.map((s, i) => toggle(`s:${s}`, `seed ${s}${i % 2 === 1 ? ' (dashed)' : ''}`)));
  return el('div', { class: 'chart', id: o.id }, root as unknown as Node, legend, readout);
}
