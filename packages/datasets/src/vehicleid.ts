/**
 * VehicleID reader and its seeded query/gallery split (Liu et al., "Deep Relative Distance Learning: Tell the
 * Difference Between Similar Vehicles", CVPR 2016; layout and protocol in PROTOCOLS.md).
 *
 * Layout: `<root>/image/<imgId>.jpg`, `<root>/train_test_split/train_list.txt` and `test_list_<size>.txt`, lines
 * `<imgId> <vehicleId>`. VehicleID has no camera ids: every sample has `cameraId: -1`. Samples keep list order;
 * train samples get labels 0..N−1 in ascending vehicle-id order.
 *
 * Protocol: per test identity one randomly chosen image is the gallery and the rest are queries
 * ({@link vehicleIdQueryGallery}); results are averaged over 10 seeded draws. Train and test identities are
 * disjoint (the real lists are), so an image or a vehicle id of the test list that is also in `train_list.txt` is
 * an error naming both files and lines. The test lists overlap each other by design (800 ⊂ 1600 ⊂ 2400); only
 * the one read is compared with the training list.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { vehicleIdDraw } from '@clip-senet/core/base';
import { DatasetFormatError } from './errors';
import { type KeyedEntry, DirectoryIndex, DuplicateGuard, MissingImages, checkTrainTestDisjoint, parseNonNegInt, readEntryLines } from './list-file';
import {
  type CountCheckOptions,
  type TrainTestCounts,
  type VehicleIDTestSize,
  VEHICLEID_TEST_SIZES,
  checkCounts,
  relabelBySortedId,
  splitRows,
  vehicleIdCounts,
} from './published-counts';
import type { Sample } from './sample';

/** Options of {@link loadVehicleID}. */
export interface VehicleIDOptions extends CountCheckOptions {
  /** Which `test_list_<testSize>.txt` to read. */
  readonly testSize: VehicleIDTestSize;
  /** Counts to check instead of the published ones (fields left out are not checked). */
  readonly expectedCounts?: TrainTestCounts;
}

/** A loaded VehicleID tree. */
export interface VehicleIDDataset {
  /** `train_list.txt` order, with `label` 0..numTrainIds−1 (sorted vehicle-id order). */
  readonly train: Sample[];
  /** `test_list_<size>.txt` order; split it with {@link vehicleIdQueryGallery}. */
  readonly test: Sample[];
  readonly numTrainIds: number;
  readonly testSize: VehicleIDTestSize;
  /** Count mismatches (already passed to `onWarning`). */
  readonly warnings: string[];
}

/** Image ids are plain file stems: letters, digits, `_`, `-`, `.` (no path separators). */
const IMAGE_ID = /^[A-Za-z0-9_.-]+$/;

interface ListEntries {
  readonly samples: Sample[];
  /** Image id, identity and 1-based line of each sample. */
  readonly keyed: KeyedEntry[];
}

function readList(file: string, imageDir: string, dirs: DirectoryIndex): ListEntries {
  const dupes = new DuplicateGuard(file);
  const missing = new MissingImages(file);
  const samples: Sample[] = [];
  const keyed: KeyedEntry[] = [];
  for (const { text, line } of readEntryLines(file)) {
    const tokens = text.split(/\s+/);
    const vehicleId = tokens.length === 2 ? parseNonNegInt(tokens[1]!) : undefined;
    if (vehicleId === undefined || !IMAGE_ID.test(tokens[0]!)) {
      throw new DatasetFormatError(file, line, `malformed entry "${text}" (expected "<imgId> <vehicleId>")`);
    }
    const name = `${tokens[0]}.jpg`;
    dupes.check(tokens[0]!, line);
    const path = join(imageDir, name);
    if (!dirs.has(imageDir, name)) missing.add(line, path);
    samples.push({ path, vehicleId, cameraId: -1 });
    keyed.push({ key: tokens[0]!, vehicleId, line });
  }
  missing.throwIfAny();
  return { samples, keyed };
}

/**
 * Load VehicleID with one of its test lists.
 *
 * @throws DatasetFormatError for a missing file/folder, an empty list, a malformed line, a duplicate image id,
 *   listed images missing on disk (first few + total), or test entries whose image or vehicle id is in the
 *   training list.
 * @throws DatasetCountError with `strict: true` when counts differ from `expectedCounts` (default: published).
 */
export function loadVehicleID(root: string, options: VehicleIDOptions): VehicleIDDataset {
  const { testSize } = options;
  if (!VEHICLEID_TEST_SIZES.includes(testSize)) {
    throw new Error(`loadVehicleID: testSize must be one of ${VEHICLEID_TEST_SIZES.join(', ')}, got ${testSize}`);
  }
  const absRoot = resolve(root);
  const imageDir = join(absRoot, 'image');
  const splitDir = join(absRoot, 'train_test_split');
  const dirs = new DirectoryIndex();
  const trainList = join(splitDir, 'train_list.txt');
  const testList = join(splitDir, `test_list_${testSize}.txt`);
  if (!existsSync(imageDir)) throw new DatasetFormatError(imageDir, undefined, 'required image folder not found');
  const trainEntries = readList(trainList, imageDir, dirs);
  const testEntries = readList(testList, imageDir, dirs);
  checkTrainTestDisjoint(trainList, trainEntries.keyed, testList, testEntries.keyed);
  const { samples: train, numIds: numTrainIds } = relabelBySortedId(trainEntries.samples);
  const test = testEntries.samples;
  const expected = options.expectedCounts ?? vehicleIdCounts(testSize);
  const warnings = checkCounts(
    `VehicleID (test ${testSize})`,
    [...splitRows('train', train, expected.train), ...splitRows('test', test, expected.test)],
    options,
  );
  return { train, test, numTrainIds, testSize, warnings };
}

/**
 * The VehicleID query/gallery draw: for every test identity one image, chosen with `new Rng(seed)`, goes to the
 * gallery and all other images of that identity to the query set.
 *
 * Independent of input order: identities are visited in ascending id order and each identity's images in
 * ascending path order, and both outputs are in that order. An identity with a single image contributes a
 * gallery image and no query.
 */
export function vehicleIdQueryGallery(test: readonly Sample[], options: { readonly seed: number }): { query: Sample[]; gallery: Sample[] } {
  // core's one draw rule, on the samples in path order (so the outputs do not depend on the input order)
  const byPath = [...test].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const { query, gallery } = vehicleIdDraw(byPath.map((s) => s.vehicleId), options.seed);
  return { query: query.map((i) => byPath[i]!), gallery: gallery.map((i) => byPath[i]!) };
}
