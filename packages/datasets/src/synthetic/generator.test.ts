import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVeRi776 } from '../veri776';
import { type CaptionRecord, captionFor, detailPhrase, visibleDetails } from './captions';
import { writeContactSheet } from './contact-sheet';
import { generateSyntheticWorld, renderPlannedImage } from './generator';
import { decodeImage } from '../decode';
import { COLOUR_NAMES, TYPE_NOUNS, VEHICLE_TYPES, VIEWS, type VehicleIdentity, detailKey, makeIdentities } from './world-spec';
import { planWorld, resolveWorldParams } from './world-plan';
import { Rng } from '@clip-senet/core';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'synthetic-world-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SMALL = {
  numTrainIds: 6,
  numTestIds: 4,
  numCameras: 4,
  camerasPerId: [3, 4] as [number, number],
  imagesPerIdPerCamera: [1, 2] as [number, number],
  numPretrainIds: 3,
  pretrainImagesPerId: 3,
  imageSize: 48,
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function treeBytes(root: string): Map<string, Buffer> {
  return new Map(walk(root).map((p) => [relative(root, p), readFileSync(p)]));
}

describe('generateSyntheticWorld', () => {
  const a = generateSyntheticWorld({ outDir: join(tmp, 'a'), seed: 11, ...SMALL });

  it('gives a byte-identical tree for the same seed and a different one for another seed', () => {
    const b = generateSyntheticWorld({ outDir: join(tmp, 'b'), seed: 11, ...SMALL });
    const c = generateSyntheticWorld({ outDir: join(tmp, 'c'), seed: 12, ...SMALL });
    const ta = treeBytes(a.root);
    const tb = treeBytes(b.root);
    expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
    for (const [k, v] of ta) expect(tb.get(k)!.equals(v), k).toBe(true);
    const tc = treeBytes(c.root);
    const jpgsA = [...ta.keys()].filter((k) => k.endsWith('.jpg'));
    expect(jpgsA.length).toBeGreaterThan(20);
    expect(jpgsA.some((k) => !tc.get(k)?.equals(ta.get(k)!))).toBe(true);
  });

  it('renders an image from its own stream, independent of rendering order', () => {
    const plan = planWorld(resolveWorldParams({ seed: 11, ...SMALL }));
    const byId = new Map(plan.identities.map((i) => [i.vehicleId, i]));
    const forward = plan.images.slice(0, 6).map((img) => renderPlannedImage(plan, img, byId).jpeg);
    const backward = plan.images.slice(0, 6).reverse().map((img) => renderPlannedImage(plan, img, byId).jpeg).reverse();
    forward.forEach((buf, i) => expect(buf.equals(backward[i]!)).toBe(true));
  });

  it('loads strictly with loadVeRi776, view labels and official indices', () => {
    const ds = loadVeRi776(a.root, { ...a.manifest.readerOptions, strict: true, withOfficialIndices: true, viewLabels: join(a.root, 'view_labels.txt') });
    expect(ds.warnings).toEqual([]);
    expect(ds.numTrainIds).toBe(6);
    expect(ds.train.length).toBe(a.manifest.counts.trainImages);
    expect(ds.query.length).toBe(4 * 2);
    expect(new Set(ds.train.map((s) => s.label))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    const trainIds = new Set(ds.train.map((s) => s.vehicleId));
    expect(ds.gallery.some((s) => trainIds.has(s.vehicleId))).toBe(false);
    for (const s of [...ds.train, ...ds.gallery]) expect(s.cameraId).toBeLessThan(4);
    expect(ds.goodJunk!.good.every((g) => g.length > 0)).toBe(true);
    expect(ds.train.every((s) => s.viewId! >= 0 && s.viewId! < VIEWS.length)).toBe(true);
  });

  it('reuses an identical world and refuses to overwrite a different one or a foreign folder', () => {
    expect(generateSyntheticWorld({ outDir: join(tmp, 'a'), seed: 11, ...SMALL }).reused).toBe(true);
    expect(() => generateSyntheticWorld({ outDir: join(tmp, 'a'), seed: 13, ...SMALL })).toThrow(/different synthetic world/);
    const foreign = join(tmp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'x.txt'), 'x');
    expect(() => generateSyntheticWorld({ outDir: foreign, ...SMALL })).toThrow(/not a synthetic world/);
    expect(readdirSync(tmp).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('reuses a world whose manifest predates the pretraining-model parameters when they keep their old values', () => {
    const old = generateSyntheticWorld({ outDir: join(tmp, 'legacy'), seed: 11, ...SMALL });
    const file = join(old.root, 'world.json');
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { params: Record<string, unknown> };
    expect(manifest.params.pretrainIdsPerModel).toBe(4);
    delete manifest.params.pretrainIdsPerModel;
    delete manifest.params.pretrainAttributes;
    writeFileSync(file, JSON.stringify(manifest));
    expect(generateSyntheticWorld({ outDir: old.root, seed: 11, ...SMALL }).reused).toBe(true);
    expect(generateSyntheticWorld({ outDir: old.root, seed: 11, ...SMALL, pretrainIdsPerModel: 4, pretrainAttributes: 'weighted' }).reused).toBe(true);
    expect(() => generateSyntheticWorld({ outDir: old.root, seed: 11, ...SMALL, pretrainAttributes: 'balanced' })).toThrow(/different synthetic world/);
    expect(() => generateSyntheticWorld({ outDir: old.root, seed: 11, ...SMALL, pretrainIdsPerModel: 1 })).toThrow(/different synthetic world/);
  });

  it('writes a contact sheet PNG with one row per identity', () => {
    const out = join(tmp, 'sheet.png');
    const bytes = writeContactSheet(a.root, out, { rows: 4, cols: 3, cell: 32 });
    expect(statSync(out).size).toBe(bytes);
    const img = decodeImage(out);
    expect([img.width, img.height]).toEqual([120 + 3 * 32, 4 * 32]);
  });

  it('writes a disjoint-id pretraining split whose captions match the attribute records', () => {
    const lines = readFileSync(join(a.root, 'pretrain', 'captions.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(9);
    const identities = new Map((JSON.parse(readFileSync(join(a.root, 'identities.json'), 'utf8')) as VehicleIdentity[]).map((i) => [i.vehicleId, i]));
    const reidIds = new Set(loadVeRi776(a.root, { ...a.manifest.readerOptions }).train.map((s) => s.vehicleId));
    for (const line of lines) {
      const rec = JSON.parse(line) as CaptionRecord;
      expect(reidIds.has(rec.vehicleId)).toBe(false);
      const id = identities.get(rec.vehicleId)!;
      expect(rec.attributes.type).toBe(id.type);
      expect(rec.attributes.colour).toBe(id.colour);
      expect(rec.caption).toBe(captionFor(id, rec.attributes.view));
      expect(rec.caption).toContain(`${id.colour} ${TYPE_NOUNS[id.type]}`);
      expect(statSync(join(a.root, 'pretrain', rec.image)).size).toBeGreaterThan(100);
    }
  });
});

describe('identities and captions', () => {
  it('groups identities into type + colour models whose members differ in details', () => {
    const ids = makeIdentities(Array.from({ length: 40 }, (_, i) => i + 1), new Rng(5), { idsPerModel: 4 });
    for (let g = 0; g < 10; g++) {
      const model = ids.slice(g * 4, g * 4 + 4);
      expect(new Set(model.map((i) => `${i.type}/${i.colour}`)).size).toBe(1);
      expect(new Set(model.map((i) => detailKey(i.details))).size).toBe(4);
    }
  });

  it('balanced models walk the whole type × colour grid: every pair equally often, type independent of colour', () => {
    const cells = VEHICLE_TYPES.length * COLOUR_NAMES.length;
    const ids = makeIdentities(Array.from({ length: 2 * cells }, (_, i) => i + 1), new Rng(5), { idsPerModel: 1, attributes: 'balanced' });
    const count = new Map<string, number>();
    for (const i of ids) count.set(`${i.type}/${i.colour}`, (count.get(`${i.type}/${i.colour}`) ?? 0) + 1);
    expect(count.size).toBe(cells);
    expect([...count.values()].every((n) => n === 2)).toBe(true);
    // each block of the grid is its own shuffle, so the first cells are not the grid's order
    expect(ids.slice(0, VEHICLE_TYPES.length).every((i) => i.type === VEHICLE_TYPES[0])).toBe(false);
    // with models of 3 ids, whole models take the grid cells
    const grouped = makeIdentities(Array.from({ length: 3 * cells }, (_, i) => i + 1), new Rng(5), { idsPerModel: 3, attributes: 'balanced' });
    const models = new Set<string>();
    for (let g = 0; g < cells; g++) {
      const m = grouped.slice(g * 3, g * 3 + 3);
      expect(new Set(m.map((i) => `${i.type}/${i.colour}`)).size).toBe(1);
      models.add(`${m[0]!.type}/${m[0]!.colour}`);
    }
    expect(models.size).toBe(cells);
    // the default (weighted) draws are unchanged by the option's existence
    expect(makeIdentities([1, 2, 3, 4], new Rng(5))).toEqual(makeIdentities([1, 2, 3, 4], new Rng(5), { attributes: 'weighted' }));
  });

  it('pretraining models follow idsPerModel unless set, and never change the re-ID identities or plan', () => {
    expect(resolveWorldParams({ idsPerModel: 2 }).pretrainIdsPerModel).toBe(2);
    expect(resolveWorldParams({ idsPerModel: 2, pretrainIdsPerModel: 1 }).pretrainIdsPerModel).toBe(1);
    expect(resolveWorldParams({}).pretrainAttributes).toBe('weighted');
    expect(() => resolveWorldParams({ pretrainAttributes: 'uniform' as never })).toThrow(/pretrainAttributes must be 'weighted' or 'balanced'/);
    expect(() => resolveWorldParams({ pretrainIdsPerModel: 0 })).toThrow(/pretrainIdsPerModel must be a positive integer/);
    const base = planWorld(resolveWorldParams({ seed: 11, ...SMALL, numPretrainIds: 20 }));
    const balanced = planWorld(resolveWorldParams({ seed: 11, ...SMALL, numPretrainIds: 20, pretrainIdsPerModel: 1, pretrainAttributes: 'balanced' }));
    const reid = (p: typeof base): unknown => [p.identities.filter((i) => i.vehicleId <= 10), p.images.filter((i) => i.split !== 'pretrain'), p.cameras];
    expect(reid(balanced)).toEqual(reid(base));
    expect(balanced.identities.filter((i) => i.vehicleId > 10)).not.toEqual(base.identities.filter((i) => i.vehicleId > 10));
  });

  it('mentions only details visible from the view, and names the view', () => {
    const [id] = makeIdentities([1], new Rng(1));
    const withAll: VehicleIdentity = {
      ...id!,
      type: 'sedan',
      colour: 'orange',
      details: { ...id!.details, roofRack: true, sunroof: true, spoiler: true, decal: 'none', bumper: 'body', tint: 'none', wheels: 'spokes' },
    };
    expect(captionFor(withAll, 'front')).toBe('an orange sedan with a roof rack and a sunroof, seen from the front');
    expect(captionFor(withAll, 'side')).toBe('an orange sedan with a roof rack and a rear spoiler, seen from the side');
    expect(visibleDetails(withAll, 'front')).not.toContain('spoiler');
    expect(visibleDetails(withAll, 'side')).not.toContain('sunroof');
    const rear = captionFor(withAll, 'rear');
    for (const d of visibleDetails(withAll, 'rear')) expect(rear).toContain(detailPhrase(d, withAll.details));
  });
});

describe('generateSyntheticWorld under concurrent creation', () => {
  it('4 processes generating the same new world at the same moment all get it, byte-identical, with no leftovers', async () => {
    const dir = join(tmp, 'race');
    mkdirSync(dir);
    const out = join(dir, 'world');
    const generator = fileURLToPath(new URL('./generator.ts', import.meta.url));
    const script = join(dir, 'gen.mts');
    writeFileSync(script, `import { generateSyntheticWorld } from ${JSON.stringify(generator)};
      const start = Number(process.argv[2]);
      while (Date.now() < start) {} // line up
      const w = generateSyntheticWorld({ outDir: ${JSON.stringify(out)}, seed: 5, ...${JSON.stringify(SMALL)} });
      console.log(w.reused ? 'reused' : 'generated');`);
    const start = Date.now() + 4000;
    const results = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', script, String(start)])));
    expect(results.map((r) => r.stdout.trim()).filter((w) => w === 'generated').length).toBeGreaterThanOrEqual(1);
    expect(readdirSync(dir).sort()).toEqual(['gen.mts', 'world']);
    const solo = generateSyntheticWorld({ outDir: join(tmp, 'race-solo'), seed: 5, ...SMALL });
    expect(treeBytes(out)).toEqual(treeBytes(solo.root));
  });
});

describe('generateSyntheticWorld leftovers and damage', () => {
  it('sweeps the temp folder of a killed generation on this host, and names a corrupt world.json', () => {
    const dir = join(tmp, 'leftovers');
    mkdirSync(dir);
    const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const leftover = join(dir, `.world.tmp-${dead}-${host}-0-1`);
    const otherHost = join(dir, `.world.tmp-${dead}-00000000-0-1`);
    mkdirSync(leftover);
    mkdirSync(otherHost);
    generateSyntheticWorld({ outDir: join(dir, 'world'), seed: 5, ...SMALL });
    expect(readdirSync(dir).sort()).toEqual([`.world.tmp-${dead}-00000000-0-1`, 'world']);
    writeFileSync(join(dir, 'world', 'world.json'), '{"version": ');
    expect(() => generateSyntheticWorld({ outDir: join(dir, 'world'), seed: 5, ...SMALL })).toThrow(`${join(dir, 'world', 'world.json')}: not a readable world manifest`);
  });
});

