/**
 * The paper's numbers (CLIP-SENet, arXiv 2502.16815v1, Tables I–VI and Fig. 3; transcribed from PAPER.md) as data
 * keyed by {@link PaperCellKey}: `<table>/<row>`, e.g. `IV/+SEM+AFEM`, `V/G=32`, `III/MBR/small`. Ablation YAMLs
 * map their variants to these keys; the report layer puts the paper value beside ours. Values are in % and only the
 * metrics the paper gives are present. Fig. 3 cells have no values: they were not recovered (PAPER.md).
 */
import type { PaperCellKey } from '../ablation/summary';

/** A paper table (`fig3` is Fig. 3, SupCon vs triplet). */
export type PaperTable = 'I' | 'II' | 'III' | 'IV' | 'V' | 'VI' | 'fig3';

/** The paper tables in layout order. */
export const PAPER_TABLES: readonly PaperTable[] = ['I', 'II', 'III', 'IV', 'V', 'VI', 'fig3'];

/** A metric the paper reports (in %). */
export type PaperMetric = 'mAP' | 'rank1' | 'rank5';

/** One cell (row) of a paper table. */
export interface PaperCell {
  readonly key: PaperCellKey;
  readonly table: PaperTable;
  /** Row label as in the paper (method, component set, G, backbone, …). */
  readonly row: string;
  /** The dataset (split) the number is on, as `RunSummary.dataset` spells it: `veri776`, `vehicleid-800`, `veriwild-small`, … */
  readonly dataset: string;
  /** The metrics the paper gives, in %. Empty when the value was not recovered (Fig. 3). */
  readonly values: Readonly<Partial<Record<PaperMetric, number>>>;
  /** True for a CLIP-SENet row (an ablation can reproduce it); false for another method's reference row. */
  readonly clipSenet: boolean;
  /** Where the number comes from. */
  readonly source: string;
}

const SRC = 'CLIP-SENet paper (arXiv 2502.16815v1) via PAPER.md';

function cell(table: PaperTable, row: string, dataset: string, values: PaperCell['values'], clipSenet: boolean, note: string, key?: string): PaperCell {
  return { key: key ?? `${table}/${row}`, table, row, dataset, values, clipSenet, source: `${SRC}, ${note}` };
}

const v = (mAP?: number, rank1?: number, rank5?: number): PaperCell['values'] => ({
  ...(mAP !== undefined ? { mAP } : {}),
  ...(rank1 !== undefined ? { rank1 } : {}),
  ...(rank5 !== undefined ? { rank5 } : {}),
});

const T1 = 'Table I (VeRi-776)';
const tableI: PaperCell[] = [
  cell('I', 'CLIP-SENet*', 'veri776', v(92.9, 98.7, 99.1), true, `${T1}; * = with camera + viewpoint (CV); most likely with re-ranking`),
  cell('I', 'MBR', 'veri776', v(91.9, 98.2, 98.4), false, T1),
  cell('I', 'CLIP-ReID (a)', 'veri776', v(88.3), false, `${T1}; first of two CLIP-ReID rows, only mAP recovered`),
  cell('I', 'CLIP-ReID (b)', 'veri776', v(91.7), false, `${T1}; second of two CLIP-ReID rows, only mAP recovered`),
  cell('I', 'TransReID*', 'veri776', v(82.3, 97.1), false, T1),
  cell('I', 'FastReID', 'veri776', v(81.9, 97.0), false, T1),
  cell('I', 'ASSEN', 'veri776', v(81.7, 97.3), false, T1),
  cell('I', 'ANet', 'veri776', v(81.2, 96.8), false, T1),
  cell('I', 'GiT', 'veri776', v(80.3, 96.8), false, T1),
  cell('I', 'DCAL', 'veri776', v(80.2, 96.9), false, T1),
  cell('I', 'PVEN', 'veri776', v(79.5, 95.6), false, T1),
];

const T2 = 'Table II (VehicleID, R1/R5)';
const tableII: PaperCell[] = [
  cell('II', 'small', 'vehicleid-800', v(undefined, 90.4, 98.7), true, `${T2}; Small test set (800 ids)`),
  cell('II', 'medium', 'vehicleid-1600', v(undefined, 85.5, 96.5), true, `${T2}; Medium test set (1600 ids)`),
  cell('II', 'large', 'vehicleid-2400', v(undefined, 82.7, 94.8), true, `${T2}; Large test set (2400 ids)`),
  cell('II', 'ASSEN (large)', 'vehicleid-2400', v(undefined, 82.4, 94.3), false, `${T2}; best prior method quoted, Large only`, 'II/ASSEN/large'),
];

const T3 = 'Table III (VeRi-Wild, mAP/R1)';
const SIZES = ['small', 'medium', 'large'] as const;
const wild: readonly [string, readonly (readonly [number, number])[]][] = [
  ['CLIP-SENet', [[89.1, 97.9], [85.2, 97.0], [79.5, 95.4]]],
  ['MBR', [[88.1, 96.3], [83.8, 95.1], [77.4, 92.4]]],
  ['FastReID', [[87.7, 96.4], [83.5, 95.1], [77.3, 92.5]]],
  ['ANet', [[86.9, 96.5], [82.5, 95.2], [75.9, 92.5]]],
  ['PVEN', [[79.8, 94.0], [73.9, 92.0], [66.2, 88.6]]],
];
const tableIII: PaperCell[] = wild.flatMap(([method, rows]) =>
  rows.map(([mAP, r1], i) => {
    const size = SIZES[i];
    const ours = method === 'CLIP-SENet';
    return cell('III', ours ? size : `${method} (${size})`, `veriwild-${size}`, v(mAP, r1), ours, `${T3}; ${size} test set`, ours ? `III/${size}` : `III/${method}/${size}`);
  }),
);

const T4 = 'Table IV (components, VeRi-776)';
const tableIV: PaperCell[] = [
  cell('IV', 'baseline', 'veri776', v(86.7, 96.8, 97.9), true, `${T4}; CNN + CE + SupCon`),
  cell('IV', '+SEM', 'veri776', v(87.3, 97.0, 97.6), true, `${T4}; raw CLIP feature fused, no AFEM`),
  cell('IV', '+SEM+AFEM', 'veri776', v(91.4, 97.6, 98.5), true, T4),
  cell('IV', '+CV', 'veri776', v(92.9, 98.7, 99.1), true, `${T4}; + camera/viewpoint = the full model (Table I CLIP-SENet*)`),
];

const T5 = 'Table V (AFEM groups G, VeRi-776, mAP/R1)';
const tableV: PaperCell[] = ([[4, 90.2, 97.2], [8, 91.1, 97.6], [16, 91.7, 98.2], [32, 92.9, 98.7], [64, 90.3, 97.9], [128, 90.6, 97.9]] as const).map(([g, mAP, r1]) =>
  cell('V', `G=${g}`, 'veri776', v(mAP, r1), true, g === 32 ? `${T5}; G = 32 is the paper's choice` : T5),
);

const T6 = 'Table VI (CNN backbone, VeRi-776)';
const tableVI: PaperCell[] = [
  cell('VI', 'resnet50-ibn-a', 'veri776', v(91.1, 97.4, 98.6), true, T6),
  cell('VI', 'resnet101-ibn-a', 'veri776', v(91.9, 98.2, 98.9), true, T6),
  cell('VI', 'se-resnet101-ibn-a', 'veri776', v(91.0, 97.8, 98.7), true, T6),
  cell('VI', 'resnext101-ibn-a', 'veri776', v(92.9, 98.7, 99.1), true, `${T6}; the paper's backbone`),
];

const F3 = 'Fig. 3 (SupCon vs triplet, VeRi-776, mAP at epochs 8/12/16/20/24); values not recovered, only that SupCon is better at every point';
const fig3: PaperCell[] = (['supcon', 'triplet'] as const).flatMap((loss) =>
  (['baseline', 'full'] as const).map((model) => cell('fig3', `${loss}/${model}`, 'veri776', {}, true, F3)),
);

/** Every paper cell, in table then row order. */
export const PAPER_CELLS: readonly PaperCell[] = Object.freeze([...tableI, ...tableII, ...tableIII, ...tableIV, ...tableV, ...tableVI, ...fig3]);

const byKey = new Map<PaperCellKey, PaperCell>(PAPER_CELLS.map((c) => [c.key, c]));

/** The Fig. 3 epochs the paper plots. */
export const FIG3_EPOCHS: readonly number[] = [8, 12, 16, 20, 24];

/** Every known key, in table order. */
export function paperCellKeys(): PaperCellKey[] {
  return PAPER_CELLS.map((c) => c.key);
}

/** The cell of `key`, or undefined. */
export function findPaperCell(key: PaperCellKey): PaperCell | undefined {
  return byKey.get(key);
}

/** The cell of `key`; throws listing every known key when there is none. */
export function paperCell(key: PaperCellKey): PaperCell {
  const c = byKey.get(key);
  if (!c) throw new Error(`unknown paper cell '${key}'; known keys: ${paperCellKeys().join(', ')}`);
  return c;
}
