/**
 * The checkpoint hook (every N epochs and/or steps, at the end, and on SIGINT/SIGTERM) and `resumeState`, which
 * restores the latest checkpoint of a run folder into a freshly built model + optimiser — or, when that one is
 * damaged, the previous one that verifies, saying so.
 */
import { existsSync } from 'node:fs';
import { WebGPUDeviceError, type Rng, type RngState, type Tensor, type Variable } from '@clip-senet/core';
import {
  CheckpointDamagedError, findResumable, latestCheckpoint, pointLatestAt, restoreCheckpoint, saveCheckpoint, setAsideDamaged,
  type CheckpointLog, type CheckpointState,
} from './checkpoint';
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
  /** Where removed stale temporary files are reported (default `console.warn`). */
  readonly log?: CheckpointLog;
}

/**
 * Saves checkpoints on schedule, at the end of a run and when it is interrupted — never after an error. When the
 * GPU device is lost (or refused a kernel) the weights on it are gone, so nothing can be saved: the error's one line
 * then also names the step the run stopped at and the checkpoint to resume from.
 */
export function checkpointHook(options: CheckpointHookOptions): TrainHook {
  const everyEpochs = options.everyEpochs ?? 1;
  const everySteps = options.everySteps ?? 0;
  let lastSaved = -1;
  const save = async (ctx: TrainContext): Promise<void> => {
    if (lastSaved === ctx.step) return;
    const rngs: Record<string, RngState> = {};
    for (const [k, r] of Object.entries(options.rngs ?? {})) rngs[k] = r.state();
    const state = { step: ctx.step, epoch: ctx.epoch, rngs, data: ctx.data.state(), ...(options.configHash ? { configHash: options.configHash } : {}) };
    const path = await saveCheckpoint(options.dir, { params: options.params, buffers: options.buffers, optimizer: options.optimizer, state }, { keepLast: options.keepLast, log: options.log });
    lastSaved = ctx.step;
    options.onSave?.(path, state);
  };
  return {
    name: 'checkpoint',
    onStart(ctx) {
      lastSaved = ctx.step; // the state we resumed from is already on disk
    },
    async onStepEnd(ctx) {
      if (everySteps > 0 && ctx.step % everySteps === 0) await save(ctx);
    },
    async onEpochEnd(ctx, epoch) {
      if (everyEpochs > 0 && (epoch + 1) % everyEpochs === 0) await save(ctx);
    },
    async onEnd(ctx) {
      await save(ctx);
    },
    onError(ctx, error) {
      if (!(error instanceof WebGPUDeviceError)) return;
      let latest: string | undefined;
      try {
        latest = latestCheckpoint(options.dir);
      } catch {
        latest = undefined; // a damaged pointer: resumeState reports it when the run resumes
      }
      const from = latest ? `resume from its latest checkpoint, ${latest} (step ${lastSaved})` : 'it has no checkpoint yet, so a resume starts from step 0';
      error.addNote(`the run stopped at step ${ctx.step}, before anything after the loss was saved; ${from}, on this or any backend (clip-senet train --resume)`);
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

/** Options of {@link resumeState}. */
export interface ResumeOptions {
  /**
   * When the latest checkpoint (or `latest.json`) is damaged, resume from the newest older checkpoint that
   * verifies (default true; a line says which was damaged and which is used). `false`: throw instead, naming both.
   */
  readonly fallback?: boolean;
  /** Where the fallback (and unverified pre-checksum checkpoints) are reported (default `console.warn`). */
  readonly log?: CheckpointLog;
}

/**
 * Restore the latest checkpoint in `dir` (verifying its checksum, validating everything) and return its state —
 * `{ step, epoch }` for `train({ start })`, `data` for the batch source, `rngs` for `Rng.fromState` — or undefined
 * when `dir` holds no checkpoint (a fresh run).
 *
 * A damaged latest checkpoint or `latest.json` is never loaded. With `fallback` (default) the run resumes from the
 * newest older checkpoint that verifies — training is deterministic, so it redoes the lost steps exactly — after
 * printing which file was damaged (and why) and which checkpoint is used; once that checkpoint is restored the
 * damaged files are renamed `<name>.damaged` (kept, never pruned) and `latest.json` points at it.
 *
 * @throws CheckpointDamagedError when no checkpoint verifies, or (`fallback: false`) naming the damaged file and
 *   the usable one; the restore errors of {@link restoreCheckpoint} (mismatched run: no fallback).
 */
export function resumeState(dir: string, targets: ResumeTargets, options: ResumeOptions = {}): CheckpointState | undefined {
  const log = options.log === undefined ? (l: string) => console.warn(l) : options.log ?? (() => {});
  const found = findResumable(dir, { log });
  if (found === undefined) return undefined;
  const { checkpoint, damaged } = found;
  if (damaged.length === 0) return restoreCheckpoint(checkpoint!, targets);
  const what = damaged.map((d) => d.message).join('\n  ');
  if (!checkpoint) {
    throw new CheckpointDamagedError(damaged[0]!.path, damaged[0]!.reason, `Cannot resume from ${dir}: no checkpoint verifies\n  ${what}\n  (move the folder aside to start afresh)`);
  }
  const used = `${checkpoint.path} (step ${checkpoint.state.step})`;
  if (options.fallback === false) {
    throw new CheckpointDamagedError(damaged[0]!.path, damaged[0]!.reason, `${what}\n  checkpoint ${used} verifies: resume with fallback (the default) to use it`);
  }
  log(`resume: ${what}\n  → resuming from ${used} instead, the newest checkpoint that verifies`);
  const state = restoreCheckpoint(checkpoint, targets);
  for (const d of damaged) if (existsSync(d.path)) log(`resume: kept the damaged ${d.path} as ${setAsideDamaged(d.path)}`);
  pointLatestAt(checkpoint);
  return state;
}
