/**
 * Training on webgpu (issue 14), on a tiny synthetic world: a short CLIP-SENet run (resnet-tiny + clip-vit-tiny SEM,
 * clip-senet fusion with a camera embedding, cross-entropy + SupCon, Adam, flip-TTA evaluation) through
 * `runTraining` with the losses of cpu, and a device lost mid-run: the run stops with one line naming the step and
 * the checkpoint, and resuming from that checkpoint on a new device ends exactly as the uninterrupted run. In CI on
 * Mesa's llvmpipe (software GL); where no adapter exists it asserts the "no adapter" line instead (see
 * @clip-senet/core/webgpu-testing).
 *
 * Tolerance of the losses and gradient norms: 1e-4 relative to the largest (the test prints the difference it measured).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendInfo, expectNoLeaks, Rng, WebGPUDeviceError } from '@clip-senet/core';
import { loseWebGPUDeviceForTests, onBackend, relativeError, useWebGPUForTests, webgpuForTests, describeOnWebGPU } from '@clip-senet/core/webgpu-testing';
import { createBatchLoader, createPKSampler, generateSyntheticWorld, loadVeRi776, type PKSamplerState, type VeRi776Dataset } from '@clip-senet/datasets';
import { buildLosses } from '@clip-senet/losses';
import { veri776 } from '@clip-senet/metrics';
import { buildModel } from './build-model';
import { checkpointHook, resumeState } from './checkpoint-hook';
import { samplerSource } from './data-source';
import { jsonlLog, leakGuard, nonFiniteGuard } from './hooks';
import type { ModelConfigInput } from './model-config';
import { checkpointParams, modelLossFn, trainableVariables } from './model-loss';
import { buildOptimizer } from './optimizer-config';
import { runTraining } from './run';
import { buildSchedule } from './schedule';
import { train, type TrainHook } from './train';

const target = await webgpuForTests();
const LOSS_TOL = 1e-4;
const MODEL: ModelConfigInput = {
  appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
  sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
  fusion: { name: 'clip-senet', outDim: 32, afem: { groups: 4 }, cameraView: { numCameras: 4 } },
};
const LOSSES = [{ name: 'cross-entropy' as const }, { name: 'supcon' as const }];

let dir: string;
let ds: VeRi776Dataset;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'engine-webgpu-'));
  const world = generateSyntheticWorld({
    outDir: join(dir, 'world'), numTrainIds: 6, numTestIds: 4, numCameras: 4, camerasPerId: [2, 4], imagesPerIdPerCamera: [1, 2],
    queriesPerId: 1, imageSize: 32, numPretrainIds: 0,
  });
  ds = loadVeRi776(world.root, { ...world.manifest.readerOptions, strict: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type LogLine = { step: number; loss: Record<string, number>; grad_norm: number };
const logOf = (runDir: string, file = 'log.jsonl'): LogLine[] =>
  readFileSync(join(runDir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine & { type: string }).filter((l) => l.type === 'step');
/** Every logged number of a run (each loss term and the gradient norm, per step). */
const numbersOf = (log: LogLine[]): number[] => log.flatMap((l) => [...Object.values(l.loss), l.grad_norm]);

/** runTraining on `backend`; throws when the run leaks a tensor. */
async function trainRun(backend: 'webgpu' | 'cpu'): Promise<{ log: LogLine[]; mAP: number; rank1: number; provenance: string }> {
  await onBackend(backend);
  return expectNoLeaks(async () => {
    const runDir = join(dir, `run-${backend}`);
    const out = await runTraining({
      runDir, train: ds.train, numClasses: ds.numTrainIds, model: MODEL, losses: LOSSES,
      config: { epochs: 2, maxSteps: 6, sampler: { P: 3, K: 2 }, optimizer: { name: 'adam', lr: 3e-3 }, loader: { workers: 0 }, checkpoint: { everySteps: 3 }, eval: { flip: true, batchSize: 8 } },
      evaluation: { query: ds.query, gallery: ds.gallery, protocol: veri776() }, progress: false,
    });
    expect(out.result.reason).toBe('completed');
    return { log: logOf(runDir), mAP: out.evaluation!.mAP, rank1: out.evaluation!.rank1, provenance: backendInfo()!.provenance };
  }, `runTraining on ${backend}`);
}

/** The pieces of a hand-wired run (as runTraining wires it) that can be interrupted by a hook. */
async function handRun(runDir: string, steps: number, extra: TrainHook[] = []): Promise<{ dispose(): void; result?: unknown; error?: unknown }> {
  const model = buildModel(MODEL, { numClasses: ds.numTrainIds, rng: new Rng(3407) });
  const losses = buildLosses(LOSSES);
  const optimizer = buildOptimizer({ name: 'adam', lr: 3e-3 }, trainableVariables(model, losses));
  const params = checkpointParams(model, losses);
  const buffers = model.buffers;
  const resumed = resumeState(runDir, { params, buffers, optimizer, configHash: 'webgpu-test' });
  const sampler = createPKSampler(ds.train, { P: 3, K: 2, rng: new Rng(1), ...(resumed ? { state: resumed.data as PKSamplerState } : {}) });
  const loader = createBatchLoader({ branches: model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization, flipProb: 0.5 })), seed: 5, workers: 0 });
  const data = samplerSource(sampler, loader);
  const schedule = buildSchedule({ name: 'constant', unit: 'step', warmup: 2 }, { lr: 3e-3, totalSteps: steps });
  const hooks = [nonFiniteGuard(), jsonlLog(join(runDir, 'log.jsonl')), leakGuard(), checkpointHook({ dir: runDir, params, buffers, optimizer, configHash: 'webgpu-test', everyEpochs: 0, everySteps: 2 }), ...extra];
  const outcome: { result?: unknown; error?: unknown } = {};
  try {
    outcome.result = await train({ optimizer, schedule, data, lossFn: modelLossFn(model, losses), steps, hooks, signals: [], ...(resumed ? { start: resumed } : {}) });
  } catch (err) {
    outcome.error = err;
  }
  await data.close();
  await loader.close();
  return {
    ...outcome,
    dispose: () => {
      model.dispose();
      losses.dispose();
      optimizer.dispose();
    },
  };
}

describeOnWebGPU({ describe, it, expect }, 'training on webgpu', target, ({ where, adapter }) => {

  it(`runTraining: 6 steps of a tiny CLIP-SENet on ${where} log cpu's losses and gradient norms (relative ${LOSS_TOL}) and evaluate (flip TTA) to cpu's mAP; no leaks`, async () => {
    const gpu = await trainRun('webgpu');
    const cpu = await trainRun('cpu');
    expect(gpu.provenance).toBe(adapter.software ? 'webgpu+software' : 'webgpu');
    expect(cpu.provenance).toBe('cpu');
    expect(gpu.log.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(cpu.log.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Object.keys(gpu.log[0]!.loss).sort()).toEqual(['cross-entropy', 'supcon', 'total']);
    const worst = relativeError(numbersOf(gpu.log), numbersOf(cpu.log));
    process.stderr.write(`[webgpu tests] runTraining, webgpu vs cpu: largest difference of a logged loss or gradient norm ${worst.toExponential(1)} of the largest\n`);
    expect(worst).toBeLessThan(LOSS_TOL);
    expect(Math.abs(gpu.mAP - cpu.mAP)).toBeLessThan(1e-6);
    expect(gpu.rank1).toBe(cpu.rank1);
  });

  it('a device lost mid-run stops with one line naming the step and the checkpoint; the resumed run (new device) ends as the uninterrupted one', async () => {
    await useWebGPUForTests();
    const full = await handRun(join(dir, 'hand-full'), 6);
    expect(full.error).toBeUndefined();
    full.dispose();

    const partDir = join(dir, 'hand-part');
    const loser: TrainHook = { name: 'device-loser', onStepEnd: (ctx) => void (ctx.step === 3 && loseWebGPUDeviceForTests()) };
    const part = await handRun(partDir, 6, [loser]);
    expect(part.error).toBeInstanceOf(WebGPUDeviceError);
    const line = (part.error as Error).message;
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^webgpu device lost \(simulated by a test\); everything on it is gone; the run stopped at step 3, before anything after the loss was saved; resume from its latest checkpoint, .*ckpt-step-00000002\.safetensors \(step 2\), on this or any backend \(clip-senet train --resume\)$/);
    part.dispose();
    expect(logOf(partDir).map((l) => l.step)).toEqual([1, 2, 3]);

    await useWebGPUForTests(); // a new device
    const rest = await handRun(partDir, 6);
    expect(rest.error).toBeUndefined();
    rest.dispose();
    // steps 3–6 redone from the step-2 checkpoint: the log reads as the uninterrupted run, number for number
    expect(logOf(partDir).map((l) => [l.step, l.loss, l.grad_norm])).toEqual(logOf(join(dir, 'hand-full')).map((l) => [l.step, l.loss, l.grad_norm]));
  });
});
