import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatasetCountError } from './errors';
import { type VeRi776LayoutEntry, writeVeRi776Layout } from './layout-writers';
import { TempDirs, brokenTree as brokenOverlay, captureFormatError, fixtureDir } from './reader-test-support';
import { loadVeRi776, parseVeRi776Name } from './veri776';

const FIXTURES = fixtureDir('veri776');
const temp = new TempDirs();
const freshDir = (): string => temp.make('veri776-test-');
const brokenTree = (name: string): string => brokenOverlay(temp, 'veri776', name);
const formatError = captureFormatError;
afterAll(() => temp.cleanup(), 120_000);

const BASE_COUNTS = {
  train: { images: 4, ids: 3 },
  query: { images: 2, ids: 2 },
  gallery: { images: 5, ids: 2 },
  cameras: 6,
};

const bytes = new Uint8Array([0xff]);

function miniEntries(): VeRi776LayoutEntry[] {
  const entries: VeRi776LayoutEntry[] = [];
  // train ids deliberately out of order: 12, 3, 7
  for (const [vehicleId, cams] of [[12, [0, 1]], [3, [4, 4, 19]], [7, [2]]] as const) {
    for (const cameraId of cams) entries.push({ vehicleId, cameraId, split: 'train', bytes });
  }
  for (const vehicleId of [40, 41]) {
    entries.push({ vehicleId, cameraId: 0, split: 'query', bytes });
    entries.push({ vehicleId, cameraId: 0, split: 'gallery', bytes });
    entries.push({ vehicleId, cameraId: 5, split: 'gallery', bytes });
    entries.push({ vehicleId, cameraId: 6, split: 'gallery', bytes });
  }
  return entries;
}

describe('parseVeRi776Name', () => {
  it('reads id, camera, frame and index', () => {
    expect(parseVeRi776Name('0001_c001_00016450_0.jpg')).toEqual({ vehicleId: 1, camera: 1, frame: 16450, index: 0 });
    expect(parseVeRi776Name('0001_c01_00016450_0.jpg')).toBeUndefined();
    expect(parseVeRi776Name('0001_c001_00016450_0.txt')).toBeUndefined();
  });
});

describe('writeVeRi776Layout → loadVeRi776 round trip', () => {
  const root = freshDir();
  const written = writeVeRi776Layout(root, miniEntries());
  const expectedCounts = { train: { images: 6, ids: 3 }, query: { images: 2, ids: 2 }, gallery: { images: 8, ids: 2 }, cameras: 7 };
  const ds = loadVeRi776(root, { strict: true, expectedCounts, withOfficialIndices: true });

  it('writes the real layout', () => {
    for (const f of ['name_train.txt', 'name_query.txt', 'name_test.txt', 'train_label.xml', 'test_label.xml', 'gt_index.txt', 'jk_index.txt']) {
      expect(existsSync(join(root, f))).toBe(true);
    }
    expect(written.train).toContain('0003_c020_00000001_0.jpg');
    expect(written.gallery).toHaveLength(8); // 6 gallery + 2 queries (query ⊂ test, as in VeRi-776)
  });

  it('loads counts, ids, cameras and sorted relabelling', () => {
    expect([ds.train.length, ds.query.length, ds.gallery.length]).toEqual([6, 2, 8]);
    expect(ds.numTrainIds).toBe(3);
    expect(ds.numCameras).toBe(7);
    expect(ds.warnings).toEqual([]);
    const labelOf = Object.fromEntries(ds.train.map((s) => [s.vehicleId, s.label]));
    expect(labelOf).toEqual({ 3: 0, 7: 1, 12: 2 });
    expect(ds.train.map((s) => s.cameraId).sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 4, 19]);
    expect(ds.train.map((s) => basename(s.path))).toEqual(written.train);
    expect([...ds.train, ...ds.query, ...ds.gallery].every((s) => isAbsolute(s.path) && existsSync(s.path))).toBe(true);
    expect(ds.query.every((s) => s.label === undefined)).toBe(true);
  });

  it('writes good/junk indices by the protocol rule', () => {
    const gj = ds.goodJunk!;
    expect(gj.good).toHaveLength(2);
    ds.query.forEach((q, i) => {
      const good = [...gj.good[i]!].map((g) => ds.gallery[g]!);
      const junk = [...gj.junk[i]!].map((g) => ds.gallery[g]!);
      expect(good.every((g) => g.vehicleId === q.vehicleId && g.cameraId !== q.cameraId)).toBe(true);
      expect(junk.every((g) => g.vehicleId === q.vehicleId && g.cameraId === q.cameraId)).toBe(true);
      expect(good.length + junk.length).toBe(ds.gallery.filter((g) => g.vehicleId === q.vehicleId).length);
      expect(junk.map((g) => g.path)).toContain(join(root, 'image_test', basename(q.path)));
    });
  });

  it('warns once per mismatch against the published counts, or throws in strict mode', () => {
    const seen: string[] = [];
    const loose = loadVeRi776(root, { onWarning: (m) => seen.push(m) });
    expect(loose.warnings.length).toBeGreaterThan(0);
    expect(seen).toEqual(loose.warnings);
    expect(loose.warnings.join('\n')).toMatch(/train images: 6 on disk, expected 37,778 or 37,781/);
    expect(() => loadVeRi776(root, { strict: true })).toThrow(DatasetCountError);
    expect(() => loadVeRi776(root, { strict: true, expectedCounts: { ...expectedCounts, cameras: 20 } })).toThrow(/cameras: 7 on disk, expected 20/);
  });

  it('reports the first few missing images and the total', () => {
    const copy = freshDir();
    cpSync(root, copy, { recursive: true });
    const names = written.train.slice(0, 6);
    names.forEach((n) => rmSync(join(copy, 'image_train', n)));
    const err = formatError(() => loadVeRi776(copy, { expectedCounts }));
    expect(err.file).toBe(join(copy, 'name_train.txt'));
    expect(err.line).toBe(1);
    expect(err.message).toMatch(/6 listed image\(s\) missing/);
    expect(err.message).toMatch(/and 1 more/);
    expect(err.message).not.toMatch(new RegExp(names[5]!));
  });
});

describe('writeVeRi776Layout details', () => {
  it('writes XML label files with the real element and attribute names', () => {
    const root = freshDir();
    writeVeRi776Layout(root, [
      { vehicleId: 1, cameraId: 0, split: 'train', bytes, colorId: 4, typeId: 2 },
      { vehicleId: 9, cameraId: 11, split: 'gallery', bytes },
    ]);
    const train = readFileSync(join(root, 'train_label.xml'), 'utf8');
    expect(train).toMatch(/^<\?xml version="1.0" encoding="gb2312"\?>\n<TrainingImages Version="1.0">\n<Items number="1">\n/);
    expect(train).toContain('<Item imageName="0001_c001_00000001_0.jpg" vehicleID="0001" cameraID="c001" colorID="4" typeID="2" />');
    const test = readFileSync(join(root, 'test_label.xml'), 'utf8');
    expect(test).toContain('<TestImages Version="1.0">');
    expect(test).toContain('vehicleID="0009" cameraID="c012"');
  });

  it('copies srcPath images, can keep queries out of the gallery, and rejects bad entries', () => {
    const src = join(freshDir(), 'src.jpg');
    writeFileSync(src, 'JPEGDATA');
    const root = freshDir();
    const written = writeVeRi776Layout(
      root,
      [
        { vehicleId: 4, cameraId: 0, split: 'train', srcPath: src },
        { vehicleId: 5, cameraId: 1, split: 'query', srcPath: src },
        { vehicleId: 5, cameraId: 2, split: 'gallery', srcPath: src, frame: 77 },
      ],
      { queryInGallery: false },
    );
    expect(written.gallery).toEqual(['0005_c003_00000077_0.jpg']);
    expect(readFileSync(join(root, 'image_query', written.query[0]!), 'utf8')).toBe('JPEGDATA');
    expect(readFileSync(join(root, 'gt_index.txt'), 'utf8')).toBe('1\n');
    expect(readFileSync(join(root, 'jk_index.txt'), 'utf8')).toBe('\n');
    const ds = loadVeRi776(root, { withOfficialIndices: true, onWarning: () => {} });
    expect(ds.goodJunk!.junk[0]).toHaveLength(0);
    expect(() => writeVeRi776Layout(freshDir(), [{ vehicleId: 1, cameraId: 0, split: 'train', bytes, srcPath: src }])).toThrow(/exactly one of bytes \/ srcPath/);
    expect(() => writeVeRi776Layout(freshDir(), [{ vehicleId: 10000, cameraId: 0, split: 'train', bytes }])).toThrow(/vehicleId must be an integer in 0..9999/);
    const twice = { vehicleId: 1, cameraId: 0, split: 'train', bytes, frame: 3 } as const;
    expect(() => writeVeRi776Layout(freshDir(), [twice, twice])).toThrow(/already used/);
  });
});

describe('hand-made VeRi-776 fixture (CRLF, BOM, trailing blanks)', () => {
  const root = join(FIXTURES, 'base');

  it('loads strictly with its own counts', () => {
    const ds = loadVeRi776(root, { strict: true, expectedCounts: BASE_COUNTS, withOfficialIndices: true });
    expect(ds.train.map((s) => [s.vehicleId, s.cameraId, s.label])).toEqual([
      [2, 0, 0],
      [2, 2, 0],
      [5, 1, 1],
      [10, 19, 2],
    ]);
    expect(ds.query.map((s) => basename(s.path))).toEqual(['0100_c001_00000010_0.jpg', '0101_c004_00000011_0.jpg']);
    expect(ds.gallery[1]!.path).toBe(join(root, 'image_test', '0100_c002_00000012_0.jpg'));
    expect(ds.goodJunk!.good.map((a) => [...a])).toEqual([[1], [4]]);
    expect(ds.goodJunk!.junk.map((a) => [...a])).toEqual([[0, 2], [3]]);
    expect(ds.goodJunk!.good[0]).toBeInstanceOf(Int32Array);
  });

  it('attaches view labels to every split', () => {
    const ds = loadVeRi776(root, { expectedCounts: BASE_COUNTS, viewLabels: join(root, 'view_labels.txt') });
    expect(ds.train.map((s) => s.viewId)).toEqual([0, 1, 2, 7]);
    expect(ds.query.map((s) => s.viewId)).toEqual([3, 4]);
    expect(ds.gallery.map((s) => s.viewId)).toEqual([3, 5, 6, 4, 0]);
  });

  const cases: [string, () => unknown, string, number | undefined, RegExp][] = [
    ['malformed-name', () => loadVeRi776(brokenTree('malformed-name')), 'name_train.txt', 3, /malformed entry "0005-c002/],
    ['unknown-camera', () => loadVeRi776(brokenTree('unknown-camera')), 'name_query.txt', 2, /unknown camera c021/],
    ['duplicate-entry', () => loadVeRi776(brokenTree('duplicate-entry')), 'name_test.txt', 5, /duplicate entry .*first at line 2/],
    ['missing-image', () => loadVeRi776(brokenTree('missing-image')), 'name_train.txt', 2, /2 listed image\(s\) missing[^]*line 5:/],
    ['empty-train-list', () => loadVeRi776(brokenTree('empty-train-list')), 'name_train.txt', undefined, /list has no entries/],
    [
      'query-id-not-in-gallery',
      () => loadVeRi776(brokenTree('query-id-not-in-gallery')),
      'name_query.txt',
      2,
      /1 query image\(s\) of identities with no image in the gallery list .*name_test\.txt:\n {2}line 2: vehicle 300$/,
    ],
    [
      'train-test-id-overlap',
      () => loadVeRi776(brokenTree('train-test-id-overlap')),
      'name_query.txt',
      2,
      /1 test entry shares its image or vehicle id with the training list .*name_train\.txt .*:\n {2}line 2: image 0002_c003_00000002_0\.jpg is also train line 2$/,
    ],
    [
      'index-out-of-range',
      () => loadVeRi776(brokenTree('index-out-of-range'), { withOfficialIndices: true }),
      'gt_index.txt',
      2,
      /"7" is not an integer in 1..5/,
    ],
    [
      'index-too-few-lines',
      () => loadVeRi776(brokenTree('index-too-few-lines'), { withOfficialIndices: true }),
      'gt_index.txt',
      undefined,
      /1 lines but 2 queries/,
    ],
    [
      'index-good-and-junk',
      () => loadVeRi776(brokenTree('index-good-and-junk'), { withOfficialIndices: true }),
      'jk_index.txt',
      2,
      /index 5 is listed as both good/,
    ],
  ];
  for (const [name, load, file, line, message] of cases) {
    it(`fails on ${name} with file and line`, () => {
      const err = formatError(() => load());
      expect(basename(err.file)).toBe(file);
      expect(err.line).toBe(line);
      expect(err.message).toMatch(message);
    });
  }

  it('reports images in a split folder that the list does not name (an identity absent from name_train.txt)', () => {
    const root = brokenTree('unlisted-identity');
    const expected = 'image_train/ images not listed in name_train.txt (not loaded): 1 on disk, expected 0 (0999_c001_00000001_0.jpg)';
    expect(() => loadVeRi776(root, { strict: true, expectedCounts: BASE_COUNTS })).toThrow(expected);
    const seen: string[] = [];
    const ds = loadVeRi776(root, { expectedCounts: BASE_COUNTS, onWarning: (w) => seen.push(w) });
    expect(ds.warnings).toEqual([`VeRi-776: ${expected}`]);
    expect(seen).toEqual(ds.warnings);
    expect(ds.train).toHaveLength(4);
  });

  it('fails on malformed and missing view labels', () => {
    const bad = brokenTree('view-label-malformed');
    const err = formatError(() => loadVeRi776(bad, { viewLabels: join(bad, 'view_labels.txt') }));
    expect([basename(err.file), err.line]).toEqual(['view_labels.txt', 3]);
    const gap = brokenTree('view-label-missing');
    const err2 = formatError(() => loadVeRi776(gap, { viewLabels: join(gap, 'view_labels.txt') }));
    expect(err2.message).toMatch(/2 loaded image\(s\) have no view label: 0100_c001_00000013_0.jpg, 0101_c005_00000014_0.jpg/);
  });

  it('fails on a missing list file or image folder', () => {
    const noList = freshDir();
    cpSync(root, noList, { recursive: true });
    rmSync(join(noList, 'name_query.txt'));
    expect(formatError(() => loadVeRi776(noList)).message).toMatch(/name_query.txt: required file not found/);
    const noDir = freshDir();
    cpSync(root, noDir, { recursive: true });
    rmSync(join(noDir, 'image_test'), { recursive: true });
    expect(formatError(() => loadVeRi776(noDir)).file).toBe(join(noDir, 'image_test'));
  });

  it('accepts a wider camera range when asked', () => {
    const wide = brokenTree('unknown-camera');
    writeFileSync(join(wide, 'image_query', '0101_c021_00000011_0.jpg'), 'x');
    expect(loadVeRi776(wide, { numCameras: 21, onWarning: () => {} }).query[1]!.cameraId).toBe(20);
  });
});
