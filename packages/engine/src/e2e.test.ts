import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, initBackend, Rng } from '@clip-senet/core';
import { createBatchLoader, createPKSampler, generateSyntheticWorld, loadVeRi776 } from '@clip-senet/datasets';
import type { PKSamplerState } from '@clip-senet/datasets';
import { buildLosses } from '@clip-senet/losses';
import { veri776 } from '@clip-senet/metrics';
import { checkpointHook, resumeState } from './checkpoint-hook';
import { samplerSource } from './data-source';
import { evaluateModel } from './evaluate';
import { jsonlLog, leakGuard, nonFiniteGuard } from './hooks';
import { buildModel } from './build-model';
import type { ModelConfigInput } from './model-config';
import { checkpointParams, modelLossFn, trainableVariables } from './model-loss';
import { buildOptimizer } from './optimizer-config';
import { buildSchedule } from './schedule';
import { runTraining } from './run';
import { train } from './train';

let dir: string;
beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'engine-e2e-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODEL: ModelConfigInput = {
  appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
  sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
  fusion: { name: 'clip-senet', outDim: 32, afem: { groups: 4 } },
};

describe('end to end on a tiny synthetic world', () => {
  it('trains CLIP-SENet (loss falls), resumes exactly from a checkpoint, and evaluates to a tagged results JSON', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 6, numTestIds: 4, numCameras: 4, camerasPerId: [2, 4], imagesPerIdPerCamera: [1, 2],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const ds = loadVeRi776(world.root, { ...world.manifest.readerOptions, strict: true });
    const STEPS = 12;

    const run = async (runDir: string, steps: number) => {
      const model = buildModel(MODEL, { numClasses: ds.numTrainIds, rng: new Rng(3407) });
      const losses = buildLosses([{ name: 'cross-entropy' }, { name: 'supcon' }]);
      const optimizer = buildOptimizer({ name: 'adam', lr: 3e-3 }, trainableVariables(model, losses));
      const params = checkpointParams(model, losses);
      const buffers = model.buffers;
      const resumed = resumeState(runDir, { params, buffers, optimizer });
      const sampler = createPKSampler(ds.train, { P: 3, K: 2, rng: new Rng(1), ...(resumed ? { state: resumed.data as PKSamplerState } : {}) });
      const loader = createBatchLoader({ branches: model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization, flipProb: 0.5 })), seed: 5, workers: 0 });
      const data = samplerSource(sampler, loader);
      const schedule = buildSchedule({ name: 'constant', unit: 'step', warmup: 2 }, { lr: 3e-3, totalSteps: STEPS });
      const hooks = [nonFiniteGuard(), jsonlLog(join(runDir, 'log.jsonl')), leakGuard(), checkpointHook({ dir: runDir, params, buffers, optimizer, everyEpochs: 0, everySteps: 4 })];
      const result = await train({ optimizer, schedule, data, lossFn: modelLossFn(model, losses), steps, hooks, signals: [], ...(resumed ? { start: resumed } : {}) });
      await data.close();
      await loader.close();
      const weights = Object.fromEntries([...params, ...buffers].map(([k, v]) => [k, Array.from(v.dataSync())]));
      return { model, losses, optimizer, loader, result, weights };
    };

    const full = await run(join(dir, 'full'), STEPS);
    expect(full.result).toMatchObject({ reason: 'completed', step: STEPS });
    const log = readFileSync(join(dir, 'full', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: Record<string, number> });
    expect(Object.keys(log[0]!.loss).sort()).toEqual(['cross-entropy', 'supcon', 'total']);
    const mean = (xs: { loss: Record<string, number> }[]): number => xs.reduce((s, x) => s + x.loss.total!, 0) / xs.length;
    expect(mean(log.slice(-3))).toBeLessThan(mean(log.slice(0, 3)));

    const evalLoader = createBatchLoader({ branches: full.model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization })), seed: 0, workers: 0 });
    const outFile = join(dir, 'results.json');
    const res = await evaluateModel(full.model, { query: ds.query, gallery: ds.gallery, protocol: veri776(), loader: evalLoader, flip: true, seed: 3407, outFile, batchSize: 16 });
    await evalLoader.close();
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual(res);
    expect(res).toMatchObject({ protocolId: 'veri776/no-rr/cosine/non-interp', flip: true, seed: 3407, backend: backendInfo()!.provenance, numQueryImages: ds.query.length, numGalleryImages: ds.gallery.length });
    expect(backendInfo()!.provenance).toBe(backendInfo()!.native?.active ? 'wasm+onednn' : 'wasm');
    expect(res.commit).toMatch(/^([0-9a-f]{4,}|unknown)$/);
    expect(res.mAP).toBeGreaterThan(0);
    expect(res.mAP).toBeLessThanOrEqual(1);

    const partDir = join(dir, 'part');
    const first = await run(partDir, 8);
    expect(first.result.step).toBe(8);
    const second = await run(partDir, STEPS);
    const differing = Object.keys(full.weights).filter((k) => JSON.stringify(second.weights[k]) !== JSON.stringify(full.weights[k]));
    expect(Object.keys(second.weights).sort()).toEqual(Object.keys(full.weights).sort());
    expect(differing).toEqual([]);
    for (const r of [full, first, second]) {
      r.model.dispose();
      r.losses.dispose();
      r.optimizer.dispose();
    }
  });

  it('runTraining: a run stopped after 5 steps and rerun equals an uninterrupted run, with results.json', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 6, numTestIds: 4, numCameras: 4, camerasPerId: [2, 4], imagesPerIdPerCamera: [1, 2],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const ds = loadVeRi776(world.root, { ...world.manifest.readerOptions, strict: true });
    const base = {
      train: ds.train, numClasses: ds.numTrainIds, model: MODEL, losses: [{ name: 'cross-entropy' as const }, { name: 'supcon' as const }],
      config: { epochs: 3, sampler: { P: 3, K: 2 }, optimizer: { name: 'adam' as const, lr: 3e-3 }, loader: { workers: 0 }, checkpoint: { everySteps: 5 } },
      evaluation: { query: ds.query, gallery: ds.gallery, protocol: veri776() }, progress: false, keepModel: true,
    };
    const weights = (m: { params: ReadonlyMap<string, { dataSync(): ArrayLike<number> }>; buffers: ReadonlyMap<string, { dataSync(): ArrayLike<number> }> }) =>
      Object.fromEntries([...m.params, ...m.buffers].map(([k, v]) => [k, JSON.stringify(Array.from(v.dataSync()))]));
    const full = await runTraining({ ...base, runDir: join(dir, 'run-full') });
    expect(full.result.reason).toBe('completed');
    expect(full.evaluation?.protocolId).toBe('veri776/no-rr/cosine/non-interp');
    expect(JSON.parse(readFileSync(join(dir, 'run-full', 'results.json'), 'utf8')).extra).toEqual({ configHash: full.configHash });

    const part = await runTraining({ ...base, runDir: join(dir, 'run-part'), stopAfterSteps: 5 });
    expect(part.result.step).toBe(5);
    expect(part.evaluation).toBeUndefined();
    part.model!.dispose();
    const rest = await runTraining({ ...base, runDir: join(dir, 'run-part') });
    expect(rest.result.step).toBe(full.result.step);
    const [a, b] = [weights(full.model!), weights(rest.model!)];
    expect(Object.keys(a).filter((k) => a[k] !== b[k])).toEqual([]);
    expect(rest.evaluation!.mAP).toBe(full.evaluation!.mAP);
    await expect(runTraining({ ...base, runDir: join(dir, 'run-part'), config: { ...base.config, seed: 1 } })).rejects.toThrow(/config hash/);
    full.model!.dispose();
    rest.model!.dispose();
  });

  it('runTraining with dataParallel (this process + 1 worker) trains through a worker thread and evaluates', async () => {
    const world = generateSyntheticWorld({
      outDir: join(dir, 'world'), numTrainIds: 6, numTestIds: 4, numCameras: 4, camerasPerId: [2, 4], imagesPerIdPerCamera: [1, 2],
      queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
    });
    const ds = loadVeRi776(world.root, { ...world.manifest.readerOptions, strict: true });
    const runDir = join(dir, 'run-dp');
    const out = await runTraining({
      runDir, train: ds.train, numClasses: ds.numTrainIds, model: MODEL, losses: [{ name: 'cross-entropy' }, { name: 'supcon' }],
      config: { epochs: 2, sampler: { P: 4, K: 2 }, optimizer: { name: 'adam', lr: 3e-3 }, loader: { workers: 0 }, dataParallel: { workers: 1, local: true } },
      evaluation: { query: ds.query, gallery: ds.gallery, protocol: veri776() }, progress: false,
    });
    expect(out.result.reason).toBe('completed');
    const log = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: Record<string, number> });
    expect(log.length).toBe(out.result.step);
    expect(log.every((l) => Number.isFinite(l.loss.total!) && Number.isFinite(l.loss.supcon!))).toBe(true);
    expect(out.evaluation!.mAP).toBeGreaterThan(0);
  });
});
