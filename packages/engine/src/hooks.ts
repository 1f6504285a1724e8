/**
 * Small training hooks: JSONL metrics log, NaN/Inf guard, tensor-leak guard, progress bar, periodic evaluation.
 * (Checkpointing is in checkpoint-hook.ts.)
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createProgress, tf, writeFileAtomic } from '@clip-senet/core';
import type { Progress, ProgressStream } from '@clip-senet/core';
import type { StepInfo, TrainContext, TrainHook, UpdateInfo } from './train';

/** A hook that also accepts extra records (e.g. evaluation results). */
export interface JsonlLogHook extends TrainHook {
  /** Append one record (a line of JSON), fsynced. */
  write(record: Readonly<Record<string, unknown>>): void;
}

/**
 * Append one JSON line per step — `{ type: 'step', step, epoch, lr, loss: { <term>: v, total }, grad_norm,
 * img_s, time }` — with `fsync` after every line, so a killed run loses at most the line being written. On a
 * resumed start, records of steps after the resume point (written after the checkpoint) are dropped first, so
 * the log reads as one uninterrupted run.
 */
export function jsonlLog(path: string): JsonlLogHook {
  let fd: number | undefined;
  const write = (record: Readonly<Record<string, unknown>>): void => {
    if (fd === undefined) throw new Error(`jsonlLog(${path}): not open (write before onStart or after onEnd)`);
    try {
      // writeSync may write part of the buffer (a disk filling up): loop, so the next call reports the error
      const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } catch (err) {
      // ENOSPC and friends name no file by themselves
      throw Object.assign(new Error(`Cannot append to ${path}: ${(err as Error).message}`, { cause: err }), { code: (err as NodeJS.ErrnoException).code });
    }
  };
  const close = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    name: 'jsonl-log',
    write,
    onStart(ctx: TrainContext) {
      if (existsSync(path)) {
        const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
        const keep = lines.filter((l, i) => {
          let rec: { type?: unknown; step?: unknown };
          try {
            rec = JSON.parse(l) as { type?: unknown; step?: unknown };
          } catch {
            // a torn last line from a killed run (every record starts `{"type":`); anything else is not our log
            if (i === lines.length - 1 && l.startsWith('{"type":')) return false;
            throw new Error(`${path}:${i + 1}: not a JSON line; this is not a training log of this toolkit — refusing to append to it`);
          }
          if (typeof rec.type !== 'string' || typeof rec.step !== 'number') {
            throw new Error(`${path}:${i + 1}: not a training log record (expected 'type' and 'step'); refusing to append to someone else's log`);
          }
          return rec.step <= ctx.step;
        });
        if (keep.length !== lines.length) writeFileAtomic(path, keep.map((l) => `${l}\n`).join(''));
      }
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, 'a');
    },
    onStepEnd(_ctx, s: StepInfo) {
      write({
        type: 'step', step: s.step + 1, epoch: s.epoch, lr: s.lr, loss: s.losses, grad_norm: s.gradNorm,
        img_s: s.imagesPerSecond, time: new Date().toISOString(),
      });
    },
    onEnd: close,
    onError: close,
  };
}

/** Thrown by {@link nonFiniteGuard}. */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
}

/**
 * Stops the run before a non-finite loss term or gradient reaches the weights. The update is not applied and no
 * checkpoint is written, so the latest checkpoint is the last good state.
 */
export function nonFiniteGuard(): TrainHook {
  return {
    name: 'non-finite-guard',
    beforeUpdate(_ctx, u: UpdateInfo) {
      const bad = Object.entries(u.losses).filter(([, v]) => !Number.isFinite(v));
      if (bad.length > 0 || !Number.isFinite(u.gradNorm)) {
        const what = [...bad.map(([k, v]) => `loss '${k}' = ${v}`), ...(Number.isFinite(u.gradNorm) ? [] : [`gradient norm = ${u.gradNorm}`])];
        throw new NonFiniteError(
          `Non-finite values at step ${u.step + 1} (epoch ${u.epoch}, lr ${u.lr}): ${what.join(', ')}. ` +
            'The update was not applied and no checkpoint was written; the latest checkpoint is the last good state. ' +
            'Try a lower lr or a longer warm-up.',
        );
      }
    },
  };
}

/** Thrown by {@link leakGuard}. */
export class TensorLeakError extends Error {
  override readonly name = 'TensorLeakError';
}

/** Options of {@link leakGuard}. */
export interface LeakGuardOptions {
  /** Steps run before the baseline is taken (default 2). */
  readonly warmupSteps?: number;
  /** Allowed growth of `tf.memory().numTensors` over the baseline (default 0). */
  readonly tolerance?: number;
}

/** Fails the run when the number of live tensors keeps growing across steps (a missing dispose/tidy). */
export function leakGuard(options: LeakGuardOptions = {}): TrainHook {
  const warmup = options.warmupSteps ?? 2;
  const tolerance = options.tolerance ?? 0;
  let seen = 0;
  let baseline: number | undefined;
  return {
    name: 'leak-guard',
    onStepEnd(_ctx, s: StepInfo) {
      seen += 1;
      const n = tf.memory().numTensors;
      if (seen === warmup) baseline = n;
      else if (baseline !== undefined && n - baseline > tolerance) {
        throw new TensorLeakError(
          `Tensor leak: ${n} live tensors after step ${s.step + 1}, ${n - baseline} more than after step ${s.step + 1 - (seen - warmup)} ` +
            `(tolerance ${tolerance}). Something creates tensors outside tf.tidy or forgets to dispose them.`,
        );
      }
    },
  };
}

/** Options of {@link progressHook}. */
export interface ProgressHookOptions {
  readonly label?: string;
  readonly stream?: ProgressStream;
  readonly isTTY?: boolean;
  readonly intervalMs?: number;
}

/** Progress bar with rate and ETA (core's `createProgress`), showing loss, lr and img/s. */
export function progressHook(options: ProgressHookOptions = {}): TrainHook {
  let bar: Progress | undefined;
  const finish = (): void => bar?.done();
  return {
    name: 'progress',
    onStart(ctx) {
      const total = ctx.totalSteps === undefined ? undefined : Math.max(0, ctx.totalSteps - ctx.step);
      bar = createProgress({ label: options.label ?? 'train', ...(total !== undefined ? { total } : {}), ...options });
    },
    onStepEnd(_ctx, s) {
      bar?.tick(1, { epoch: s.epoch, loss: s.losses.total!, lr: s.lr, 'img/s': Number(s.imagesPerSecond.toFixed(1)) });
    },
    onEnd: finish,
    onError: finish,
  };
}

/** Options of {@link evalHook}. */
export interface EvalHookOptions {
  /** Evaluate after every `everyEpochs` epochs (default 1). */
  readonly everyEpochs?: number;
  /** Also evaluate when the run completes, if the last epoch was not just evaluated (default true). */
  readonly atEnd?: boolean;
  /** Computes the metrics (switch the model to eval mode inside, and back). */
  evaluate(ctx: TrainContext): Promise<Readonly<Record<string, number>>> | Readonly<Record<string, number>>;
  /** Receives each result (e.g. a {@link JsonlLogHook}'s `write`). */
  onResult?(record: Readonly<Record<string, unknown>>): void;
}

/** Periodic evaluation. */
export function evalHook(options: EvalHookOptions): TrainHook {
  const every = options.everyEpochs ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new Error(`evalHook: everyEpochs must be ≥ 1, got ${every}`);
  let lastStep = -1;
  const run = async (ctx: TrainContext): Promise<void> => {
    const metrics = await options.evaluate(ctx);
    lastStep = ctx.step;
    options.onResult?.({ type: 'eval', step: ctx.step, epoch: ctx.epoch, metrics, time: new Date().toISOString() });
  };
  return {
    name: 'eval',
    async onEpochEnd(ctx, epoch) {
      if ((epoch + 1) % every === 0) await run(ctx);
    },
    async onEnd(ctx, result) {
      if (result.reason === 'completed' && (options.atEnd ?? true) && lastStep !== ctx.step) await run(ctx);
    },
  };
}
