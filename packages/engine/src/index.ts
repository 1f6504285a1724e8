/**
 * @clip-senet/engine — the CLIP-SENet training engine: optimisers and lr schedules with exact state, atomic
 * checkpoints, the train loop and its hooks (log, guards, checkpoints, evaluation, progress).
 */

// optimisers
export { Adam, Sgd } from './optimizer';
export type { Optimizer, OptimizerMeta, NamedArray, AdamOptions, SgdOptions, OptimizerBaseOptions } from './optimizer';
export { OptimizerConfigSchema, AdamConfigSchema, AdamWConfigSchema, SgdConfigSchema, defaultOptimizerConfig, optimizers, buildOptimizer } from './optimizer-config';
export type { OptimizerConfig, OptimizerConfigInput } from './optimizer-config';

// schedules
export {
  ScheduleConfigSchema,
  ConstantScheduleConfigSchema,
  CosineScheduleConfigSchema,
  MultistepScheduleConfigSchema,
  defaultScheduleConfig,
  schedules,
  buildSchedule,
} from './schedule';
export type { Schedule, ScheduleConfig, ScheduleConfigInput, ScheduleContext } from './schedule';

// checkpoints
export {
  saveCheckpoint, loadCheckpoint, restoreCheckpoint, latestCheckpoint, findResumable, CheckpointDamagedError,
  CHECKPOINT_FORMAT, LATEST_FILE, CHECKSUM_KEY, DAMAGED_SUFFIX,
} from './checkpoint';
export type {
  CheckpointState, CheckpointContent, LoadedCheckpoint, RestoreTargets, SaveCheckpointOptions, LoadCheckpointOptions, ResumableCheckpoint, CheckpointLog,
} from './checkpoint';

// train loop + hooks
export { train, localGradients, yieldToEventLoop, DUPLICATE_SIGNAL_MS } from './train';
export type {
  TrainOptions, TrainContext, TrainHook, TrainResult, StepInfo, UpdateInfo, BatchSource, SourceBatch, LossFn, LossOutput, SignalTarget,
  ComputedGradients, GradientFn,
} from './train';
export { jsonlLog, nonFiniteGuard, leakGuard, progressHook, evalHook, NonFiniteError, TensorLeakError } from './hooks';
export type { JsonlLogHook, LeakGuardOptions, ProgressHookOptions, EvalHookOptions } from './hooks';
export { checkpointHook, resumeState } from './checkpoint-hook';
export { runHooks } from './run-hooks';
export type { RunHooksOptions } from './run-hooks';
export type { CheckpointHookOptions, ResumeTargets, ResumeOptions } from './checkpoint-hook';

// model assembly
export { ClipSenetModel, assembleModel } from './model';
export { buildModel } from './build-model';
export type { ModelInputs, ModelOutputs, BuildModelOptions } from './model';
export {
  ModelConfigSchema, AppearanceConfigSchema, SemConfigSchema, NeckConfigSchema, BranchInputConfigSchema, defaultModelConfig,
} from './model-config';
export type { ModelConfig, ModelConfigInput, BranchInputConfig } from './model-config';
export { modelLossFn, batchInputs, checkSideInfo, trainableVariables, checkpointParams } from './model-loss';

// data stream
export { samplerSource, shuffledSource, captionSample } from './data-source';
export type { ClosableBatchSource, ShuffledSourceOptions, ShuffledSourceState } from './data-source';

// evaluation + extraction
export { extractFeatures, evaluateModel, toEvalResults, folderSamples, writeFeatures, gitCommit } from './evaluate';
export type { FolderSampleOptions } from './evaluate';
export type { ExtractOptions, ExtractedFeatures, EvalResults, EvaluateModelOptions, EvalTags } from './evaluate';
export { rankedLists } from './ranked-lists';
export type { RankedQuery, RankedListsOptions } from './ranked-lists';

// run wiring (configs → model, losses, optimiser, data, hooks → train → final evaluation)
export { TrainConfigSchema, defaultTrainConfig } from './train-config';
export type { TrainConfig, TrainConfigInput } from './train-config';
export { runTraining } from './run';
export type { RunTrainingOptions, RunTrainingResult, RunEvaluation } from './run';

// SEM pretraining (small CLIP on synthetic captions) + zero-shot attribute accuracy
export { pretrainSem, pretrainSplit, PretrainSemConfigSchema, readCaptions, splitByIdentity } from './pretrain-sem';
export type { PretrainSemConfig, PretrainSemConfigInput, PretrainSemOptions, PretrainSemResult } from './pretrain-sem';
export { zeroShotAccuracy, probeAccuracy, embedImages, ZERO_SHOT_ATTRIBUTES } from './zero-shot';
export type { ZeroShotReport, ZeroShotAttribute, AttributeAccuracy } from './zero-shot';

// data-parallel training over worker processes
export { createDataParallel } from './data-parallel';
export type { DataParallel, DataParallelOptions, DataParallelProfile, ReplicaRecipe, Replica, Shard } from './data-parallel';
