/**
 * VeRi-776 reader (Liu et al., "A Deep Learning-Based Approach to Progressive Vehicle Re-identification",
 * ECCV 2016; layout and protocol in PROTOCOLS.md).
 *
 * Reads `name_train.txt` / `name_query.txt` / `name_test.txt` (one file name per line) against the folders
 * `image_train/`, `image_query/`, `image_test/`. Identity and camera come from the file name
 * `<vehicleId 4 digits>_c<camera 3 digits>_<frame>_<n>.jpg`; camera `c001`..`c020` maps to 0..19. Samples keep
 * list-file order (the official good/junk indices refer to `name_test.txt` order); train samples get labels
 * 0..N−1 in ascending vehicle-id order. The XML label files (colour/type attributes) are not needed for re-id
 * and are not read.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatasetFormatError } from './errors';
import { type KeyedEntry, DirectoryIndex, DuplicateGuard, MISSING_SHOWN, MissingImages, checkQueryIdsInGallery, checkTrainTestDisjoint, readEntryLines } from './list-file';
import {
  type CountCheckOptions,
  type CountRow,
  type QueryGalleryCounts,
  VERI776_COUNTS,
  checkCounts,
  countDistinct,
  relabelBySortedId,
  splitRows,
} from './published-counts';
import type { Sample } from './sample';
import { type VeRi776GoodJunk, applyViewLabels, readGoodJunk } from './veri776-extras';

/** `0001_c001_00016450_0.jpg` → vehicle id, 1-based camera, frame, index. */
export const VERI776_NAME_PATTERN = /^(\d{4})_c(\d{3})_(\d+)_(\d+)\.(?:jpg|jpeg|png)$/i;

/** Fields encoded in a VeRi-776 file name (camera as written, 1-based). */
export interface VeRi776Name {
  readonly vehicleId: number;
  readonly camera: number;
  readonly frame: number;
  readonly index: number;
}

/** Parse a VeRi-776 file name; `undefined` when it does not follow the pattern. */
export function parseVeRi776Name(name: string): VeRi776Name | undefined {
  const m = VERI776_NAME_PATTERN.exec(name);
  if (!m) return undefined;
  return { vehicleId: Number(m[1]), camera: Number(m[2]), frame: Number(m[3]), index: Number(m[4]) };
}

/** The three splits: list file and image folder. */
export const VERI776_SPLITS = {
  train: { list: 'name_train.txt', dir: 'image_train' },
  query: { list: 'name_query.txt', dir: 'image_query' },
  gallery: { list: 'name_test.txt', dir: 'image_test' },
} as const;

/** Options of {@link loadVeRi776}. */
export interface VeRi776Options extends CountCheckOptions {
  /**
   * Optional viewpoint label file, one `<image file name> <view id 0..7>` per line (blank lines ignored).
   * Every loaded sample must have a label; missing ones are an error listing them (never dropped).
   */
  readonly viewLabels?: string;
  /** Also read the official `gt_index.txt` / `jk_index.txt` into `goodJunk`. Default false. */
  readonly withOfficialIndices?: boolean;
  /** Counts to check instead of the published ones (fields left out are not checked). */
  readonly expectedCounts?: QueryGalleryCounts;
  /** Cameras are `c001`..`c<numCameras>`; anything else is an unknown camera. Default 20. */
  readonly numCameras?: number;
}

/** A loaded VeRi-776 tree. */
export interface VeRi776Dataset {
  /** `name_train.txt` order, with `label` 0..numTrainIds−1 (sorted vehicle-id order). */
  readonly train: Sample[];
  /** `name_query.txt` order. */
  readonly query: Sample[];
  /** `name_test.txt` order (the official indices refer to it). */
  readonly gallery: Sample[];
  readonly numTrainIds: number;
  /** Distinct cameras over all splits. */
  readonly numCameras: number;
  /** Count mismatches (already passed to `onWarning`). */
  readonly warnings: string[];
  /** Official per-query good/junk gallery indices (0-based), when `withOfficialIndices` was set. */
  readonly goodJunk?: VeRi776GoodJunk;
}

interface SplitEntries {
  readonly listFile: string;
  readonly samples: Sample[];
  /** File name, identity and 1-based list line of each sample. */
  readonly keyed: KeyedEntry[];
  /** Image files in the split's folder that the list does not name (sorted); they are not loaded. */
  readonly unlisted: string[];
}

const IMAGE_FILE = /\.(?:jpe?g|png)$/i;

/** The count row "<dir>/ images not in <list>" (expected 0), naming the first few. */
function unlistedRow(split: keyof typeof VERI776_SPLITS, unlisted: readonly string[]): CountRow {
  const { list, dir } = VERI776_SPLITS[split];
  const shown = unlisted.slice(0, MISSING_SHOWN).join(', ');
  const more = unlisted.length > MISSING_SHOWN ? `, … and ${unlisted.length - MISSING_SHOWN} more` : '';
  return { what: `${dir}/ images not listed in ${list} (not loaded)`, actual: unlisted.length, expected: 0, detail: `${shown}${more}` };
}

function readSplit(root: string, split: keyof typeof VERI776_SPLITS, numCameras: number, dirs: DirectoryIndex): SplitEntries {
  const listFile = join(root, VERI776_SPLITS[split].list);
  const imageDir = join(root, VERI776_SPLITS[split].dir);
  const lines = readEntryLines(listFile);
  if (!existsSync(imageDir)) throw new DatasetFormatError(imageDir, undefined, 'required image folder not found');
  const dupes = new DuplicateGuard(listFile);
  const missing = new MissingImages(listFile);
  const samples: Sample[] = [];
  const keyed: KeyedEntry[] = [];
  for (const { text, line } of lines) {
    const parsed = parseVeRi776Name(text);
    if (!parsed) {
      throw new DatasetFormatError(listFile, line, `malformed entry "${text}" (expected <vid 4 digits>_c<cam 3 digits>_<frame>_<n>.jpg)`);
    }
    if (parsed.camera < 1 || parsed.camera > numCameras) {
      const last = `c${String(numCameras).padStart(3, '0')}`;
      throw new DatasetFormatError(listFile, line, `unknown camera c${String(parsed.camera).padStart(3, '0')} in "${text}" (expected c001..${last})`);
    }
    dupes.check(text, line);
    const path = join(imageDir, text);
    if (!dirs.has(imageDir, text)) missing.add(line, path);
    samples.push({ path, vehicleId: parsed.vehicleId, cameraId: parsed.camera - 1 });
    keyed.push({ key: text, vehicleId: parsed.vehicleId, line });
  }
  missing.throwIfAny();
  const listed = new Set(keyed.map((e) => e.key));
  const unlisted = [...dirs.names(imageDir)].filter((n) => IMAGE_FILE.test(n) && !listed.has(n)).sort();
  return { listFile, samples, keyed, unlisted };
}

/**
 * Load a VeRi-776 tree rooted at `root` (see PROTOCOLS.md for the layout).
 *
 * @throws DatasetFormatError for a missing list file or folder, an empty list, a malformed name, an unknown camera,
 *   a duplicate entry, listed images missing on disk (first few + total), a query or gallery identity that is also
 *   a training identity, a query of an identity absent from the gallery list, bad view labels or bad official
 *   indices.
 * @throws DatasetCountError with `strict: true` when counts differ from `expectedCounts` (default: published).
 */
export function loadVeRi776(root: string, options: VeRi776Options = {}): VeRi776Dataset {
  const absRoot = resolve(root);
  const numCameras = options.numCameras ?? 20;
  const dirs = new DirectoryIndex();
  const trainSplit = readSplit(absRoot, 'train', numCameras, dirs);
  const querySplit = readSplit(absRoot, 'query', numCameras, dirs);
  const gallerySplit = readSplit(absRoot, 'gallery', numCameras, dirs);
  for (const test of [querySplit, gallerySplit]) checkTrainTestDisjoint(trainSplit.listFile, trainSplit.keyed, test.listFile, test.keyed);
  checkQueryIdsInGallery(querySplit.listFile, querySplit.keyed, gallerySplit.listFile, new Set(gallerySplit.keyed.map((e) => e.vehicleId)));
  let query = querySplit.samples;
  let gallery = gallerySplit.samples;
  const relabelled = relabelBySortedId(trainSplit.samples);
  let train = relabelled.samples;
  const numTrainIds = relabelled.numIds;

  if (options.viewLabels !== undefined) {
    [train, query, gallery] = applyViewLabels(resolve(options.viewLabels), [train, query, gallery]);
  }
  const goodJunk = options.withOfficialIndices
    ? readGoodJunk(join(absRoot, 'gt_index.txt'), join(absRoot, 'jk_index.txt'), query.length, gallery.length)
    : undefined;

  const all = [...train, ...query, ...gallery];
  const numCams = countDistinct(all, (s) => s.cameraId);
  const expected = options.expectedCounts ?? VERI776_COUNTS;
  const warnings = checkCounts(
    'VeRi-776',
    [
      ...splitRows('train', train, expected.train),
      ...splitRows('query', query, expected.query),
      ...splitRows('gallery', gallery, expected.gallery),
      { what: 'cameras', actual: numCams, expected: expected.cameras },
      unlistedRow('train', trainSplit.unlisted),
      unlistedRow('query', querySplit.unlisted),
      unlistedRow('gallery', gallerySplit.unlisted),
    ],
    options,
  );
  return { train, query, gallery, numTrainIds, numCameras: numCams, warnings, ...(goodJunk ? { goodJunk } : {}) };
}
