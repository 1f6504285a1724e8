/**
 * The text of an ablation record (`runs.json`): JSON indented by two spaces like every other file we write, except
 * that an array of plain values (a run's per-query AP) and any object or array whose one-line form fits in
 * {@link INLINE_WIDTH} characters (a curve point, a ranked-list entry) stay on one line. The record parses back to
 * the same value; only its size changes (the nine committed 5-seed records: 4.9 MB fully indented, 2.7 MB so).
 */

/** Longest one-line form kept inline. */
export const INLINE_WIDTH = 160;

const isPlain = (v: unknown): boolean => v === null || typeof v !== 'object';

function format(value: unknown, indent: string): string {
  if (isPlain(value)) return JSON.stringify(value) ?? 'null';
  const inline = JSON.stringify(value);
  if (Array.isArray(value) && value.every(isPlain)) return inline;
  if (inline.length <= INLINE_WIDTH) return inline;
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${format(v, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(',\n')}\n${indent}}`;
}

/** The record as text (ends with a newline). */
export function recordJson(value: unknown): string {
  return `${format(value, '')}\n`;
}
