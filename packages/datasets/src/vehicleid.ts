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
import { Rng } from '@clip-senet/core';
import { DatasetFormatError } from './errors';
import { DirectoryIndex, DuplicateGuard, MISSING_SHOWN, MissingImages, parseNonNegInt, readEntryLines } from './list-file';
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
  readonly file: string;
  readonly samples: Sample[];
  /** Image id and 1-based line of each sample. */
  readonly imageIds: string[];
  readonly lines: number[];
}

function readList(file: string, imageDir: string, dirs: DirectoryIndex): ListEntries {
  const dupes = new DuplicateGuard(file);
  const missing = new MissingImages(file);
  const samples: Sample[] = [];
  const imageIds: string[] = [];
  const lines: number[] = [];
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
    imageIds.push(tokens[0]!);
    lines.push(line);
  }
  missing.throwIfAny();
  return { file, samples, imageIds, lines };
}

/**
 * Test-list lines whose image or vehicle id is also in the training list: one error at the first, naming both
 * files, the first few offending line pairs and the total.
 */
function checkDisjoint(train: ListEntries, test: ListEntries): void {
  const trainImage = new Map<string, number>();
  const trainId = new Map<number, number>();
  train.imageIds.forEach((id, i) => trainImage.set(id, train.lines[i]!));
  train.samples.forEach((s, i) => {
    if (!trainId.has(s.vehicleId)) trainId.set(s.vehicleId, train.lines[i]!);
  });
  const clashes: { line: number; text: string }[] = [];
  test.samples.forEach((s, i) => {
    const line = test.lines[i]!;
    const imageLine = trainImage.get(test.imageIds[i]!);
    const idLine = trainId.get(s.vehicleId);
    if (imageLine !== undefined) clashes.push({ line, text: `line ${line}: image ${test.imageIds[i]} is also train line ${imageLine}` });
    else if (idLine !== undefined) clashes.push({ line, text: `line ${line}: vehicle ${s.vehicleId} is a training identity (train line ${idLine})` });
  });
  if (clashes.length === 0) return;
  const shown = clashes.slice(0, MISSING_SHOWN).map((c) => c.text);
  const more = clashes.length > MISSING_SHOWN ? `\n  … and ${clashes.length - MISSING_SHOWN} more` : '';
  throw new DatasetFormatError(
    test.file,
    clashes[0]!.line,
    `${clashes.length} test entr${clashes.length === 1 ? 'y shares its image or vehicle id' : 'ies share their image or vehicle id'} with the training list ${train.file} ` +
      `(the protocol needs disjoint train and test identities):\n  ${shown.join('\n  ')}${more}`,
  );
}

/**
 * Load VehicleID with one of its test lists.
 *
 * @throws DatasetFormatError for a missing file/folder, an empty list, a malformed line, a duplicate image id, listed
 *   images
 *   missing on disk (first few + total), or test entries whose image or vehicle id is in the training list.
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
  checkDisjoint(trainEntries, testEntries);
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
  const byId = new Map<number, Sample[]>();
  for (const s of test) {
    const group = byId.get(s.vehicleId);
    if (group) group.push(s);
    else byId.set(s.vehicleId, [s]);
  }
  const rng = new Rng(options.seed);
  const query: Sample[] = [];
  const gallery: Sample[] = [];
  for (const id of [...byId.keys()].sort((a, b) => a - b)) {
    const images = byId.get(id)!.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const pick = rng.int(images.length);
    images.forEach((s, i) => (i === pick ? gallery : query).push(s));
  }
  return { query, gallery };
}
