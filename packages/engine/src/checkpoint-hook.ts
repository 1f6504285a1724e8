/**
 * The checkpoint hook (every N epochs and/or steps, at the end, and on SIGINT/SIGTERM) and `resumeState`, which
 * restores the latest checkpoint of a run folder into a freshly built model + optimiser.
 */
import type { Rng, RngState, Tensor, Variable } from '@clip-senet/core';
import { latestCheckpoint, loadCheckpoint, restoreCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint';
import type { Optimizer } from './optimizer';
import type { TrainContext, TrainHook } from './train';

/** Options of {@link checkpointHook}. */
export interface CheckpointHookOptions {
  readonly dir: string;
  /** All model tensors to save: trainable and frozen parameters. */
  readonly params: ReadonlyMap<string, Tensor>;
  readonly buffers?: ReadonlyMap<string, Tensor>;
  readonly optimizer: Optimizer;
  /** Live generators whose state is saved (e.g. augmentation or dropout streams). */
  readonly rngs?: Readonly<Record<string, Rng>>;
  readonly configHash?: string;
  /** Save after every `everyEpochs` epochs (default 1; 0 = never). */
  readonly everyEpochs?: number;
  /** Also save every `everySteps` steps (default 0 = never). */
  readonly everySteps?: number;
  /** Checkpoint files kept (default 2). */
  readonly keepLast?: number;
  /** Called with the path of every saved checkpoint. */
  readonly onSave?: (path: string, state: CheckpointState) => void;
}

/** Saves checkpoints on schedule, at the end of a run and when it is interrupted — never after an error. */
export function checkpointHook(options: CheckpointHookOptions): TrainHook {
  const everyEpochs = options.everyEpochs ?? 1;
  const everySteps = options.everySteps ?? 0;
  let lastSaved = -1;
  const save = (ctx: TrainContext): void => {
    if (lastSaved === ctx.step) return;
    const rngs: Record<string, RngState> = {};
    for (const [k, r] of Object.entries(options.rngs ?? {})) rngs[k] = r.state();
    const state = { step: ctx.step, epoch: ctx.epoch, rngs, data: ctx.data.state(), ...(options.configHash ? { configHash: options.configHash } : {}) };
    const path = saveCheckpoint(options.dir, { params: options.params, buffers: options.buffers, optimizer: options.optimizer, state }, { keepLast: options.keepLast });
    lastSaved = ctx.step;
    options.onSave?.(path, state);
  };
  return {
    name: 'checkpoint',
    onStart(ctx) {
      lastSaved = ctx.step; // the state we resumed from is already on disk
    },
    onStepEnd(ctx) {
      if (everySteps > 0 && ctx.step % everySteps === 0) save(ctx);
    },
    onEpochEnd(ctx, epoch) {
      if (everyEpochs > 0 && (epoch + 1) % everyEpochs === 0) save(ctx);
    },
    onEnd(ctx) {
      save(ctx);
    },
  };
}

/** What {@link resumeState} restores into. */
export interface ResumeTargets {
  readonly params: ReadonlyMap<string, Variable>;
  readonly buffers?: ReadonlyMap<string, Variable>;
  readonly optimizer: Optimizer;
  readonly configHash?: string;
}

/**
 * Restore the latest checkpoint in `dir` (validating everything) and return its state — `{ step, epoch }` for
 * `train({ start })`, `data` for the batch source, `rngs` for `Rng.fromState` — or undefined when `dir` holds
 * no checkpoint (a fresh run).
 */
export function resumeState(dir: string, targets: ResumeTargets): CheckpointState | undefined {
  const path = latestCheckpoint(dir);
  if (path === undefined) return undefined;
  return restoreCheckpoint(loadCheckpoint(path), targets);
}
