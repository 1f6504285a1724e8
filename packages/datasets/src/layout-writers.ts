/**
 * Writers that lay images out exactly as the real datasets are distributed (PROTOCOLS.md), so the readers can be
 * tested on miniature trees and the synthetic world can be loaded by the same readers as real data.
 *
 * Every writer takes a list of entries `{ vehicleId, cameraId, split, bytes | srcPath }` (exactly one of `bytes`,
 * the encoded image, or `srcPath`, a file to copy), creates the folders, writes/copies the images and then writes
 * the list files atomically. Cameras are 0-based as in {@link Sample} (VeRi-776 camera 0 is written `c001`).
 * Images are written with plain writes (not fsync'ed one by one); write into a fresh folder.
 *
 * - {@link writeVeRi776Layout}: `image_train/`, `image_query/`, `image_test/`, `name_*.txt`, `train_label.xml`,
 *   `test_label.xml`, `gt_index.txt`, `jk_index.txt` (this file).
 * - `writeVehicleIDLayout`, `writeVeRiWildLayout`: see layout-writers-vehicleid.ts / layout-writers-veriwild.ts.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@clip-senet/core';

/** One image to place in a layout. */
export interface LayoutEntry<S extends string> {
  readonly vehicleId: number;
  readonly split: S;
  /** Encoded image bytes to write (exactly one of `bytes` / `srcPath`). */
  readonly bytes?: Uint8Array;
  /** Existing image file to copy (exactly one of `bytes` / `srcPath`). */
  readonly srcPath?: string;
}

/** A VeRi-776 entry. `cameraId` 0..998 (written `c001`..`c999`); `vehicleId` 0..9999 (written 4 digits). */
export interface VeRi776LayoutEntry extends LayoutEntry<'train' | 'query' | 'gallery'> {
  readonly cameraId: number;
  /** Frame number in the file name; default: a running counter per (vehicle, camera). */
  readonly frame?: number;
  /** `colorID` / `typeID` attributes of the XML label files (default 1). */
  readonly colorId?: number;
  readonly typeId?: number;
}

/** Options of {@link writeVeRi776Layout}. */
export interface VeRi776LayoutOptions {
  /**
   * Also place every query image in `image_test/` + `name_test.txt`, as the real VeRi-776 does (its 11,579 test
   * images include the 1,678 queries; the protocol removes each query itself as same-id same-camera junk).
   * Default true. The gallery then holds gallery + query entries.
   */
  readonly queryInGallery?: boolean;
}

/** What {@link writeVeRi776Layout} wrote: absolute root and the file names of each list, in list order. */
export interface WrittenVeRi776Layout {
  readonly root: string;
  readonly train: string[];
  readonly query: string[];
  readonly gallery: string[];
}

/** Throws unless `value` is an integer in [lo, hi]. */
export function assertIntIn(what: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value) || value < lo || value > hi) throw new Error(`${what} must be an integer in ${lo}..${hi}, got ${value}`);
}

/** Write (or copy) one entry's image to `path`. */
export function placeImage(path: string, entry: LayoutEntry<string>): void {
  if ((entry.bytes === undefined) === (entry.srcPath === undefined)) {
    throw new Error(`layout entry for ${path}: give exactly one of bytes / srcPath`);
  }
  if (entry.bytes !== undefined) writeFileSync(path, entry.bytes);
  else copyFileSync(entry.srcPath!, path);
}

/** Lines joined with `\n`, each terminated (an empty list is an empty file). */
export function listText(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Named {
  readonly name: string;
  readonly entry: VeRi776LayoutEntry;
}

function nameEntries(entries: readonly VeRi776LayoutEntry[]): Named[] {
  const counters = new Map<string, number>();
  const used = new Set<string>();
  return entries.map((entry, i) => {
    assertIntIn(`entry ${i}: vehicleId`, entry.vehicleId, 0, 9999);
    assertIntIn(`entry ${i}: cameraId`, entry.cameraId, 0, 998);
    if (!['train', 'query', 'gallery'].includes(entry.split)) throw new Error(`entry ${i}: unknown split "${entry.split}"`);
    const key = `${entry.vehicleId}_${entry.cameraId}`;
    const frame = entry.frame ?? (counters.get(key) ?? 0) + 1;
    counters.set(key, Math.max(frame, counters.get(key) ?? 0));
    assertIntIn(`entry ${i}: frame`, frame, 0, 99999999);
    const name = `${pad(entry.vehicleId, 4)}_c${pad(entry.cameraId + 1, 3)}_${pad(frame, 8)}_0.jpg`;
    if (used.has(name)) throw new Error(`entry ${i}: file name ${name} already used (give distinct frames)`);
    used.add(name);
    return { name, entry };
  });
}

function labelXml(root: 'TrainingImages' | 'TestImages', items: readonly Named[]): string {
  const lines = items.map(
    ({ name, entry }) =>
      `<Item imageName="${name}" vehicleID="${pad(entry.vehicleId, 4)}" cameraID="c${pad(entry.cameraId + 1, 3)}" ` +
      `colorID="${entry.colorId ?? 1}" typeID="${entry.typeId ?? 1}" />`,
  );
  return `<?xml version="1.0" encoding="gb2312"?>\n<${root} Version="1.0">\n<Items number="${items.length}">\n${lines.join('\n')}\n</Items>\n</${root}>\n`;
}

/**
 * Good/junk index lines by the protocol rule: for each query, the 1-based positions in the gallery list of the
 * images with the same vehicle id and a different camera (good) or the same camera (junk).
 */
export function goodJunkLines(
  query: readonly { vehicleId: number; cameraId: number }[],
  gallery: readonly { vehicleId: number; cameraId: number }[],
): { good: string[]; junk: string[] } {
  const good: string[] = [];
  const junk: string[] = [];
  for (const q of query) {
    const g: number[] = [];
    const j: number[] = [];
    gallery.forEach((s, i) => {
      if (s.vehicleId === q.vehicleId) (s.cameraId === q.cameraId ? j : g).push(i + 1);
    });
    good.push(g.join(' '));
    junk.push(j.join(' '));
  }
  return { good, junk };
}

/**
 * Write a VeRi-776 tree at `root`: images named `<vid4>_c<cam3>_<frame8>_0.jpg`, list files sorted by name (as
 * the real ones are), both XML label files, and `gt_index.txt` / `jk_index.txt` computed by the protocol rule.
 * Readable with `loadVeRi776(root, { withOfficialIndices: true })`.
 */
export function writeVeRi776Layout(
  root: string,
  entries: readonly VeRi776LayoutEntry[],
  options: VeRi776LayoutOptions = {},
): WrittenVeRi776Layout {
  const absRoot = resolve(root);
  const named = nameEntries(entries);
  const queryInGallery = options.queryInGallery ?? true;
  const pick = (split: string): Named[] => named.filter((n) => n.entry.split === split).sort((a, b) => byName(a.name, b.name));
  const train = pick('train');
  const query = pick('query');
  const gallery = [...pick('gallery'), ...(queryInGallery ? query : [])].sort((a, b) => byName(a.name, b.name));
  const dirs = { train: join(absRoot, 'image_train'), query: join(absRoot, 'image_query'), gallery: join(absRoot, 'image_test') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  for (const n of train) placeImage(join(dirs.train, n.name), n.entry);
  for (const n of query) placeImage(join(dirs.query, n.name), n.entry);
  for (const n of gallery) placeImage(join(dirs.gallery, n.name), n.entry);

  writeFileAtomic(join(absRoot, 'name_train.txt'), listText(train.map((n) => n.name)));
  writeFileAtomic(join(absRoot, 'name_query.txt'), listText(query.map((n) => n.name)));
  writeFileAtomic(join(absRoot, 'name_test.txt'), listText(gallery.map((n) => n.name)));
  writeFileAtomic(join(absRoot, 'train_label.xml'), labelXml('TrainingImages', train));
  writeFileAtomic(join(absRoot, 'test_label.xml'), labelXml('TestImages', gallery));
  const { good, junk } = goodJunkLines(
    query.map((n) => n.entry),
    gallery.map((n) => n.entry),
  );
  writeFileAtomic(join(absRoot, 'gt_index.txt'), listText(good));
  writeFileAtomic(join(absRoot, 'jk_index.txt'), listText(junk));
  return { root: absRoot, train: train.map((n) => n.name), query: query.map((n) => n.name), gallery: gallery.map((n) => n.name) };
}
