/** Tiny DOM helpers for the explorer page (no framework). */

type Child = Node | string | null | undefined | false;

/** An element with attributes (`class`, `data-*`, …; `on<event>` functions become listeners) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** A note box saying what is missing (shown in place of the missing part). */
export function missing(text: string, kind: 'note' | 'error' = 'note'): HTMLElement {
  return el('div', { class: kind, 'data-missing': 'true' }, text);
}

/** Inline `code` spans for `backticked` parts of a text. */
export function withCode(text: string): (Node | string)[] {
  return text.split(/(`[^`]+`)/).map((part) => (part.startsWith('`') && part.endsWith('`') ? el('code', {}, part.slice(1, -1)) : part));
}
