/**
 * VeRi-Wild reader (Lou et al., "VERI-Wild: A Large Dataset and a New Method for Vehicle Re-Identification in the
 * Wild", CVPR 2019; layouts and protocol in PROTOCOLS.md). Both list formats are detected automatically; list
 * files are looked up in `<root>/train_test_split/`, then in `<root>/`.
 *
 * - original: `train_list.txt`, `test_<N>.txt` (gallery), `test_<N>_query.txt`, lines `<vid>/<imgId>`; cameras from
 *   `vehicle_info.txt` (header line, then `<vid>/<imgId>;<camId>;<time>;<model>;<type>;<color>`).
 * - newer: `train_list_start0.txt`, `test_<N>_id.txt`, `test_<N>_id_query.txt`, lines `<vid>/<imgId>.jpg <label> <camId>`.
 *
 * Images are `<root>/images/<vid>/<imgId>.jpg`; the vehicle id is the directory number. Camera ids: the raw ids
 * found in the loaded lists are sorted and mapped densely to 0..C−1 (`cameraIds[k]` is the raw id of camera k).
 * This mapping does not depend on whether the raw ids are 0- or 1-based, so both formats give identical samples.
 */
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { DatasetFormatError } from './errors';
import {
  type KeyedEntry,
  DirectoryIndex,
  DuplicateGuard,
  MissingImages,
  checkQueryIdsInGallery,
  checkTrainTestDisjoint,
  parseNonNegInt,
  physicalLines,
  readEntryLines,
  readTextFile,
} from './list-file';
import {
  type CountCheckOptions,
  type QueryGalleryCounts,
  type VeRiWildTestSize,
  VERIWILD_TEST_SIZES,
  checkCounts,
  relabelBySortedId,
  splitRows,
  veriWildCounts,
} from './published-counts';
import type { Sample } from './sample';

/** The two VeRi-Wild list formats. */
export type VeRiWildFormat = 'original' | 'newer';

/** List file names of each format for a test size. */
export function veriWildListNames(format: VeRiWildFormat, testSize: number): { train: string; query: string; gallery: string } {
  return format === 'original'
    ? { train: 'train_list.txt', query: `test_${testSize}_query.txt`, gallery: `test_${testSize}.txt` }
    : { train: 'train_list_start0.txt', query: `test_${testSize}_id_query.txt`, gallery: `test_${testSize}_id.txt` };
}

/** Options of {@link loadVeRiWild}. */
export interface VeRiWildOptions extends CountCheckOptions {
  /** Small (3000), Medium (5000) or Large (10000) test set. */
  readonly testSize: VeRiWildTestSize;
  /** Force a list format instead of detecting it. Default `'auto'` (newer when its files exist, else original). */
  readonly format?: VeRiWildFormat | 'auto';
  /** Counts to check instead of the published ones (fields left out are not checked). */
  readonly expectedCounts?: QueryGalleryCounts;
}

/** A loaded VeRi-Wild tree. */
export interface VeRiWildDataset {
  /** List order, with `label` 0..numTrainIds−1 (sorted vehicle-id order). */
  readonly train: Sample[];
  readonly query: Sample[];
  readonly gallery: Sample[];
  readonly numTrainIds: number;
  /** Raw camera id of each 0-based camera index (ascending). */
  readonly cameraIds: number[];
  /** The list format that was read. */
  readonly format: VeRiWildFormat;
  readonly warnings: string[];
}

interface Entry {
  readonly line: number;
  readonly vidDir: string;
  readonly imgId: string;
  readonly camRaw: number;
}

const ORIGINAL_LINE = /^(\d+)\/([A-Za-z0-9_-]+)(?:\.jpg)?$/;
const NEWER_PATH = /^(\d+)\/([A-Za-z0-9_-]+)\.jpg$/;

function locate(root: string, name: string): string | undefined {
  return [join(root, 'train_test_split', name), join(root, name)].find((p) => existsSync(p));
}

function readVehicleInfo(file: string): Map<string, number> {
  const cams = new Map<string, number>();
  const lines = physicalLines(readTextFile(file));
  for (let i = 1; i < lines.length; i++) {
    // line 1 (i = 0) is the header; only fields 0 and 1 are used, the rest are attributes
    const text = lines[i]!.trim();
    if (text === '') continue;
    const semi1 = text.indexOf(';');
    const semi2 = text.indexOf(';', semi1 + 1);
    const key = semi1 < 0 ? text : text.slice(0, semi1).trim();
    const cam = semi1 < 0 ? undefined : parseNonNegInt(text.slice(semi1 + 1, semi2 < 0 ? undefined : semi2).trim());
    if (cam === undefined || !ORIGINAL_LINE.test(key)) {
      throw new DatasetFormatError(file, i + 1, `malformed entry "${text}" (expected "<vid>/<imgId>;<camId>;<time>;<model>;<type>;<color>")`);
    }
    const first = cams.size;
    cams.set(key, cam);
    if (cams.size === first) throw new DatasetFormatError(file, i + 1, `duplicate entry "${key}" (first at line ${firstLine(lines, key)})`);
  }
  if (cams.size === 0) throw new DatasetFormatError(file, undefined, 'no entries after the header line');
  return cams;
}

/** 1-based line of the first vehicle_info entry for `key` (only called to report a duplicate). */
function firstLine(lines: readonly string[], key: string): number {
  return lines.findIndex((l, i) => i > 0 && l.trim().startsWith(`${key};`)) + 1;
}

function readOriginalList(file: string, cams: ReadonlyMap<string, number>, infoFile: string): Entry[] {
  return readEntryLines(file).map(({ text, line }) => {
    const m = ORIGINAL_LINE.exec(text);
    if (!m) throw new DatasetFormatError(file, line, `malformed entry "${text}" (expected "<vid>/<imgId>")`);
    const camRaw = cams.get(`${m[1]}/${m[2]}`);
    if (camRaw === undefined) throw new DatasetFormatError(file, line, `unknown camera: "${text}" has no entry in ${infoFile}`);
    return { line, vidDir: m[1]!, imgId: m[2]!, camRaw };
  });
}

function readNewerList(file: string): Entry[] {
  return readEntryLines(file).map(({ text, line }) => {
    const tokens = text.split(/\s+/);
    const m = tokens.length === 3 ? NEWER_PATH.exec(tokens[0]!) : null;
    const camRaw = tokens.length === 3 ? parseNonNegInt(tokens[2]!) : undefined;
    if (!m || camRaw === undefined || !/^-?\d+$/.test(tokens[1]!)) {
      throw new DatasetFormatError(file, line, `malformed entry "${text}" (expected "<vid>/<imgId>.jpg <label> <camId>")`);
    }
    return { line, vidDir: m[1]!, imgId: m[2]!, camRaw };
  });
}

function detectFormat(root: string, testSize: number, wanted: VeRiWildFormat | 'auto'): VeRiWildFormat {
  if (wanted !== 'auto') return wanted;
  const complete = (f: VeRiWildFormat): boolean => Object.values(veriWildListNames(f, testSize)).every((n) => locate(root, n));
  if (complete('newer')) return 'newer';
  if (complete('original') && locate(root, 'vehicle_info.txt')) return 'original';
  const expect = (f: VeRiWildFormat): string => Object.values(veriWildListNames(f, testSize)).join(', ');
  throw new DatasetFormatError(
    root,
    undefined,
    `no complete VeRi-Wild list set for test size ${testSize} in train_test_split/ or the root: expected ` +
      `${expect('original')}, vehicle_info.txt (original format) or ${expect('newer')} (newer format)`,
  );
}

function toSamples(file: string, entries: readonly Entry[], imagesDir: string, camIndex: ReadonlyMap<number, number>, dirs: DirectoryIndex): Sample[] {
  const dupes = new DuplicateGuard(file);
  const missing = new MissingImages(file);
  const samples: Sample[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    dupes.check(`${e.vidDir}/${e.imgId}`, e.line);
    // plain concatenation: path.join per entry dominates at 400k entries; all parts are validated tokens
    const dir = imagesDir + sep + e.vidDir;
    const name = `${e.imgId}.jpg`;
    const path = dir + sep + name;
    if (!dirs.has(dir, name)) missing.add(e.line, path);
    samples[i] = { path, vehicleId: Number(e.vidDir), cameraId: camIndex.get(e.camRaw)! };
  }
  missing.throwIfAny();
  return samples;
}

/**
 * Load VeRi-Wild with the Small/Medium/Large test set, detecting the list format.
 *
 * @throws DatasetFormatError for missing files/folders, empty lists, malformed lines, unknown cameras (original
 *   format: an image absent from `vehicle_info.txt`), duplicates, a query also listed in the gallery, a query or
 *   gallery image or identity also in the training list, a query of an identity absent from the gallery list, or
 *   missing images.
 * @throws DatasetCountError with `strict: true` when counts differ from `expectedCounts` (default: published).
 */
export function loadVeRiWild(root: string, options: VeRiWildOptions): VeRiWildDataset {
  const { testSize } = options;
  if (!VERIWILD_TEST_SIZES.includes(testSize)) {
    throw new Error(`loadVeRiWild: testSize must be one of ${VERIWILD_TEST_SIZES.join(', ')}, got ${testSize}`);
  }
  const absRoot = resolve(root);
  const format = detectFormat(absRoot, testSize, options.format ?? 'auto');
  const names = veriWildListNames(format, testSize);
  const files = {
    train: locate(absRoot, names.train) ?? join(absRoot, 'train_test_split', names.train),
    query: locate(absRoot, names.query) ?? join(absRoot, 'train_test_split', names.query),
    gallery: locate(absRoot, names.gallery) ?? join(absRoot, 'train_test_split', names.gallery),
  };
  let read: (file: string) => Entry[] = readNewerList;
  if (format === 'original') {
    const infoFile = locate(absRoot, 'vehicle_info.txt') ?? join(absRoot, 'train_test_split', 'vehicle_info.txt');
    const cams = readVehicleInfo(infoFile);
    read = (file) => readOriginalList(file, cams, infoFile);
  }
  const entries = { train: read(files.train), query: read(files.query), gallery: read(files.gallery) };

  const cameraIds = [...new Set([...entries.train, ...entries.query, ...entries.gallery].map((e) => e.camRaw))].sort((a, b) => a - b);
  const camIndex = new Map(cameraIds.map((raw, k) => [raw, k]));
  const imagesDir = join(absRoot, 'images');
  if (!existsSync(imagesDir)) throw new DatasetFormatError(imagesDir, undefined, 'required image folder not found');
  const dirs = new DirectoryIndex();
  const { samples: train, numIds: numTrainIds } = relabelBySortedId(toSamples(files.train, entries.train, imagesDir, camIndex, dirs));
  const query = toSamples(files.query, entries.query, imagesDir, camIndex, dirs);
  const gallery = toSamples(files.gallery, entries.gallery, imagesDir, camIndex, dirs);

  const galleryLines = new Map(entries.gallery.map((e) => [`${e.vidDir}/${e.imgId}`, e.line]));
  for (const e of entries.query) {
    const gLine = galleryLines.get(`${e.vidDir}/${e.imgId}`);
    if (gLine !== undefined) {
      throw new DatasetFormatError(files.query, e.line, `query image ${e.vidDir}/${e.imgId} is also in the gallery list (${files.gallery}:${gLine})`);
    }
  }
  const keyed = (es: readonly Entry[]): KeyedEntry[] => es.map((e) => ({ key: `${e.vidDir}/${e.imgId}`, vehicleId: Number(e.vidDir), line: e.line }));
  const trainKeyed = keyed(entries.train);
  checkTrainTestDisjoint(files.train, trainKeyed, files.query, keyed(entries.query));
  checkTrainTestDisjoint(files.train, trainKeyed, files.gallery, keyed(entries.gallery));
  checkQueryIdsInGallery(files.query, keyed(entries.query), files.gallery, new Set(gallery.map((s) => s.vehicleId)));
  const expected = options.expectedCounts ?? veriWildCounts(testSize);
  const warnings = checkCounts(
    `VeRi-Wild (test ${testSize}, ${format} format)`,
    [
      ...splitRows('train', train, expected.train),
      ...splitRows('query', query, expected.query),
      ...splitRows('gallery', gallery, expected.gallery),
      { what: 'cameras', actual: cameraIds.length, expected: expected.cameras },
    ],
    options,
  );
  return { train, query, gallery, numTrainIds, cameraIds, format, warnings };
}
