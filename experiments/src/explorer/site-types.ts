/**
 * The results explorer's data contract: what `npx nx run experiments:explorer` writes into the site
 * (`data/site.json`, `demo/<run>/model.json`, …) and the page reads. Owned by the build (site-data.ts,
 * demo-export.ts); the page imports these types. Type declarations only, so the browser bundle loads nothing here.
 */

/** Format tag of {@link SiteData}. */
export const SITE_FORMAT = 'clip-senet/explorer-site@1';

/** A figure next to a record: its site path, or why it is missing. */
export interface FigureEntry {
  readonly label: string;
  /** Site-relative path of the copied PNG; null when the record has no such figure. */
  readonly src: string | null;
  /** What is missing and why (when `src` is null). */
  readonly missing?: string;
}

/** One line of a chart: a (variant, seed) run's curve. */
export interface CurveSeries {
  readonly variant: string;
  readonly seed: number;
  readonly runKey: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A table row: the text of each cell (exactly the committed Markdown's) and a sort key per cell. */
export interface TableRow {
  readonly cells: readonly string[];
  /** Numeric sort key per cell (null: sorts by text). */
  readonly sort: readonly (number | null)[];
}

/** One run of a grid, for the provenance table. */
export interface ProvenanceRun {
  readonly variant: string;
  readonly seed: number;
  readonly runKey: string;
  readonly finished: boolean;
  readonly backend: string;
  readonly commit: string;
  readonly protocolId: string;
  readonly dataset: string;
  readonly wall: string;
  readonly finishedAt: string;
}

/** An ablation grid (one `runs.json`). */
export interface GridData {
  /** `<ablation>/<profile>`. */
  readonly id: string;
  readonly title: string;
  readonly ablation: string;
  readonly profile: string;
  readonly baseline: string;
  /** Repository-relative path of the record. */
  readonly recordPath: string;
  readonly header: readonly string[];
  readonly rows: readonly TableRow[];
  /** How the Δ mAP 95% CI column is computed (the report's sentence). */
  readonly ciMethod: string;
  /** Training loss (total) vs step, and mAP (%) vs epoch, per (variant, seed). */
  readonly trainCurves: readonly CurveSeries[];
  readonly evalCurves: readonly CurveSeries[];
  /** `label: value` lines (protocol, dataset, backend, commit, seeds, flip TTA, wall time). */
  readonly provenance: readonly (readonly [string, string])[];
  readonly runs: readonly ProvenanceRun[];
  readonly figures: readonly FigureEntry[];
}

/** One paper table row with the paper's values and ours. */
export interface PaperRow {
  readonly key: string;
  readonly row: string;
  readonly dataset: string;
  readonly reference: boolean;
  readonly paper: { readonly mAP: number | null; readonly rank1: number | null; readonly rank5: number | null };
  /** Our groups in the dataset's own column (comparable) and on the synthetic world (not comparable). */
  readonly ours: readonly OursCell[];
  readonly synthetic: readonly OursCell[];
}

/** Our mean ± std for a paper cell from one record and protocol. */
export interface OursCell {
  readonly text: string;
  readonly mAP: number;
  readonly rank1: number;
  readonly source: string;
  readonly protocolId: string;
  readonly seeds: number;
}

/** A paper table. */
export interface PaperTableData {
  readonly table: string;
  readonly title: string;
  readonly rows: readonly PaperRow[];
}

/** How a gallery entry of a ranked list counts. */
export type RankMark = 'correct' | 'wrong' | 'junk';

/** A gallery entry of a ranked list. */
export interface RankedEntry {
  readonly path: string;
  readonly mark: RankMark;
  /** Site path of the image, or null when the image is not on the machine that built the site. */
  readonly image: string | null;
  readonly distance?: number;
}

/** One query's ranked list. */
export interface RankedListData {
  readonly query: string;
  readonly queryImage: string | null;
  readonly gallery: readonly RankedEntry[];
}

/** The ranked lists of one run. */
export interface RunRanked {
  readonly runKey: string;
  /** `<grid id> · <variant> · seed <n>` for every grid cell holding the run. */
  readonly labels: readonly string[];
  readonly datasetRoot: string;
  /** 'record': the record's lists (junk already removed by the protocol); 'demo': recomputed with junk shown. */
  readonly source: 'record' | 'demo';
  readonly lists: readonly RankedListData[];
  /** Why images are missing (when any are). */
  readonly imagesMissing?: string;
}

/** A run offered by the live demo (exported) or listed as not available. */
export interface DemoRunEntry {
  readonly id: string;
  readonly label: string;
  /** Site folder of the export (`demo/<id>/`), or null when the run could not be exported. */
  readonly dir: string | null;
  /** Why the run has no export (no checkpoint, …). */
  readonly missing?: string;
}

/** `data/site.json`. */
export interface SiteData {
  readonly format: typeof SITE_FORMAT;
  readonly commit: string;
  readonly records: readonly string[];
  readonly grids: readonly GridData[];
  readonly paper: readonly PaperTableData[];
  readonly paperNote: string;
  readonly ranked: readonly RunRanked[];
  readonly demo: readonly DemoRunEntry[];
  /** Set when no run with weights was found (what to do). */
  readonly demoMissing?: string;
  /** The packages and entry files the page's bundle loaded. */
  readonly bundlePackages: readonly string[];
}

/** One parameter or buffer in `weights.bin` (float32, little-endian). */
export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in float32 elements. */
  readonly offset: number;
}

/** A query of the demo (from the test split). */
export interface DemoQuery {
  readonly path: string;
  readonly image: string;
  readonly vehicleId: number;
  readonly cameraId: number;
  readonly viewId?: number;
  /** The decoded RGB pixels (the Node decoder's) in `queries.rgb`: byte offset and size. */
  readonly rgbOffset: number;
  readonly width: number;
  readonly height: number;
}

/** `demo/<id>/model.json`. */
export interface DemoModel {
  readonly format: 'clip-senet/explorer-demo@1';
  readonly id: string;
  readonly label: string;
  readonly runDir: string;
  /** The run's model config with the pretrained weight paths removed (the parameters come from weights.bin). */
  readonly model: unknown;
  readonly numClasses: number;
  readonly seed: number;
  readonly featureDim: number;
  readonly protocolId: string;
  readonly metric: 'cosine' | 'euclidean';
  readonly checkpoint: string;
  readonly weights: readonly WeightEntry[];
  readonly queries: readonly DemoQuery[];
  readonly gallery: {
    readonly count: number;
    readonly paths: readonly string[];
    readonly images: readonly string[];
    readonly ids: readonly number[];
    readonly cams: readonly number[];
  };
  /** The backend the gallery features were extracted on at build time. */
  readonly buildBackend: string;
}
