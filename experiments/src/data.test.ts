/**
 * loadData + evaluationFor on miniature trees in the exact real formats, written by the datasets package's layout
 * writers: VeRi-776 (official indices, view labels), VehicleID (seeded draws) and VeRi-Wild (test sizes); strict
 * counts by default; relative roots resolve against the repository root. Ends with `train` + `eval` on a VehicleID
 * tree built from the tiny synthetic world's images (mean ± std over the draws in results.json / eval.json), and
 * `train` refusing a tree with a truncated gallery image before training starts.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DamagedImagesError,
  DatasetCountError,
  vehicleIdQueryGallery,
  writeVeRi776Layout,
  writeVeRiWildLayout,
  writeVehicleIDLayout,
  type Sample,
  type VeRi776LayoutEntry,
} from '@clip-senet/datasets';
import { readSafetensors } from '@clip-senet/core';
import { drawVehicleIdSplit } from '@clip-senet/metrics';
import { main } from './cli';
import { REPO_ROOT, resolveRepoPath, resolvedConfigText, withRepoPaths } from './config';
import { loadData, type LoadedData } from './data';
import { evaluationFor } from './protocol';
import { parseConfigText } from './testing';

const BYTES = Uint8Array.of(0xff, 0xd8, 0xff, 0xd9); // readers check presence, not content
const config = (...lines: string[]) => parseConfigText(`${lines.join('\n')}\n`);
const quiet = { onWarning: () => {} };

let dir: string;
/** A fresh folder under the temp dir, and its path relative to the repository root (as a config would give it). */
function tree(name: string): { abs: string; rel: string } {
  const abs = join(dir, name);
  return { abs, rel: relative(REPO_ROOT, abs) };
}
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-data-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('paths relative to the repository root', () => {
  it('resolveRepoPath / withRepoPaths resolve relative paths against REPO_ROOT; the resolved YAML keeps them as written', () => {
    expect(resolveRepoPath('datasets/VeRi')).toBe(join(REPO_ROOT, 'datasets/VeRi'));
    expect(resolveRepoPath('/data/VeRi')).toBe('/data/VeRi');
    const c = config(
      'data: { dataset: veri776, root: datasets/VeRi, viewLabels: /abs/views.txt }',
      'model:',
      '  appearance: { weights: weights/r50.pth }',
      '  sem: { weights: weights/clip.safetensors }',
    );
    const r = withRepoPaths(c);
    expect([r.data.root, r.data.viewLabels, r.model.appearance.weights, r.model.sem?.weights]).toEqual([
      join(REPO_ROOT, 'datasets/VeRi'), '/abs/views.txt', join(REPO_ROOT, 'weights/r50.pth'), join(REPO_ROOT, 'weights/clip.safetensors'),
    ]);
    expect(resolvedConfigText(c)).toMatch(/root: datasets\/VeRi\n/);
    expect(resolvedConfigText(c)).toMatch(/weights: weights\/r50\.pth\n/);
    expect(c.data.root).toBe('datasets/VeRi');
  });
});

describe('VeRi-776 miniature', () => {
  const entries: VeRi776LayoutEntry[] = [];
  for (const [vid, split] of [[1, 'train'], [2, 'train'], [3, 'train'], [7, 'gallery'], [8, 'gallery']] as const) {
    for (const cam of [0, 1, 2]) entries.push({ vehicleId: vid, cameraId: cam, split, bytes: BYTES });
  }
  entries.push({ vehicleId: 7, cameraId: 3, split: 'query', bytes: BYTES }, { vehicleId: 8, cameraId: 0, split: 'query', bytes: BYTES, frame: 9 });
  let t: { abs: string; rel: string };
  beforeAll(() => {
    t = tree('veri');
    writeVeRi776Layout(t.abs, entries);
  });

  it('strict counts by default: the published counts do not match a miniature tree', () => {
    expect(() => loadData(config(`data: { dataset: veri776, root: ${t.rel} }`).data)).toThrow(DatasetCountError);
  });

  it('loads from a root relative to the repository root; official indices give the veri776-gtjk protocol', () => {
    const warnings: string[] = [];
    const c = config(`data: { dataset: veri776, root: ${t.rel}, officialIndices: true, strictCounts: false }`);
    const data = loadData(c.data, { onWarning: (w) => warnings.push(w) });
    expect(data.root).toBe(t.abs);
    expect([data.train.length, data.query.length, data.gallery.length, data.numClasses]).toEqual([9, 2, 8, 3]);
    expect(warnings.some((w) => /train images: 9 on disk, expected 37,778 or 37,781/.test(w))).toBe(true);
    expect(data.goodJunk?.good.length).toBe(2);
    const plan = evaluationFor(c, data);
    expect(plan.protocol.id).toBe('veri776-gtjk/no-rr/cosine/non-interp');
    expect(plan.gallery).toBe(data.gallery);
  });

  it('a truncated or non-image file in any split is an error naming it and counting the damaged files', () => {
    const good = loadData(config(`data: { dataset: veri776, root: ${t.rel}, strictCounts: false }`).data, quiet);
    const cut = good.gallery[3]!.path;
    const odd = good.train[0]!.path;
    const copy = tree('veri-damaged');
    writeVeRi776Layout(copy.abs, entries);
    const inCopy = (p: string): string => join(copy.abs, relative(t.abs, p));
    writeFileSync(inCopy(cut), BYTES.subarray(0, 3)); // lost its end-of-image marker
    writeFileSync(inCopy(odd), 'GIF89a');
    let err: unknown;
    try {
      loadData(config(`data: { dataset: veri776, root: ${copy.rel}, strictCounts: false }`).data, quiet);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DamagedImagesError);
    const { message } = err as DamagedImagesError;
    expect(message.startsWith(`veri776 dataset at ${copy.abs}: 2 of 19 image(s) are damaged`)).toBe(true);
    expect(message).toContain(`${inCopy(cut)}: JPEG does not end with the end-of-image marker FFD9`);
    expect(message).toContain(`${inCopy(odd)}: not a JPEG`);
  });

  it('a view-label file gives every sample a view id (for a CV model with views)', () => {
    const plain = loadData(config(`data: { dataset: veri776, root: ${t.rel}, strictCounts: false }`).data, quiet);
    const samples = [...plain.train, ...plain.query, ...plain.gallery];
    expect(samples.some((s) => s.viewId !== undefined)).toBe(false);
    const all = samples.map((s) => basename(s.path));
    const views = join(t.abs, 'views.txt');
    writeFileSync(views, [...new Set(all)].map((n, i) => `${n} ${i % 8}`).join('\n'));
    const c = config(
      `data: { dataset: veri776, root: ${t.rel}, viewLabels: ${relative(REPO_ROOT, views)}, strictCounts: false }`,
      'model: { fusion: { name: clip-senet, cameraView: { numCameras: 20, numViews: 8 } } }',
    );
    const loaded = loadData(c.data, quiet);
    expect([...loaded.train, ...loaded.query, ...loaded.gallery].every((s) => Number.isInteger(s.viewId) && s.viewId! >= 0 && s.viewId! < 8)).toBe(true);
    expect(loaded.train.map((s) => s.cameraId)).toContain(2);
  });
});

describe('VehicleID miniature: seeded draws', () => {
  let t: { abs: string; rel: string };
  beforeAll(() => {
    t = tree('vehicleid');
    const entries = [];
    // list order ≠ path order (image ids count down), so the loader's path sort matters
    let n = 900;
    for (const vid of [11, 12, 13]) for (let k = 0; k < 2; k++) entries.push({ vehicleId: vid, split: 'train' as const, bytes: BYTES, imageId: String(n--) });
    for (const [vid, count] of [[21, 3], [22, 4], [23, 2], [24, 5]] as const) {
      for (let k = 0; k < count; k++) entries.push({ vehicleId: vid, split: 'test' as const, bytes: BYTES, imageId: String(n--) });
    }
    writeVehicleIDLayout(t.abs, entries);
  });

  it('strict counts by default', () => {
    expect(() => loadData(config(`data: { dataset: vehicleid, root: ${t.rel}, testSize: 1600 }`).data)).toThrow(/VehicleID \(test 1600\): counts differ/);
  });

  it('the test list is in path order, draw r equals vehicleIdQueryGallery with seed drawSeed + r, query/gallery are draw 0', () => {
    const c = config(`data: { dataset: vehicleid, root: ${t.rel}, testSize: 1600, draws: 10, drawSeed: 3, strictCounts: false }`);
    const d = loadData(c.data, quiet);
    const test = d.test!;
    expect(test.length).toBe(14);
    expect(test.map((s) => s.path)).toEqual([...test.map((s) => s.path)].sort());
    expect(d.numClasses).toBe(3);
    const paths = (xs: readonly Sample[]): string[] => xs.map((s) => s.path);
    expect(paths(d.gallery)).toEqual(paths(vehicleIdQueryGallery(test, { seed: 3 }).gallery));
    expect(paths(d.query)).toEqual(paths(vehicleIdQueryGallery(test, { seed: 3 }).query));
    const ids = test.map((s) => s.vehicleId);
    const galleries = new Set<string>();
    for (let r = 0; r < 10; r++) {
      const draw = drawVehicleIdSplit(ids, 3 + r);
      const split = vehicleIdQueryGallery(test, { seed: 3 + r });
      expect(Array.from(draw.gallery, (i) => test[i]!.path)).toEqual(paths(split.gallery));
      expect(Array.from(draw.query, (i) => test[i]!.path)).toEqual(paths(split.query));
      galleries.add(paths(split.gallery).join());
    }
    expect(galleries.size).toBeGreaterThan(1);
    expect(evaluationFor(c, d).protocol.id).toBe('vehicleid-1600/no-rr/cosine/non-interp/draws=10,seeds=3..12');
  });
});

describe('VeRi-Wild miniature: test sizes', () => {
  let t: { abs: string; rel: string };
  beforeAll(() => {
    t = tree('veriwild');
    const entries = [];
    for (const vid of [1, 2, 3]) for (const cam of [0, 1]) entries.push({ vehicleId: vid, cameraId: cam, split: 'train' as const, bytes: BYTES });
    for (const vid of [40, 41]) {
      entries.push({ vehicleId: vid, cameraId: 2, split: 'query' as const, bytes: BYTES });
      for (const cam of [2, 3, 4]) entries.push({ vehicleId: vid, cameraId: cam, split: 'gallery' as const, bytes: BYTES });
    }
    writeVeRiWildLayout(t.abs, entries, { format: 'newer', testSizes: [3000, 5000] });
  });

  it('strict counts by default (published Medium: 5,000 queries)', () => {
    expect(() => loadData(config(`data: { dataset: veriwild, root: ${t.rel}, testSize: 5000 }`).data)).toThrow(/query images: 2 on disk, expected 5,000/);
  });

  it('reads the configured test size and builds its protocol; a size without lists is a format error', () => {
    const c = config(`data: { dataset: veriwild, root: ${t.rel}, testSize: 5000, strictCounts: false }`);
    const d = loadData(c.data, quiet);
    expect([d.train.length, d.query.length, d.gallery.length, d.numClasses]).toEqual([6, 2, 6, 3]);
    expect(evaluationFor(c, d).protocol.id).toBe('veriwild-medium/no-rr/cosine/non-interp');
    expect(() => loadData(config(`data: { dataset: veriwild, root: ${t.rel}, testSize: 10000, strictCounts: false }`).data, quiet)).toThrow(/test size 10000/);
  });
});

describe('train (+ eval) on real-format trees of the tiny synthetic world\u2019s images (tiny model)', () => {
  const tiny = fileURLToPath(new URL('../configs/synthetic/tiny.yaml', import.meta.url));
  let world: LoadedData;
  let out = '';
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s) };
  beforeAll(() => {
    process.env['CLIP_SENET_BACKEND'] = 'wasm';
    process.env['CLIP_SENET_WASM_THREADS'] = '1';
    world = loadData(parseConfigText(readFileSync(tiny, 'utf8')).data);
  });

  it('VeRi-776 with camera/view side information: cameras from the names, views from the label file', async () => {
    const t = tree('veri-cv');
    const entries = (split: 'train' | 'query' | 'gallery', xs: readonly Sample[]): VeRi776LayoutEntry[] =>
      xs.map((s, i) => ({ vehicleId: s.vehicleId, cameraId: s.cameraId, split, srcPath: s.path, frame: i + 1 }));
    const queries = new Set(world.query.map((s) => s.path));
    const written = writeVeRi776Layout(t.abs, [...entries('train', world.train), ...entries('query', world.query), ...entries('gallery', world.gallery.filter((s) => !queries.has(s.path)))]);
    const names = [...new Set([...written.train, ...written.query, ...written.gallery])];
    writeFileSync(join(t.abs, 'views.txt'), names.map((n, i) => `${n} ${i % 8}`).join('\n'));
    const cfg = join(dir, 'veri-cv.yaml');
    writeFileSync(cfg, [
      `extends: ${tiny}`, 'data:', '  dataset: veri776', '  world: null', `  root: ${t.rel}`, `  viewLabels: ${t.rel}/views.txt`, '  strictCounts: false',
      'model:', '  fusion: { cameraView: { numCameras: 20, numViews: 8 } }', '',
    ].join('\n'));
    const runDir = join(dir, 'run-cv');
    out = '';
    expect(await main(['train', '--config', cfg, '--set', 'train.maxSteps=2', '--run-dir', runDir, '--no-progress'], io), out).toBe(0);
    expect(out).toMatch(/finished at step 2.*\nveri776\/no-rr\/cosine\/non-interp: mAP/s);
    const ckpt = readdirSync(join(runDir, 'checkpoints')).find((f) => f.endsWith('.safetensors'))!;
    const keys = [...readSafetensors(join(runDir, 'checkpoints', ckpt)).tensors.keys()];
    expect(keys.some((k) => k.endsWith('fusion.camera_view.camera'))).toBe(true);
    expect(keys.some((k) => k.endsWith('fusion.camera_view.view'))).toBe(true);
  });

  it('train refuses a tree with a truncated gallery image before the first step, naming the file', async () => {
    const t = tree('veri-truncated');
    const queries = new Set(world.query.map((s) => s.path));
    const entries = (split: 'train' | 'query' | 'gallery', xs: readonly Sample[]): VeRi776LayoutEntry[] =>
      xs.map((s, i) => ({ vehicleId: s.vehicleId, cameraId: s.cameraId, split, srcPath: s.path, frame: i + 1 }));
    const written = writeVeRi776Layout(t.abs, [...entries('train', world.train), ...entries('query', world.query), ...entries('gallery', world.gallery.filter((s) => !queries.has(s.path)))]);
    const victim = join(t.abs, 'image_test', written.gallery[written.gallery.length - 1]!);
    const bytes = readFileSync(victim);
    writeFileSync(victim, bytes.subarray(0, bytes.length - 2)); // the last two bytes are the end-of-image marker
    const cfg = join(dir, 'veri-truncated.yaml');
    writeFileSync(cfg, `extends: ${tiny}\ndata:\n  dataset: veri776\n  world: null\n  root: ${t.rel}\n  strictCounts: false\n`);
    const runDir = join(dir, 'run-truncated');
    out = '';
    expect(await main(['train', '--config', cfg, '--set', 'train.maxSteps=2', '--run-dir', runDir, '--no-progress'], io), out).toBe(1);
    expect(out).toMatch(/1 of \d+ image\(s\) are damaged/);
    expect(out).toContain(`${victim}: JPEG does not end with the end-of-image marker FFD9`);
    expect(existsSync(join(runDir, 'checkpoints'))).toBe(false);
  });

  it('VehicleID: results.json and eval.json carry mean ± std over the draws', async () => {
    const t = tree('vehicleid-real');
    const test = new Map(world.gallery.map((s) => [s.path, s]));
    writeVehicleIDLayout(t.abs, [
      ...world.train.map((s) => ({ vehicleId: s.vehicleId, split: 'train' as const, srcPath: s.path })),
      ...[...test.values()].map((s) => ({ vehicleId: s.vehicleId, split: 'test' as const, srcPath: s.path })),
    ]);
    const cfg = join(dir, 'vehicleid.yaml');
    writeFileSync(cfg, `extends: ${tiny}\ndata:\n  dataset: vehicleid\n  world: null\n  root: ${t.rel}\n  testSize: 800\n  draws: 3\n  strictCounts: false\n`);
    const runDir = join(dir, 'run');
    out = '';
    expect(await main(['train', '--config', cfg, '--set', 'train.maxSteps=2', '--run-dir', runDir, '--no-progress'], io), out).toBe(0);
    expect(out).toMatch(/vehicleid-800\/no-rr\/cosine\/non-interp\/draws=3,seeds=0\.\.2: R1 [\d.]+ ± [\d.]+ {2}R5 .* \(3 draws\)/);
    type R = { protocolId: string; mAP: number; rank1: number; vehicleId: { mAP: { mean: number; std: number }; rank1: { mean: number }; draws: { seed: number }[] } };
    const results = JSON.parse(readFileSync(join(runDir, 'results.json'), 'utf8')) as R;
    expect(results.vehicleId.draws.map((d) => d.seed)).toEqual([0, 1, 2]);
    expect(results.mAP).toBeCloseTo(results.vehicleId.mAP.mean, 12);
    expect(results.rank1).toBeCloseTo(results.vehicleId.rank1.mean, 12);
    expect(readFileSync(join(runDir, 'resolved-config.yaml'), 'utf8')).toContain(`root: ${t.rel}\n`);

    const evalOut = join(dir, 'eval.json');
    expect(await main(['eval', '--run', runDir, '--out', evalOut], io), out).toBe(0);
    const evaluated = JSON.parse(readFileSync(evalOut, 'utf8')) as R;
    expect(evaluated.protocolId).toBe(results.protocolId);
    expect(evaluated.vehicleId.mAP.mean).toBeCloseTo(results.vehicleId.mAP.mean, 6);
    expect(evaluated.vehicleId.mAP.std).toBeCloseTo(results.vehicleId.mAP.std, 6);
  });
});
