/**
 * Dataset resolution for the CLI (PROTOCOLS.md): `synthetic` generates (or reuses) the embedded world under the
 * git-ignored `<repo>/datasets/synthetic/` and reads it as VeRi-776; `veri776`, `vehicleid` and `veriwild` read
 * `data.root` (relative to the repository root) with the datasets package's readers, strict about counts
 * unless `data.strictCounts: false`. Every image of every split is then checked structurally (head and tail bytes,
 * datasets' `assertImagesIntact`), so a truncated or damaged file stops the run before training starts instead of
 * training on grey rows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashString32 } from '@clip-senet/core';
import {
  assertImagesIntact,
  generateSyntheticWorld,
  loadVeRi776,
  loadVeRiWild,
  loadVehicleID,
  vehicleIdQueryGallery,
  SYNTHETIC_WORLD_VERSION,
  type Sample,
  type SyntheticWorldManifest,
  type VeRi776GoodJunk,
  type VeRiWildTestSize,
  type VehicleIDTestSize,
} from '@clip-senet/datasets';
import { REPO_ROOT, resolveRepoPath, type DataConfig, type DatasetName, type WorldConfig } from './config';

export { REPO_ROOT };

/** Splits of a re-ID dataset. */
export interface LoadedData {
  readonly dataset: DatasetName;
  /** Absolute dataset root. */
  readonly root: string;
  /** Training samples with contiguous labels. */
  readonly train: readonly Sample[];
  /**
   * Query / gallery. VehicleID has no fixed split: these are draw 0 (`data.drawSeed`); its evaluation uses
   * every draw of {@link LoadedData.test}.
   */
  readonly query: readonly Sample[];
  readonly gallery: readonly Sample[];
  /** VehicleID only: the test list in ascending path order (the order the protocol's draws assume). */
  readonly test?: readonly Sample[];
  /** Official VeRi-776 good/junk gallery indices (with `data.officialIndices`). */
  readonly goodJunk?: VeRi776GoodJunk;
  readonly numClasses: number;
  /** Count mismatches the reader reported (empty with strict counts: a mismatch throws). */
  readonly warnings: readonly string[];
}

/** Options of {@link loadData}. */
export interface LoadDataOptions {
  /** Receives count warnings when `data.strictCounts` is false (default `console.warn`). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Folder of the synthetic world with these parameters: `<repo>/datasets/synthetic/<seed>-<hash>`, the hash over
 * the parameters and the generator version (a new generator version gets a new folder instead of a refusal).
 */
export function syntheticWorldDir(world: Readonly<WorldConfig>): string {
  const hash = hashString32(JSON.stringify({ version: SYNTHETIC_WORLD_VERSION, world })).toString(16).padStart(8, '0');
  return join(REPO_ROOT, 'datasets', 'synthetic', `${world.seed ?? 'default'}-${hash}`);
}

/** The absolute dataset root a config reads: `data.root` (repository-relative), else the synthetic world's folder. */
export function datasetRoot(data: Readonly<DataConfig>): string {
  return data.root !== undefined ? resolveRepoPath(data.root) : syntheticWorldDir(data.world);
}

/** Generate (or reuse) the configured synthetic world; returns its root. */
export function ensureSyntheticWorld(data: Readonly<DataConfig>): string {
  const outDir = datasetRoot(data);
  return generateSyntheticWorld({ ...data.world, outDir }).root;
}

const byPath = (a: Sample, b: Sample): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Load the configured dataset (generating the synthetic world first when needed) and check its images.
 *
 * @throws DatasetFormatError / DatasetCountError from the readers
 * @throws DamagedImagesError when images of any split are truncated or not JPEG/PNG (how many, and the first few)
 */
export function loadData(data: Readonly<DataConfig>, options: LoadDataOptions = {}): LoadedData {
  const loaded = readData(data, options);
  const { train, query, gallery, test = [] } = loaded;
  assertImagesIntact(`${loaded.dataset} dataset at ${loaded.root}`, [train, query, gallery, test].flatMap((xs) => xs.map((s) => s.path)));
  return loaded;
}

function readData(data: Readonly<DataConfig>, options: LoadDataOptions): LoadedData {
  const counts = { strict: data.strictCounts, ...(options.onWarning ? { onWarning: options.onWarning } : {}) };
  switch (data.dataset) {
    case 'synthetic': {
      const root = ensureSyntheticWorld(data);
      const manifest = JSON.parse(readFileSync(join(root, 'world.json'), 'utf8')) as SyntheticWorldManifest;
      // The world's own view labels are always read (every image has one), so camera/view experiments work on it.
      const ds = loadVeRi776(root, { ...manifest.readerOptions, strict: true, viewLabels: join(root, 'view_labels.txt'), withOfficialIndices: data.officialIndices === true });
      return { dataset: 'synthetic', root, ...ds, numClasses: ds.numTrainIds };
    }
    case 'veri776': {
      const root = resolveRepoPath(data.root!);
      const viewLabels = typeof data.viewLabels === 'string' ? { viewLabels: resolveRepoPath(data.viewLabels) } : {};
      const ds = loadVeRi776(root, { ...counts, ...viewLabels, withOfficialIndices: data.officialIndices === true });
      return { dataset: 'veri776', root, ...ds, numClasses: ds.numTrainIds };
    }
    case 'vehicleid': {
      const root = resolveRepoPath(data.root!);
      const ds = loadVehicleID(root, { ...counts, testSize: data.testSize as VehicleIDTestSize });
      const test = [...ds.test].sort(byPath);
      const first = vehicleIdQueryGallery(test, { seed: data.drawSeed ?? 0 });
      return { dataset: 'vehicleid', root, train: ds.train, ...first, test, numClasses: ds.numTrainIds, warnings: ds.warnings };
    }
    case 'veriwild': {
      const root = resolveRepoPath(data.root!);
      const ds = loadVeRiWild(root, { ...counts, testSize: data.testSize as VeRiWildTestSize, format: data.format ?? 'auto' });
      return { dataset: 'veriwild', root, train: ds.train, query: ds.query, gallery: ds.gallery, numClasses: ds.numTrainIds, warnings: ds.warnings };
    }
  }
}
