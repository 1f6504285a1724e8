/** Test fixtures of the report layer: hand-made run summaries and ablation records, and a small CSV reader. */
import { RUN_SUMMARY_FORMAT, type AblationRecord, type AblationRunRecord, type EvalPoint, type RankedList, type RunMetrics, type RunSummary } from '../ablation/summary';

/** Options of {@link fakeSummary}. */
export interface FakeSummaryOptions {
  readonly dataset?: string;
  readonly protocolId?: string;
  readonly evalCurve?: readonly EvalPoint[];
  readonly ranked?: readonly RankedList[];
  readonly datasetRoot?: string;
  readonly wallSeconds?: number;
}

/** A finished run's summary with the given metrics (fractions) and a short falling loss curve. */
export function fakeSummary(runKey: string, seed: number, metrics: Omit<RunMetrics, 'rank10'>, options: FakeSummaryOptions = {}): RunSummary {
  return {
    format: RUN_SUMMARY_FORMAT,
    runKey,
    dataset: options.dataset ?? 'synthetic',
    protocolId: options.protocolId ?? 'veri776/no-rr/cosine/non-interp',
    seed,
    metrics: { ...metrics, rank10: Math.min(1, metrics.rank5 + 0.01) },
    numValidQueries: 10,
    numSkippedQueries: 0,
    flip: false,
    evalCurve: options.evalCurve ?? [],
    trainCurve: [0, 10, 20, 30].map((step) => ({ step, epoch: step / 10, lr: 1e-3, loss: { total: 5 / (1 + step / 10) + seed * 0.01, ce: 3 / (1 + step / 10) } })),
    ranked: options.ranked ?? [],
    datasetRoot: options.datasetRoot ?? '/nonexistent/dataset',
    backend: 'wasm',
    commit: 'abc1234',
    wallSeconds: options.wallSeconds ?? 61,
    finishedAt: '2026-01-01T00:00:00.000Z',
  };
}

/** A record from variants (name, paper keys) and per-(variant, seed) summaries (null = unfinished). */
export function fakeRecord(
  ablation: string,
  variants: readonly { name: string; paper: readonly string[]; description?: string }[],
  seeds: readonly number[],
  summaryOf: (variant: string, seed: number) => RunSummary | null,
  baseline = variants[0].name,
): AblationRecord {
  const runs: AblationRunRecord[] = variants.flatMap((v) => seeds.map((seed) => ({ variant: v.name, seed, runKey: `${ablation}-${v.name}-${seed}`, summary: summaryOf(v.name, seed) })));
  return {
    format: 'clip-senet/ablation-runs@1',
    ablation,
    title: `Test ablation ${ablation}`,
    profile: 'smoke',
    baseline,
    variants: variants.map((v) => ({ name: v.name, description: v.description ?? `variant ${v.name}`, paper: v.paper })),
    seeds,
    runs,
    wallSeconds: 3725,
  };
}

/**
 * The standard fixture: `baseline` (IV/baseline, 2/2 seeds), `full` (IV/+SEM+AFEM, 1/2 seeds), `g64` (V/G=64, 0/2).
 * Baseline mAP 80 / 82, R1 90 / 93, R5 95 / 95, mINP 40 / 44; full (seed 1) 85 / 94 / 97 / 50.
 */
export function standardRecord(dataset = 'synthetic'): AblationRecord {
  const m: Readonly<Record<string, Omit<RunMetrics, 'rank10'> | undefined>> = {
    'baseline-1': { mAP: 0.8, rank1: 0.9, rank5: 0.95, mINP: 0.4 },
    'baseline-2': { mAP: 0.82, rank1: 0.93, rank5: 0.95, mINP: 0.44 },
    'full-1': { mAP: 0.85, rank1: 0.94, rank5: 0.97, mINP: 0.5 },
  };
  return fakeRecord(
    'components',
    [
      { name: 'baseline', paper: ['IV/baseline'], description: 'CNN + CE + SupCon, no | SEM' },
      { name: 'full', paper: ['IV/+SEM+AFEM'], description: 'with SEM, AFEM' },
      { name: 'g64', paper: ['V/G=64'] },
    ],
    [1, 2],
    (v, seed) => {
      const metrics = m[`${v}-${seed}`];
      return metrics ? fakeSummary(`components-${v}-${seed}`, seed, metrics, { dataset, evalCurve: [4, 8].map((epoch) => ({ step: epoch * 10, epoch, mAP: metrics.mAP - 0.1 / epoch, rank1: metrics.rank1, rank5: metrics.rank5, mINP: metrics.mINP })) }) : null;
    },
  );
}

/** Parse RFC 4180 CSV (quoted fields, doubled quotes, commas and newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** A PNG's width and height from its IHDR chunk (throws when the signature is wrong). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || !sig.every((b, i) => png[i] === b)) throw new Error('not a PNG');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
