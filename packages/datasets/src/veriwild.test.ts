import { appendFileSync, existsSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetCountError } from './errors';
import { type VeRiWildLayoutEntry, writeVeRiWildLayout } from './layout-writers-veriwild';
import { TempDirs, brokenTree, captureFormatError, fixtureDir } from './reader-test-support';
import type { Sample } from './sample';
import { type VeRiWildDataset, loadVeRiWild } from './veriwild';

const temp = new TempDirs();
afterAll(() => temp.cleanup(), 120_000);
const FIXTURES = fixtureDir('veriwild');
const bytes = new Uint8Array([0x42]);

/** Samples with paths relative to the dataset root, for comparing trees written in different places. */
function portable(ds: VeRiWildDataset, root: string): Record<'train' | 'query' | 'gallery', Sample[]> {
  const rel = (xs: Sample[]): Sample[] => xs.map((s) => ({ ...s, path: relative(root, s.path) }));
  return { train: rel(ds.train), query: rel(ds.query), gallery: rel(ds.gallery) };
}

function miniEntries(): VeRiWildLayoutEntry[] {
  const entries: VeRiWildLayoutEntry[] = [];
  const add = (vehicleId: number, split: VeRiWildLayoutEntry['split'], cams: number[]): void => {
    for (const cameraId of cams) entries.push({ vehicleId, cameraId, split, bytes });
  };
  add(31, 'train', [0, 3, 3]);
  add(2, 'train', [1, 2]);
  add(17, 'train', [4]);
  for (const id of [500, 501, 502]) {
    add(id, 'query', [id % 5]);
    add(id, 'gallery', [0, 1, 2]);
  }
  return entries;
}

const MINI_COUNTS = {
  train: { images: 6, ids: 3 },
  query: { images: 3, ids: 3 },
  gallery: { images: 9, ids: 3 },
  cameras: 5,
};

describe('writeVeRiWildLayout → loadVeRiWild round trip, both formats', () => {
  const roots = { original: temp.make(), newer: temp.make() };
  writeVeRiWildLayout(roots.original, miniEntries(), { format: 'original' });
  writeVeRiWildLayout(roots.newer, miniEntries(), { format: 'newer', testSizes: [3000, 10000] });
  const original = loadVeRiWild(roots.original, { testSize: 5000, strict: true, expectedCounts: MINI_COUNTS });
  const newer = loadVeRiWild(roots.newer, { testSize: 10000, strict: true, expectedCounts: MINI_COUNTS });

  it('detects the format and loads counts, ids, cameras and sorted relabelling', () => {
    expect(original.format).toBe('original');
    expect(newer.format).toBe('newer');
    expect(original.numTrainIds).toBe(3);
    expect(original.train.map((s) => [s.vehicleId, s.cameraId, s.label])).toEqual([
      [31, 0, 2], [31, 3, 2], [31, 3, 2], [2, 1, 0], [2, 2, 0], [17, 4, 1],
    ]);
    expect(original.cameraIds).toEqual([1, 2, 3, 4, 5]);
    expect(original.query.map((s) => [s.vehicleId, s.cameraId])).toEqual([[500, 0], [501, 1], [502, 2]]);
    expect(original.train[0]!.path).toBe(join(roots.original, 'images', '00031', '000001.jpg'));
    expect([...original.train, ...original.gallery].every((s) => isAbsolute(s.path) && existsSync(s.path))).toBe(true);
  });

  it('gives identical samples from both formats', () => {
    expect(portable(newer, roots.newer)).toEqual(portable(original, roots.original));
    expect(newer.cameraIds).toEqual(original.cameraIds);
  });

  it('only finds the test sizes that were written', () => {
    const err = captureFormatError(() => loadVeRiWild(roots.newer, { testSize: 5000 }));
    expect(err.message).toMatch(/no complete VeRi-Wild list set for test size 5000/);
  });

  it('warns against the published counts by default and throws in strict mode', () => {
    const seen: string[] = [];
    const ds = loadVeRiWild(roots.original, { testSize: 3000, onWarning: (m) => seen.push(m) });
    expect(seen).toEqual(ds.warnings);
    expect(ds.warnings).toContain('VeRi-Wild (test 3000, original format): gallery images: 9 on disk, expected 38,861');
    expect(ds.warnings).toContain('VeRi-Wild (test 3000, original format): cameras: 5 on disk, expected 174');
    expect(() => loadVeRiWild(roots.original, { testSize: 3000, strict: true })).toThrow(DatasetCountError);
  });

  it('loads a larger tree quickly (one directory listing per folder)', () => {
    // 1,500 ids × 6 images; the real Large set is ~50× bigger, so budget ~2 s here for "a few seconds" there
    const root = temp.make();
    const entries: VeRiWildLayoutEntry[] = [];
    for (let id = 0; id < 1500; id++) {
      for (let k = 0; k < 6; k++) entries.push({ vehicleId: id, cameraId: (id + k) % 174, split: id < 1000 ? 'train' : k === 0 ? 'query' : 'gallery', bytes });
    }
    writeVeRiWildLayout(root, entries, { format: 'original', testSizes: [3000] });
    const start = performance.now();
    const ds = loadVeRiWild(root, { testSize: 3000, onWarning: () => {} });
    const seconds = (performance.now() - start) / 1000;
    expect([ds.train.length, ds.query.length, ds.gallery.length]).toEqual([6000, 500, 2500]);
    expect(ds.cameraIds).toHaveLength(174);
    expect(seconds).toBeLessThan(2);
    rmSync(root, { recursive: true, force: true });
  });
});

describe('hand-made VeRi-Wild fixtures (both formats; CRLF, BOM, trailing blanks)', () => {
  const counts = { train: { images: 3, ids: 2 }, query: { images: 2, ids: 2 }, gallery: { images: 3, ids: 2 }, cameras: 4 };
  const original = loadVeRiWild(join(FIXTURES, 'base'), { testSize: 3000, strict: true, expectedCounts: counts });
  const newer = loadVeRiWild(join(FIXTURES, 'newer'), { testSize: 3000, strict: true, expectedCounts: counts });

  it('loads the original format with cameras from vehicle_info.txt', () => {
    expect(original.format).toBe('original');
    expect(original.cameraIds).toEqual([1, 2, 5, 7]);
    expect(original.train.map((s) => [s.vehicleId, s.cameraId, s.label])).toEqual([[3, 0, 0], [3, 1, 0], [10, 2, 1]]);
    expect(original.gallery.map((s) => [s.vehicleId, s.cameraId])).toEqual([[100, 1], [100, 0], [101, 3]]);
  });

  it('loads the newer format (0-based raw cameras, lists in the root) to the same samples', () => {
    expect(newer.format).toBe('newer');
    expect(newer.cameraIds).toEqual([0, 1, 4, 6]);
    expect(portable(newer, join(FIXTURES, 'newer'))).toEqual(portable(original, join(FIXTURES, 'base')));
  });

  const cases: [string, string, number | undefined, RegExp][] = [
    ['malformed-line', 'test_3000.txt', 2, /malformed entry "00100-000006"/],
    ['unknown-camera', 'train_list.txt', 4, /unknown camera: "00010\/000099" has no entry in .*vehicle_info\.txt/],
    ['vehicle-info-malformed', 'vehicle_info.txt', 3, /malformed entry "00003\/000002;c2/],
    ['duplicate-entry', 'test_3000_query.txt', 3, /duplicate entry "00100\/000004" \(first at line 1\)/],
    ['query-in-gallery', 'test_3000_query.txt', 2, /query image 00100\/000005 is also in the gallery list \(.*test_3000\.txt:1\)/],
    ['missing-image', 'train_list.txt', 3, /1 listed image\(s\) missing on disk:\n {2}line 3: .*000011\.jpg/],
    ['empty-query-list', 'test_3000_query.txt', undefined, /list has no entries/],
    ['vehicle-info-header-only', 'vehicle_info.txt', undefined, /no entries after the header line/],
    ['query-id-not-in-gallery', 'test_3000_query.txt', 2, /1 query image\(s\) of identities with no image in the gallery list .*test_3000\.txt:\n {2}line 2: vehicle 200$/],
    ['train-test-id-overlap', 'test_3000_query.txt', 2, /1 test entry shares its image or vehicle id with the training list .*train_list\.txt .*:\n {2}line 2: image 00003\/000002 is also train line 2$/],
  ];
  for (const [name, file, line, message] of cases) {
    it(`fails on ${name} with file and line`, () => {
      const err = captureFormatError(() => loadVeRiWild(brokenTree(temp, 'veriwild', name), { testSize: 3000 }));
      expect(basename(err.file)).toBe(file);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(message);
    });
  }

  it('fails on a malformed newer-format line with file and line', () => {
    const err = captureFormatError(() => loadVeRiWild(brokenTree(temp, 'veriwild', 'newer-malformed-line', 'newer'), { testSize: 3000 }));
    expect([basename(err.file), err.line]).toEqual(['test_3000_id.txt', 3]);
    expect(err.message).toMatch(/expected "<vid>\/<imgId>\.jpg <label> <camId>"/);
  });

  it('fails on a duplicate vehicle_info.txt entry with both lines', () => {
    const root = temp.copy(join(FIXTURES, 'base'));
    appendFileSync(join(root, 'train_test_split', 'vehicle_info.txt'), '00003/000002;9;t;m;t;c\n');
    const err = captureFormatError(() => loadVeRiWild(root, { testSize: 3000 }));
    expect([basename(err.file), err.line]).toEqual(['vehicle_info.txt', 12]);
    expect(err.message).toMatch(/duplicate entry "00003\/000002" \(first at line 3\)/);
  });

  it('fails on a missing images folder', () => {
    const root = temp.copy(join(FIXTURES, 'base'));
    rmSync(join(root, 'images'), { recursive: true });
    expect(captureFormatError(() => loadVeRiWild(root, { testSize: 3000 })).file).toBe(join(root, 'images'));
  });
});
