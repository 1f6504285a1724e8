import { existsSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetCountError } from './errors';
import { type VehicleIDLayoutEntry, writeVehicleIDLayout } from './layout-writers-vehicleid';
import { TempDirs, brokenTree, captureFormatError, fixtureDir } from './reader-test-support';
import type { Sample } from './sample';
import { loadVehicleID, vehicleIdQueryGallery } from './vehicleid';

const temp = new TempDirs();
afterAll(() => temp.cleanup(), 120_000);
const BASE = join(fixtureDir('vehicleid'), 'base');
const bytes = new Uint8Array([0xd8]);

function miniEntries(): VehicleIDLayoutEntry[] {
  const entries: VehicleIDLayoutEntry[] = [];
  const add = (vehicleId: number, n: number, split: 'train' | 'test'): void => {
    for (let i = 0; i < n; i++) entries.push({ vehicleId, split, bytes });
  };
  add(50, 3, 'train');
  add(8, 2, 'train');
  add(23, 4, 'train');
  for (let id = 100; id < 110; id++) add(id, 2 + (id % 4), 'test');
  return entries;
}

describe('writeVehicleIDLayout → loadVehicleID round trip', () => {
  const root = temp.make();
  const written = writeVehicleIDLayout(root, miniEntries(), { testLists: { 800: 4, 1600: 7, 2400: 10 } });

  it('writes nested test lists and loads them with the right counts', () => {
    expect(written.train).toHaveLength(9);
    const sizes = [800, 1600, 2400] as const;
    const expectedIds = [4, 7, 10];
    sizes.forEach((testSize, k) => {
      const ds = loadVehicleID(root, { testSize, strict: true, expectedCounts: { train: { images: 9, ids: 3 }, test: { ids: expectedIds[k]! } } });
      expect(new Set(ds.test.map((s) => s.vehicleId)).size).toBe(expectedIds[k]);
      expect(ds.test.every((s) => s.cameraId === -1 && s.label === undefined && isAbsolute(s.path) && existsSync(s.path))).toBe(true);
    });
    expect(existsSync(join(root, 'train_test_split', 'test_list_3200.txt'))).toBe(false);
  });

  it('relabels train ids in sorted order', () => {
    const ds = loadVehicleID(root, { testSize: 800, expectedCounts: {} });
    expect(ds.numTrainIds).toBe(3);
    expect(ds.train.map((s) => [s.vehicleId, s.label])).toEqual([
      [50, 2], [50, 2], [50, 2], [8, 0], [8, 0], [23, 1], [23, 1], [23, 1], [23, 1],
    ]);
    expect(basename(ds.train[0]!.path)).toBe('0000001.jpg');
  });

  it('warns against the published counts by default and throws in strict mode', () => {
    const seen: string[] = [];
    const ds = loadVehicleID(root, { testSize: 800, onWarning: (m) => seen.push(m) });
    expect(ds.warnings).toEqual(seen);
    expect(ds.warnings).toContain('VehicleID (test 800): test images: 14 on disk, expected 6,493');
    expect(ds.warnings).toContain('VehicleID (test 800): train ids: 3 on disk, expected 13,164');
    expect(() => loadVehicleID(root, { testSize: 800, strict: true })).toThrow(DatasetCountError);
  });

  it('rejects an unsupported test size and a missing test list', () => {
    expect(() => loadVehicleID(root, { testSize: 900 as 800 })).toThrow(/testSize must be one of/);
    const err = captureFormatError(() => loadVehicleID(root, { testSize: 6000 }));
    expect(basename(err.file)).toBe('test_list_6000.txt');
  });
});

describe('vehicleIdQueryGallery', () => {
  const ds = loadVehicleID(BASE, { testSize: 1600, expectedCounts: {} });
  const keyOf = (s: Sample): string => s.path;

  it('puts exactly one image per test id in the gallery and the rest in the query set', () => {
    const { query, gallery } = vehicleIdQueryGallery(ds.test, { seed: 0 });
    expect(gallery.map((s) => s.vehicleId)).toEqual([900, 901, 902]);
    expect(query).toHaveLength(ds.test.length - 3);
    expect([...query, ...gallery].map(keyOf).sort()).toEqual(ds.test.map(keyOf).sort());
    expect(new Set(query.map(keyOf)).size).toBe(query.length);
  });

  it('is deterministic, independent of input order, and differs across seeds', () => {
    const big: Sample[] = [];
    for (let id = 0; id < 40; id++) for (let k = 0; k < 6; k++) big.push({ path: `/x/${id}_${k}.jpg`, vehicleId: id, cameraId: -1 });
    const a = vehicleIdQueryGallery(big, { seed: 3 });
    const b = vehicleIdQueryGallery([...big].reverse(), { seed: 3 });
    expect(b).toEqual(a);
    const c = vehicleIdQueryGallery(big, { seed: 4 });
    expect(c.gallery.map(keyOf)).not.toEqual(a.gallery.map(keyOf));
    expect(c.gallery).toHaveLength(40);
  });
});

describe('hand-made VehicleID fixture (CRLF, BOM, trailing blanks)', () => {
  it('loads strictly with its own counts', () => {
    const ds = loadVehicleID(BASE, { testSize: 800, strict: true, expectedCounts: { train: { images: 5, ids: 3 }, test: { images: 5, ids: 2 } } });
    expect(ds.train.map((s) => [s.vehicleId, s.label])).toEqual([[30, 2], [30, 2], [4, 0], [17, 1], [4, 0]]);
    expect(ds.test[0]!.path).toBe(join(BASE, 'image', '0000101.jpg'));
    expect(ds.test.map((s) => s.vehicleId)).toEqual([900, 900, 901, 901, 901]);
  });

  const cases: [string, 800 | 1600, string, number | undefined, RegExp][] = [
    ['malformed-line', 800, 'train_list.txt', 4, /malformed entry "0000004 17 extra"/],
    ['bad-vehicle-id', 800, 'test_list_800.txt', 2, /malformed entry "0000102 nine"/],
    ['duplicate-entry', 800, 'train_list.txt', 5, /duplicate entry "0000002" \(first at line 2\)/],
    ['missing-image', 1600, 'test_list_1600.txt', 6, /1 listed image\(s\) missing on disk:\n {2}line 6: .*0000199\.jpg/],
    ['empty-train-list', 800, 'train_list.txt', undefined, /list has no entries/],
    [
      'train-test-image-overlap', 800, 'test_list_800.txt', 4,
      /1 test entry shares its image or vehicle id with the training list .*train_list\.txt .*\n {2}line 4: image 0000004 is also train line 4$/,
    ],
    [
      'train-test-id-overlap', 800, 'test_list_800.txt', 3,
      /2 test entries share .*train_list\.txt \(the protocol needs disjoint train and test identities\):\n {2}line 3: vehicle 4 is a training identity \(train line 3\)\n {2}line 5: vehicle 30 is a training identity \(train line 1\)$/,
    ],
  ];
  for (const [name, testSize, file, line, message] of cases) {
    it(`fails on ${name} with file and line`, () => {
      const err = captureFormatError(() => loadVehicleID(brokenTree(temp, 'vehicleid', name), { testSize }));
      expect(basename(err.file)).toBe(file);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(message);
    });
  }

  it('fails on a missing image folder', () => {
    const root = temp.copy(BASE);
    rmSync(join(root, 'image'), { recursive: true });
    expect(captureFormatError(() => loadVehicleID(root, { testSize: 800 })).file).toBe(join(root, 'image'));
  });
});
