import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng } from '@clip-senet/core';
import { generateSyntheticWorld } from '@clip-senet/datasets';
import { buildModel } from './build-model';
import { identityReport, pretrainSem, readCaptions, reidIdentities, splitByIdentity, type PretrainSemConfigInput } from './pretrain-sem';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-sem-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG: PretrainSemConfigInput = { epochs: 5, batchSize: 16, workers: 0, holdoutFraction: 0.25, optimizer: { name: 'adamw', lr: 2e-3, weightDecay: 0.01 } };

describe('SEM pretraining (small CLIP on synthetic captions)', () => {
  it('loss falls, resumes exactly, refuses or moves aside another config\'s run, saves an OpenAI-layout image tower the SEM loads strictly, reports zero-shot accuracy', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 2, numTestIds: 2, numCameras: 3, camerasPerId: [2, 3], imagesPerIdPerCamera: [1, 1],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 16, pretrainImagesPerId: 4,
    });
    const records = readCaptions(world.root);
    expect(records).toHaveLength(64);
    const split = splitByIdentity(records, 0.25, new Rng(1));
    expect(split.heldOut.length).toBe(16);
    expect(split.train.some((r) => split.heldOut.some((h) => h.vehicleId === r.vehicleId))).toBe(false);
    const reid = reidIdentities(world.root);
    expect([...reid].sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    expect(identityReport(split.train, split.heldOut, reid).reidOverlap).toBe(0);
    expect(identityReport(split.train, split.heldOut, new Set([split.heldOut[0]!.vehicleId, 1])).reidOverlap).toBe(1);
    const bad = join(dir, 'bad-lists');
    mkdirSync(bad);
    writeFileSync(join(bad, 'name_query.txt'), '0001_c001_00000100_0.jpg\n\nquery_0002.jpg\n');
    expect(() => reidIdentities(bad)).toThrow(/name_query\.txt:3: "query_0002\.jpg" is not a VeRi-776 image name/);

    const full = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'full'), config: CONFIG, progress: false });
    expect(full.result.reason).toBe('completed');
    const log = readFileSync(join(dir, 'full', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: Record<string, number> });
    const mean = (xs: typeof log): number => xs.reduce((s, x) => s + x.loss['clip-infonce']!, 0) / xs.length;
    expect(mean(log.slice(-3))).toBeLessThan(mean(log.slice(0, 3)));
    const report = JSON.parse(readFileSync(join(dir, 'full', 'zero-shot.json'), 'utf8'));
    for (const attr of ['colour', 'type', 'view'] as const) {
      expect(report[attr].accuracy).toBeGreaterThanOrEqual(0);
      expect(report[attr].accuracy).toBeLessThanOrEqual(1);
      expect(report[attr].chance).toBeCloseTo(1 / report[attr].classes.length, 12);
      expect(report[attr].majority).toBeGreaterThan(0);
      expect(report.probe[attr]).toBe(full.probe![attr]);
      expect(report.probe[attr] * 16).toBeCloseTo(Math.round(report.probe[attr] * 16), 9);
    }
    // the structural "no identities" guarantee: held-out identities are unseen, no re-ID identity is pretrained on
    expect(report.identities).toEqual({ trainIdentities: 12, heldOutIdentities: 4, trainHeldOutOverlap: 0, reidOverlap: 0 });

    const part = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'part'), config: CONFIG, progress: false, stopAfterSteps: 7 });
    expect(part.result.step).toBe(7);
    expect(part.visualWeights).toBeUndefined();
    const rest = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'part'), config: CONFIG, progress: false });
    expect(readFileSync(rest.visualWeights!).equals(readFileSync(full.visualWeights!))).toBe(true);
    expect(rest.zeroShot).toEqual(full.zeroShot);
    expect(rest.probe).toEqual(full.probe);

    // a folder holding another config's run is refused untouched, or (replaceStale) moved aside whole
    const other = { ...CONFIG, epochs: 4 };
    const before = readFileSync(join(dir, 'full', 'sem-visual.safetensors'));
    let ready = 0;
    await expect(pretrainSem({ worldRoot: world.root, outDir: join(dir, 'full'), config: other, progress: false, stopAfterSteps: 1, onReady: () => (ready += 1) })).rejects.toThrow(/does not match this run[\s\S]*config hash/);
    expect(ready).toBe(0);
    expect(readFileSync(join(dir, 'full', 'sem-visual.safetensors')).equals(before)).toBe(true);
    const replaced = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'full'), config: other, progress: false, stopAfterSteps: 1, replaceStale: true, onReady: () => (ready += 1) });
    expect(ready).toBe(1);
    expect(replaced.result.step).toBe(1);
    expect(replaced.movedAside).toMatch(/[/\\]full[/\\]stale-[0-9a-f]+$/);
    expect(readFileSync(join(replaced.movedAside!, 'sem-visual.safetensors')).equals(before)).toBe(true);
    expect(readdirSync(replaced.movedAside!).sort()).toEqual(['checkpoints', 'log.jsonl', 'sem-text.safetensors', 'sem-visual.safetensors', 'tokenizer.json', 'zero-shot.json']);
    expect(existsSync(join(dir, 'full', 'sem-visual.safetensors'))).toBe(false);
    // the same config resumes instead of being moved aside
    const again = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'full'), config: other, progress: false, stopAfterSteps: 2, replaceStale: true });
    expect(again.movedAside).toBeUndefined();
    expect(again.result.step).toBe(2);

    const model = buildModel(
      {
        appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
        sem: { backbone: { name: 'clip-vit-tiny' }, weights: rest.visualWeights!, input: { size: [32, 32], normalization: 'clip' } },
        fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } },
      },
      { numClasses: 2, rng: new Rng(5), log: null },
    );
    const fresh = buildModel({ appearance: { backbone: { name: 'resnet-tiny' } }, sem: { backbone: { name: 'clip-vit-tiny' } }, fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } } }, { numClasses: 2, rng: new Rng(5) });
    expect(Array.from(model.sem!.params.get('proj')!.dataSync())).not.toEqual(Array.from(fresh.sem!.params.get('proj')!.dataSync()));
    model.dispose();
    fresh.dispose();
  });
});

/**
 * A real learning check: a short seeded pretraining run (cheap towers, ~40 s on one wasm thread) on a 192-identity
 * world (768 captioned 32 px images, 48 identities held out) must put the zero-shot *balanced* accuracy (mean
 * per-class recall: a constant or prior-following guess scores 1/#classes, whatever the class imbalance of the
 * held-out set) of colour, type and view above that chance level by a margin. Single-threaded wasm is
 * deterministic, so the numbers are the same on every run. Measured (world + training seed 1 / 2 / 3), balanced
 * accuracy − balanced chance: colour +0.148 / +0.112 / +0.098, type +0.060 / +0.079 / +0.112,
 * view +0.219 / +0.213 / +0.355; plain accuracy: colour − chance +0.259 / +0.186 / +0.145, view − majority guess
 * +0.089 / +0.187 / +0.391 (type does not beat its majority guess in such a short run). The margins asserted are
 * about half the worst seed.
 */
const MARGIN_CONFIG: PretrainSemConfigInput = {
  image: { name: 'clip-vit', width: 32, layers: 2, heads: 2, patchSize: 8, imageSize: 32, outputDim: 64 },
  input: { size: [32, 32], normalization: 'clip' },
  text: { width: 16, layers: 1, heads: 2, contextLength: 26 },
  epochs: 5, batchSize: 16, workers: 0, holdoutFraction: 0.25, temperature: 0.05,
  optimizer: { name: 'adamw', lr: 5e-3, weightDecay: 0.05 },
};
const MARGIN = { colour: 0.05, type: 0.03, view: 0.1 } as const;

describe('SEM pretraining learns semantics', () => {
  it('zero-shot colour, type and view on held-out identities beat chance by a margin', async () => {
    const seed = 1;
    const world = generateSyntheticWorld({
      outDir: join(dir, 'margin-world'), seed, numTrainIds: 2, numTestIds: 2, numCameras: 4, camerasPerId: [2, 3], imagesPerIdPerCamera: [1, 1],
      queriesPerId: 1, imageSize: 32, idsPerModel: 4, numPretrainIds: 192, pretrainImagesPerId: 4,
    });
    const r = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'margin'), config: { ...MARGIN_CONFIG, seed }, progress: false });
    expect(r.identities).toEqual({ trainIdentities: 144, heldOutIdentities: 48, trainHeldOutOverlap: 0, reidOverlap: 0 });
    for (const attr of ['colour', 'type', 'view'] as const) {
      const a = r.zeroShot![attr];
      expect(a.numImages).toBe(192);
      expect(a.balancedAccuracy, attr).toBeGreaterThan(a.balancedChance + MARGIN[attr]);
    }
    expect(r.zeroShot!.colour.accuracy).toBeGreaterThan(r.zeroShot!.colour.chance + 0.07);
    expect(r.zeroShot!.view.accuracy).toBeGreaterThan(r.zeroShot!.view.majority + 0.04);
  }, 150_000);
});
