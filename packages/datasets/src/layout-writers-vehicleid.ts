/**
 * VehicleID layout writer: `image/<imgId>.jpg`, `train_test_split/train_list.txt` and `test_list_<size>.txt`,
 * lines `<imgId> <vehicleId>` (PROTOCOLS.md). Shared conventions in layout-writers.ts.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@clip-senet/core';
import { type LayoutEntry, assertIntIn, listText, placeImage } from './layout-writers';
import type { VehicleIDTestSize } from './published-counts';

/** A VehicleID entry (no cameras). */
export interface VehicleIDLayoutEntry extends LayoutEntry<'train' | 'test'> {
  /** Image id (file stem); default: a running 7-digit number in entry order (`0000001`, …). */
  readonly imageId?: string;
}

/** Options of {@link writeVehicleIDLayout}. */
export interface VehicleIDLayoutOptions {
  /**
   * Test lists to write: size → number of test identities it holds (the smallest ids, so the lists nest as the
   * real ones do). Default: `test_list_800/1600/2400.txt`, each with every test identity.
   */
  readonly testLists?: Partial<Record<VehicleIDTestSize, number>>;
}

/** What {@link writeVehicleIDLayout} wrote: absolute root and the lines of each list file. */
export interface WrittenVehicleIDLayout {
  readonly root: string;
  readonly train: string[];
  readonly testLists: Partial<Record<VehicleIDTestSize, string[]>>;
}

/** Write a VehicleID tree at `root`; readable with `loadVehicleID(root, { testSize })`. List order = entry order. */
export function writeVehicleIDLayout(
  root: string,
  entries: readonly VehicleIDLayoutEntry[],
  options: VehicleIDLayoutOptions = {},
): WrittenVehicleIDLayout {
  const absRoot = resolve(root);
  const imageDir = join(absRoot, 'image');
  mkdirSync(imageDir, { recursive: true });
  const used = new Set<string>();
  const lines = entries.map((entry, i) => {
    assertIntIn(`entry ${i}: vehicleId`, entry.vehicleId, 0, Number.MAX_SAFE_INTEGER);
    if (entry.split !== 'train' && entry.split !== 'test') throw new Error(`entry ${i}: unknown split "${entry.split}"`);
    const imageId = entry.imageId ?? String(i + 1).padStart(7, '0');
    if (!/^[A-Za-z0-9_.-]+$/.test(imageId) || used.has(imageId)) throw new Error(`entry ${i}: invalid or repeated imageId "${imageId}"`);
    used.add(imageId);
    placeImage(join(imageDir, `${imageId}.jpg`), entry);
    return { split: entry.split, vehicleId: entry.vehicleId, text: `${imageId} ${entry.vehicleId}` };
  });
  const train = lines.filter((l) => l.split === 'train').map((l) => l.text);
  writeFileAtomic(join(absRoot, 'train_test_split', 'train_list.txt'), listText(train));
  const testIds = [...new Set(lines.filter((l) => l.split === 'test').map((l) => l.vehicleId))].sort((a, b) => a - b);
  const sizes = options.testLists ?? { 800: Infinity, 1600: Infinity, 2400: Infinity };
  const testLists: Partial<Record<VehicleIDTestSize, string[]>> = {};
  for (const [size, numIds] of Object.entries(sizes) as [string, number][]) {
    const keep = new Set(testIds.slice(0, numIds));
    const list = lines.filter((l) => l.split === 'test' && keep.has(l.vehicleId)).map((l) => l.text);
    testLists[Number(size) as VehicleIDTestSize] = list;
    writeFileAtomic(join(absRoot, 'train_test_split', `test_list_${size}.txt`), listText(list));
  }
  return { root: absRoot, train, testLists };
}
