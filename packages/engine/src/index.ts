/**
 * @clip-senet/engine — optimisers and lr schedules with exact, checkpointable state.
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
export { saveCheckpoint, loadCheckpoint, restoreCheckpoint, latestCheckpoint, hashConfig, CHECKPOINT_FORMAT, LATEST_FILE } from './checkpoint';
export type { CheckpointState, CheckpointContent, LoadedCheckpoint, RestoreTargets, SaveCheckpointOptions } from './checkpoint';
