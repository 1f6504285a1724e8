/** The explorer's static pages: overview, one ablation grid, the paper tables, a run's ranked lists. */
import type { GridData, PaperTableData, RankedEntry, RankedListData, RunRanked, SiteData } from '../../src/explorer/site-types';
import { lineChart } from './chart';
import { el, missing, withCode } from './dom';
import { sortableTable } from './table';

/** `#/grid/<ablation>/<profile>`. */
export const gridHref = (g: GridData): string => `#/grid/${g.id}`;
/** `#/ranked/<runKey>`. */
export const rankedHref = (runKey: string): string => `#/ranked/${encodeURIComponent(runKey)}`;

/** The landing page: grids, paper tables, ranked lists, demo, and what the bundle loaded. */
export function overviewView(site: SiteData): HTMLElement {
  return el('section', { id: 'overview' },
    el('h1', {}, 'Results explorer'),
    el('p', { class: 'muted' }, `Built from ${site.records.length} committed ablation records at commit ${site.commit}. Every number comes from the records (the same code as the Markdown reports).`),
    el('h2', {}, 'Ablation grids'),
    el('div', { class: 'cards' }, ...site.grids.map((g) => el('div', { class: 'card' },
      el('a', { href: gridHref(g) }, g.title), el('div', { class: 'muted' }, `${g.id} · ${g.rows.length} variants · baseline ${g.baseline}`)))),
    el('h2', {}, 'More'),
    el('ul', {},
      el('li', {}, el('a', { href: '#/paper' }, 'Paper tables beside ours')),
      el('li', {}, el('a', { href: '#/ranked' }, `Ranked lists (${site.ranked.length} runs)`)),
      el('li', {}, el('a', { href: '#/demo' }, 'Live re-ID demo'), site.demoMissing ? el('span', { class: 'muted' }, ` — ${site.demoMissing}`) : ` — ${site.demo.filter((d) => d.dir).length} runs with weights`)),
    el('h3', {}, 'Packages in this page\'s bundle (the toolkit\'s own browser entries)'),
    el('ul', { id: 'bundle-packages' }, ...site.bundlePackages.map((p) => el('li', {}, el('code', {}, p)))),
  );
}

function figureBlock(g: GridData): HTMLElement {
  return el('div', { class: 'figures', id: 'figures' }, ...g.figures.map((f) => el('figure', {},
    f.src ? el('img', { src: f.src, alt: f.label, loading: 'lazy' }) : missing(`Figure "${f.label}": ${f.missing ?? 'missing'}`),
    el('figcaption', { class: 'muted' }, f.label))));
}

/** One ablation grid: table, curves, provenance, figures. */
export function gridView(g: GridData): HTMLElement {
  const numeric = (j: number): boolean => g.rows.some((r) => r.sort[j] !== null);
  const rows = sortableTable({
    id: 'grid-table', header: g.header, rows: g.rows, numeric,
    rowAttrs: (i) => ({ 'data-variant': g.rows[i]!.cells[0]!, class: g.rows[i]!.cells[0] === g.baseline ? 'baseline' : '' }),
  });
  const train = g.trainCurves.length > 0
    ? lineChart({ id: 'chart-train', title: 'Training loss (total) per variant and seed', xLabel: 'step', yLabel: 'loss', series: g.trainCurves })
    : missing('No training curve in this record (no finished run).');
  const evals = g.evalCurves.length > 0
    ? lineChart({ id: 'chart-eval', title: 'mAP (%) over epochs per variant and seed', xLabel: 'epoch', yLabel: 'mAP (%)', series: g.evalCurves })
    : missing('No evaluation curve in this record (the runs evaluated only at the end).');
  const runs = el('table', { id: 'provenance-runs' },
    el('thead', {}, el('tr', {}, ...['variant', 'seed', 'run key', 'finished at', 'backend', 'commit', 'protocol', 'dataset', 'wall'].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...g.runs.map((r) => el('tr', {},
      el('td', {}, r.variant), el('td', {}, String(r.seed)), el('td', {}, r.finished ? el('a', { href: rankedHref(r.runKey) }, el('code', {}, r.runKey)) : el('code', {}, r.runKey)),
      el('td', {}, r.finishedAt), el('td', {}, r.backend), el('td', {}, r.commit), el('td', {}, el('code', {}, r.protocolId)), el('td', {}, r.dataset), el('td', { class: 'num' }, r.wall)))));
  return el('section', { id: 'grid', 'data-grid': g.id },
    el('h1', {}, g.title),
    el('p', { class: 'muted' }, withCode(`Ablation \`${g.ablation}\`, profile \`${g.profile}\`, baseline \`${g.baseline}\`; record \`${g.recordPath}\`. Metrics in %: mean ± sample std over finished seeds; Δ = variant mean − baseline mean. Click a header to sort.`)),
    el('div', { class: 'table-wrap' }, rows),
    el('p', { class: 'muted' }, g.ciMethod),
    el('h2', {}, 'Curves'),
    el('div', { class: 'charts' }, train, evals),
    el('h2', {}, 'Provenance'),
    el('ul', { id: 'provenance' }, ...g.provenance.map(([k, v]) => el('li', {}, el('b', {}, `${k}: `), v))),
    runs,
    el('h2', {}, 'Figures (from the report)'),
    figureBlock(g),
  );
}

const num = (x: number | null): string => (x === null ? '—' : x.toFixed(1));

function paperTable(t: PaperTableData): HTMLElement {
  const ours = (cells: PaperTableData['rows'][number]['ours'], cls: string): HTMLElement =>
    el('td', { class: cls }, cells.length === 0 ? el('span', { class: 'muted' }, 'not run') : cells.map((c) => el('div', {}, c.text)));
  return el('section', { class: 'paper', 'data-table': t.table },
    el('h2', {}, t.title),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['row', 'key', 'dataset', 'paper mAP', 'paper R1', 'paper R5', 'ours (same dataset)', 'embedded synthetic world (not comparable)'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...t.rows.map((r) => el('tr', { class: r.reference ? 'ref' : '', 'data-key': r.key },
        el('td', {}, r.row + (r.reference ? ' (ref.)' : '')), el('td', {}, el('code', {}, r.key)), el('td', {}, r.dataset),
        el('td', { class: 'num' }, num(r.paper.mAP)), el('td', { class: 'num' }, num(r.paper.rank1)), el('td', { class: 'num' }, num(r.paper.rank5)),
        r.reference ? el('td', {}, '—') : ours(r.ours, 'ours'), r.reference ? el('td', {}, '—') : ours(r.synthetic, 'synthetic'))))));
}

/** The paper's tables with ours beside them. */
export function paperView(site: SiteData): HTMLElement {
  return el('section', { id: 'paper' }, el('h1', {}, 'Paper tables vs ours'), el('p', { class: 'muted' }, site.paperNote), ...site.paper.map(paperTable));
}

function tile(cls: string, label: string, image: string | null, path: string, extra?: string): HTMLElement {
  return el('div', { class: `tile ${cls}`, 'data-path': path, 'data-mark': cls },
    el('div', { class: 'img' }, image ? el('img', { src: image, alt: path }) : el('span', { class: 'muted' }, 'no image')),
    el('div', { class: 'mark' }, label), extra ? el('div', {}, extra) : null, el('div', { class: 'muted' }, path.split('/').pop() ?? path));
}

/** One ranked list: the query then its entries, marked correct / wrong / junk. */
export function rankedRow(l: RankedListData, entries: readonly RankedEntry[] = l.gallery): HTMLElement {
  let rank = 0;
  return el('div', { class: 'ranked-row', 'data-query': l.query },
    tile('query', 'query', l.queryImage, l.query),
    ...entries.map((g) => {
      const label = g.mark === 'junk' ? 'junk' : `#${++rank} ${g.mark}`;
      return tile(g.mark, label, g.image, g.path, g.distance !== undefined ? `d ${g.distance.toFixed(4)}` : undefined);
    }));
}

/** Ranked lists: a run chooser, then that run's lists. */
export function rankedView(site: SiteData, runKey: string | undefined): HTMLElement {
  const run: RunRanked | undefined = site.ranked.find((r) => r.runKey === runKey) ?? site.ranked[0];
  const chooser = el('select', { id: 'ranked-run', onchange: (e: Event) => { location.hash = rankedHref((e.target as HTMLSelectElement).value); } },
    ...site.ranked.map((r) => el('option', { value: r.runKey, selected: r === run }, `${r.labels[0]}${r.labels.length > 1 ? ` (+${r.labels.length - 1} grids)` : ''}${r.source === 'demo' ? ' — demo export' : ''}`)));
  if (!run) return el('section', { id: 'ranked' }, el('h1', {}, 'Ranked lists'), missing('No run in the records holds ranked lists.'));
  const note = run.source === 'record'
    ? 'From the record: top-10 after the protocol removed junk (same vehicle, same camera); green = same identity, red = not.'
    : 'Recomputed at build time from the exported run\'s features: junk (same vehicle, same camera, ignored by the VeRi-776 protocol) is shown dashed where it ranked; the 10 counted entries are numbered.';
  return el('section', { id: 'ranked' },
    el('h1', {}, 'Ranked lists'), el('label', {}, 'run: ', chooser),
    el('p', { class: 'muted' }, `${run.labels.join('; ')} · run ${run.runKey}. ${note}`),
    run.imagesMissing ? missing(run.imagesMissing) : null,
    ...run.lists.map((l) => rankedRow(l)));
}
