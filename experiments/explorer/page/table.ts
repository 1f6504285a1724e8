/** A sortable table: click a header to sort by it (numbers by value, text otherwise), again to reverse. */
import type { TableRow } from '../../src/explorer/site-types';
import { el } from './dom';

/** Options of {@link sortableTable}. */
export interface SortableTableOptions {
  readonly id?: string;
  readonly header: readonly string[];
  readonly rows: readonly TableRow[];
  /** Extra row attributes (e.g. data-variant), by row index. */
  readonly rowAttrs?: (i: number) => Record<string, string>;
  /** Columns rendered as numbers (right-aligned, tabular). */
  readonly numeric?: (col: number) => boolean;
}

/** The table element. */
export function sortableTable(o: SortableTableOptions): HTMLTableElement {
  const table = el('table', { id: o.id, 'data-sortable': 'true' });
  const tbody = el('tbody');
  let order = o.rows.map((_, i) => i);
  let sortCol = -1;
  let dir = 1;
  const render = (): void => {
    tbody.replaceChildren(...order.map((i) => {
      const r = o.rows[i]!;
      return el('tr', o.rowAttrs?.(i) ?? {}, ...r.cells.map((c, j) => el('td', { class: o.numeric?.(j) ? 'num' : undefined }, c)));
    }));
    head.querySelectorAll('th').forEach((th, j) => {
      th.querySelector('.arrow')!.textContent = j === sortCol ? (dir > 0 ? ' ▲' : ' ▼') : '';
    });
  };
  const sortBy = (col: number): void => {
    dir = col === sortCol ? -dir : 1;
    sortCol = col;
    const key = (i: number): number | string => o.rows[i]!.sort[col] ?? o.rows[i]!.cells[col]!;
    order = [...order].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const c = typeof ka === 'number' && typeof kb === 'number' ? ka - kb : typeof ka === 'number' ? -1 : typeof kb === 'number' ? 1 : String(ka).localeCompare(String(kb));
      return c * dir || a - b;
    });
    render();
  };
  const head = el('tr', {}, ...o.header.map((h, j) => el('th', { class: 'sortable', title: 'sort by this column', onclick: () => sortBy(j) }, h, el('span', { class: 'arrow' }))));
  table.append(el('thead', {}, head), tbody);
  render();
  return table;
}
