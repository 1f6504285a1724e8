import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng } from '@clip-senet/core';
import { generateSyntheticWorld } from '@clip-senet/datasets';
import { buildModel } from './model';
import { pretrainSem, readCaptions, splitByIdentity, type PretrainSemConfigInput } from './pretrain-sem';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-sem-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG: PretrainSemConfigInput = { epochs: 5, batchSize: 16, workers: 0, holdoutFraction: 0.25, optimizer: { name: 'adamw', lr: 2e-3, weightDecay: 0.01 } };

describe('SEM pretraining (small CLIP on synthetic captions)', () => {
  it('loss falls, resumes exactly, saves an OpenAI-layout image tower the SEM loads strictly, reports zero-shot accuracy', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 2, numTestIds: 2, numCameras: 3, camerasPerId: [2, 3], imagesPerIdPerCamera: [1, 1],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 16, pretrainImagesPerId: 4,
    });
    const records = readCaptions(world.root);
    expect(records).toHaveLength(64);
    const split = splitByIdentity(records, 0.25, new Rng(1));
    expect(split.heldOut.length).toBe(16);
    expect(split.train.some((r) => split.heldOut.some((h) => h.vehicleId === r.vehicleId))).toBe(false);

    const full = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'full'), config: CONFIG, progress: false });
    expect(full.result.reason).toBe('completed');
    const log = readFileSync(join(dir, 'full', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: Record<string, number> });
    const mean = (xs: typeof log): number => xs.reduce((s, x) => s + x.loss['clip-infonce']!, 0) / xs.length;
    expect(mean(log.slice(-3))).toBeLessThan(mean(log.slice(0, 3)));
    const report = JSON.parse(readFileSync(join(dir, 'full', 'zero-shot.json'), 'utf8'));
    for (const attr of ['colour', 'type', 'view']) {
      expect(report[attr].accuracy).toBeGreaterThanOrEqual(0);
      expect(report[attr].accuracy).toBeLessThanOrEqual(1);
      expect(report[attr].chance).toBeCloseTo(1 / report[attr].classes.length, 12);
    }

    const part = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'part'), config: CONFIG, progress: false, stopAfterSteps: 7 });
    expect(part.result.step).toBe(7);
    expect(part.visualWeights).toBeUndefined();
    const rest = await pretrainSem({ worldRoot: world.root, outDir: join(dir, 'part'), config: CONFIG, progress: false });
    expect(readFileSync(rest.visualWeights!).equals(readFileSync(full.visualWeights!))).toBe(true);
    expect(rest.zeroShot).toEqual(full.zeroShot);

    const model = buildModel(
      {
        appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
        sem: { backbone: { name: 'clip-vit-tiny' }, weights: full.visualWeights!, input: { size: [32, 32], normalization: 'clip' } },
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
