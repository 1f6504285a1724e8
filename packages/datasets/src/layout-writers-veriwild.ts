/**
 * VeRi-Wild layout writer for both list formats (PROTOCOLS.md): `images/<vid 5 digits>/<imgId 6 digits>.jpg` and,
 * in `train_test_split/`, either the original lists + `vehicle_info.txt` or the newer `*_start0` / `*_id` lists.
 * Raw camera ids are written 1-based (`cameraId + 1`) in both formats. Shared conventions in layout-writers.ts.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@clip-senet/core';
import { type LayoutEntry, assertIntIn, listText, placeImage } from './layout-writers';
import type { VeRiWildTestSize } from './published-counts';
import { type VeRiWildFormat, veriWildListNames } from './veriwild';

/** A VeRi-Wild entry; `cameraId` is 0-based. */
export interface VeRiWildLayoutEntry extends LayoutEntry<'train' | 'query' | 'gallery'> {
  readonly cameraId: number;
  /** Image id (file stem); default: a running 6-digit number in entry order (`000001`, …). */
  readonly imageId?: string;
}

/** Options of {@link writeVeRiWildLayout}. */
export interface VeRiWildLayoutOptions {
  readonly format: VeRiWildFormat;
  /** Test sizes whose query/gallery lists are written (each holds every query/gallery entry). Default all three. */
  readonly testSizes?: readonly VeRiWildTestSize[];
}

/** What {@link writeVeRiWildLayout} wrote: absolute root and the list file names written (in train_test_split/). */
export interface WrittenVeRiWildLayout {
  readonly root: string;
  readonly listFiles: string[];
}

const VEHICLE_INFO_HEADER = 'id;Camera ID;Time;Model;Type;Color';

/**
 * Write a VeRi-Wild tree at `root` in the given list format; readable with `loadVeRiWild(root, { testSize })`.
 * List order = entry order. Newer format: the train label column is the 0-based sorted-id label, the test label
 * column the vehicle id.
 */
export function writeVeRiWildLayout(
  root: string,
  entries: readonly VeRiWildLayoutEntry[],
  options: VeRiWildLayoutOptions,
): WrittenVeRiWildLayout {
  const absRoot = resolve(root);
  const used = new Set<string>();
  const madeDirs = new Set<string>();
  const rows = entries.map((entry, i) => {
    assertIntIn(`entry ${i}: vehicleId`, entry.vehicleId, 0, 99999);
    assertIntIn(`entry ${i}: cameraId`, entry.cameraId, 0, 1e6);
    if (!['train', 'query', 'gallery'].includes(entry.split)) throw new Error(`entry ${i}: unknown split "${entry.split}"`);
    const imageId = entry.imageId ?? String(i + 1).padStart(6, '0');
    if (!/^[A-Za-z0-9_-]+$/.test(imageId) || used.has(imageId)) throw new Error(`entry ${i}: invalid or repeated imageId "${imageId}"`);
    used.add(imageId);
    const vid = String(entry.vehicleId).padStart(5, '0');
    if (!madeDirs.has(vid)) mkdirSync(join(absRoot, 'images', vid), { recursive: true });
    madeDirs.add(vid);
    placeImage(join(absRoot, 'images', vid, `${imageId}.jpg`), entry);
    return { entry, key: `${vid}/${imageId}`, cam: entry.cameraId + 1 };
  });
  const trainIds = [...new Set(rows.filter((r) => r.entry.split === 'train').map((r) => r.entry.vehicleId))].sort((a, b) => a - b);
  const trainLabel = new Map(trainIds.map((id, k) => [id, k]));
  const line = (r: (typeof rows)[number]): string =>
    options.format === 'original'
      ? r.key
      : `${r.key}.jpg ${r.entry.split === 'train' ? trainLabel.get(r.entry.vehicleId) : r.entry.vehicleId} ${r.cam}`;
  const of = (split: string): string[] => rows.filter((r) => r.entry.split === split).map(line);

  const dir = join(absRoot, 'train_test_split');
  const written: string[] = [];
  const put = (name: string, text: string): void => {
    writeFileAtomic(join(dir, name), text);
    written.push(name);
  };
  put(veriWildListNames(options.format, 3000).train, listText(of('train')));
  for (const size of options.testSizes ?? [3000, 5000, 10000]) {
    const names = veriWildListNames(options.format, size);
    put(names.query, listText(of('query')));
    put(names.gallery, listText(of('gallery')));
  }
  if (options.format === 'original') {
    const info = rows.map((r) => `${r.key};${r.cam};2017-01-01 00:00:00;unknown;unknown;unknown`);
    put('vehicle_info.txt', listText([VEHICLE_INFO_HEADER, ...info]));
  }
  return { root: absRoot, listFiles: written };
}
