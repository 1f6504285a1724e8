/**
 * The plateau criterion, applied per run: a run is "on the plateau" when its last two periodic evaluations are
 * within {@link PLATEAU_MAP_POINTS} mAP points of each other. A run with fewer than two evaluations cannot be
 * judged (and says so). Reported per run on every ablation page and counted per variant in its table.
 */
import type { RunSummary } from '../ablation/summary';

/** Largest change in mAP (points) between the last two evaluations that still counts as the plateau. */
export const PLATEAU_MAP_POINTS = 1;

/** The criterion in one sentence (printed under the tables). */
export const PLATEAU_METHOD =
  `Plateau: a run's last two periodic evaluations are within ${PLATEAU_MAP_POINTS} mAP point of each other; ` +
  'runs with fewer than two evaluations are not judged.';

/** A run's plateau status. */
export type PlateauStatus =
  | { readonly kind: 'plateau' | 'rising' | 'falling'; readonly last: number; readonly previous: number; readonly change: number; readonly epochs: readonly [number, number] }
  | { readonly kind: 'unjudged'; readonly evaluations: number };

/** The status of one finished run from its evaluation curve (mAP in points). */
export function plateauStatus(summary: RunSummary): PlateauStatus {
  const curve = [...summary.evalCurve].sort((a, b) => a.step - b.step);
  if (curve.length < 2) return { kind: 'unjudged', evaluations: curve.length };
  const prev = curve[curve.length - 2]!;
  const last = curve[curve.length - 1]!;
  const change = (last.mAP - prev.mAP) * 100;
  const kind = Math.abs(change) <= PLATEAU_MAP_POINTS + 1e-9 ? 'plateau' : change > 0 ? 'rising' : 'falling';
  return { kind, last: last.mAP * 100, previous: prev.mAP * 100, change, epochs: [prev.epoch, last.epoch] };
}

/** `k/n on plateau` over a variant's finished runs (n counts the judged ones), or `not judged` when none is. */
export function plateauCount(summaries: readonly RunSummary[]): string {
  const judged = summaries.map(plateauStatus).filter((s) => s.kind !== 'unjudged');
  if (judged.length === 0) return summaries.length === 0 ? '—' : 'not judged';
  return `${judged.filter((s) => s.kind === 'plateau').length}/${judged.length}`;
}
