/**
 * `runTraining`: wires one training run from configs — model, losses, optimiser, schedule, P×K sampler, batch
 * loader, hooks (guards, JSONL log, progress, checkpoints, evaluation) — resumes from the run folder's latest
 * checkpoint when there is one, trains, and evaluates at the end. Wiring only: the loop is `train`, every
 * extra is a hook.
 *
 * Run folder: `checkpoints/` (safetensors + latest.json), `log.jsonl` (steps and evaluations), `results.json`
 * (final evaluation, tagged with protocol, seed, backend, commit).
 */
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configIdentity, Rng, validated } from '@clip-senet/core';
import { createBatchLoader, createPKSampler, type BatchLoader, type PKSamplerState, type Sample, type TransformOptions } from '@clip-senet/datasets';
import { LossesConfigSchema, type LossesConfigInput, type LossSet } from '@clip-senet/losses';
import type { QueryGalleryProtocol } from '@clip-senet/metrics';
import { resumeState } from './checkpoint-hook';
import { samplerSource } from './data-source';
import { evaluateModel, type EvalResults } from './evaluate';
import { evalHook, jsonlLog } from './hooks';
import { runHooks } from './run-hooks';
import type { ClipSenetModel } from './model';
import { ModelConfigSchema, type ModelConfigInput } from './model-config';
import { buildModelAndLosses } from './model-and-losses';
import { checkpointParams, modelLossFn, trainableVariables } from './model-loss';
import { buildOptimizer } from './optimizer-config';
import type { Optimizer } from './optimizer';
import { buildSchedule } from './schedule';
import { TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './train-config';
import { train, type GradientFn, type TrainResult } from './train';
import { createDataParallel, type DataParallel } from './data-parallel';
import { replicaOf, splitLoadedBatch, type ClipSenetReplicaArgs } from './model-replica';
import type { LoadedBatch } from '@clip-senet/datasets';

/** Evaluation data of a run. */
export interface RunEvaluation {
  readonly query: readonly Sample[];
  readonly gallery: readonly Sample[];
  readonly protocol: QueryGalleryProtocol;
}

/** Options of {@link runTraining}. */
export interface RunTrainingOptions {
  readonly runDir: string;
  /** Training samples with contiguous `label`s. */
  readonly train: readonly Sample[];
  readonly numClasses: number;
  readonly model: ModelConfigInput;
  readonly losses: LossesConfigInput;
  readonly config: TrainConfigInput;
  readonly evaluation?: RunEvaluation;
  /** Stop (with a checkpoint) after this many steps without changing the config (tests, time-boxed runs). */
  readonly stopAfterSteps?: number;
  /** Show a progress bar (default true). */
  readonly progress?: boolean;
  /**
   * Identity of the run that checkpoints must match to be resumed: core's `configIdentity` key (default: of the
   * validated model, losses and train configs). `clip-senet train` passes its run's key (the whole experiment config
   * as written, with its weights files' digests), so a run folder still resumes after the repository moves and
   * refuses a checkpoint made with other weights.
   */
  readonly configHash?: string;
  /** Keep the model alive and return it (caller disposes it; optimiser and losses are freed); default false. */
  readonly keepModel?: boolean;
}

/** What a run produced. */
export interface RunTrainingResult {
  readonly result: TrainResult;
  readonly configHash: string;
  /** Final evaluation (when the run completed and evaluation data was given). */
  readonly evaluation?: EvalResults;
  readonly model?: ClipSenetModel;
}

interface Built {
  readonly model: ClipSenetModel;
  readonly losses: LossSet;
  readonly optimizer: Optimizer;
  dispose(): void;
}

function build(opts: RunTrainingOptions, cfg: TrainConfig): Built {
  const { model, losses } = buildModelAndLosses({ model: opts.model, losses: opts.losses, numClasses: opts.numClasses, seed: cfg.seed });
  const optimizer = buildOptimizer(cfg.optimizer, trainableVariables(model, losses));
  return {
    model, losses, optimizer,
    dispose() {
      optimizer.dispose();
      losses.dispose();
      model.dispose();
    },
  };
}

function loaderFor(model: ClipSenetModel, cfg: TrainConfig, seed: number, augment: boolean): BatchLoader {
  const a = cfg.augment;
  const branches: TransformOptions[] = model.branchInputs().map((b) => ({
    size: b.size, normalization: b.normalization,
    ...(augment ? { flipProb: a.flipProb, pad: a.pad, ...(a.randomErasing ? { erasing: {} } : {}) } : {}),
  }));
  return createBatchLoader({ branches, seed, prefetch: cfg.loader.prefetch, ...(cfg.loader.workers !== null ? { workers: cfg.loader.workers } : {}) });
}

/** Train (or resume) one run and evaluate it at the end. */
export async function runTraining(opts: RunTrainingOptions): Promise<RunTrainingResult> {
  const cfg = validated(TrainConfigSchema, opts.config);
  const configHash = opts.configHash ?? configIdentity({ model: validated(ModelConfigSchema, opts.model), losses: validated(LossesConfigSchema, opts.losses), train: cfg }).key;
  const rng = new Rng(cfg.seed);
  const b = build(opts, cfg);
  const ckptDir = join(opts.runDir, 'checkpoints');
  const params = checkpointParams(b.model, b.losses);
  const buffers = b.model.buffers;
  const loaders: BatchLoader[] = [];
  let dp: DataParallel<LoadedBatch> | undefined;
  try {
    let gradients: GradientFn<LoadedBatch> | undefined;
    if (cfg.dataParallel.workers > 0) {
      const args: ClipSenetReplicaArgs = { model: opts.model, losses: opts.losses, numClasses: opts.numClasses, seed: cfg.seed };
      // model-replica.ts beside this file from source, model-replica.js in a build (dist/)
      const module = fileURLToPath(new URL(`./model-replica${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
      dp = await createDataParallel<LoadedBatch>({
        recipe: { module, exportName: 'clipSenetReplica', args }, workers: cfg.dataParallel.workers, split: splitLoadedBatch,
        ...(cfg.dataParallel.local ? { local: replicaOf(b.model, b.losses) } : {}),
      });
      gradients = dp.gradients(b.optimizer.params, buffers);
    }
    const resumed = resumeState(ckptDir, { params, buffers, optimizer: b.optimizer, configHash });
    const sampler = createPKSampler(opts.train, { P: cfg.sampler.P, K: cfg.sampler.K, rng: rng.derive('sampler'), ...(resumed ? { state: resumed.data as PKSamplerState } : {}) });
    const stepsPerEpoch = sampler.epochPlan(0).length;
    const totalSteps = cfg.maxSteps ?? cfg.epochs * stepsPerEpoch;
    const trainLoader = loaderFor(b.model, cfg, rng.derive('augment').uint32(), true);
    loaders.push(trainLoader);
    const data = samplerSource(sampler, trainLoader);
    const evaluate = async (outFile?: string): Promise<EvalResults> => {
      const ev = opts.evaluation!;
      const loader = loaderFor(b.model, cfg, 0, false);
      try {
        return await evaluateModel(b.model, { ...ev, loader, flip: cfg.eval.flip, batchSize: cfg.eval.batchSize, seed: cfg.seed, extra: { configHash }, ...(outFile ? { outFile, rankedLists: cfg.eval.rankedLists } : {}) });
      } finally {
        await loader.close();
      }
    };
    const log = jsonlLog(join(opts.runDir, 'log.jsonl'));
    const hooks = runHooks({
      nonFinite: cfg.guards.nonFinite, log, leakTolerance: cfg.guards.leakTolerance, progress: opts.progress ?? true ? {} : false,
      extra: opts.evaluation && cfg.eval.everyEpochs > 0
        ? [evalHook({ everyEpochs: cfg.eval.everyEpochs, atEnd: false, evaluate: async () => pickMetrics(await evaluate()), onResult: (r) => log.write(r) })]
        : [],
      checkpoint: { dir: ckptDir, params, buffers, optimizer: b.optimizer, configHash, ...cfg.checkpoint },
    });
    const steps = Math.min(totalSteps, opts.stopAfterSteps ?? Infinity);
    const schedule = buildSchedule(cfg.schedule, { lr: cfg.optimizer.lr, totalSteps, stepsPerEpoch });
    const result = await train({
      optimizer: b.optimizer, schedule, data, lossFn: modelLossFn(b.model, b.losses), steps, epochs: cfg.epochs, stepsPerEpoch, hooks,
      ...(gradients ? { gradients } : {}),
      ...(resumed ? { start: { step: resumed.step, epoch: resumed.epoch } } : {}),
    });
    await data.close();
    const finished = result.reason === 'completed' && (result.step >= totalSteps || result.epoch >= cfg.epochs);
    const evaluation = finished && opts.evaluation ? await evaluate(join(opts.runDir, 'results.json')) : undefined;
    return { result, configHash, ...(evaluation ? { evaluation } : {}), ...(opts.keepModel ? { model: b.model } : {}) };
  } finally {
    await dp?.close();
    for (const l of loaders) await l.close();
    if (opts.keepModel) {
      b.optimizer.dispose();
      b.losses.dispose();
    } else b.dispose();
  }
}

function pickMetrics(r: EvalResults): Record<string, number> {
  return { mAP: r.mAP, rank1: r.rank1, rank5: r.rank5, mINP: r.mINP };
}
