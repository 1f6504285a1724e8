/**
 * The training loop: forward → loss → backward → optimiser step, nothing else. Logging, evaluation,
 * checkpoints, guards and progress are {@link TrainHook}s (hooks.ts and friends), so the loop stays small and
 * every extra is optional and testable alone.
 *
 * Determinism: the loop draws no randomness itself; the lr is a pure function of the step, the data stream's
 * position is captured by `data.state()`, and the optimiser state is exact — so restoring a checkpoint
 * continues bit-identically on the same backend.
 *
 * SIGINT / SIGTERM (while `train` runs) request a stop: the current step finishes, hooks' `onEnd` runs with
 * reason `'interrupted'` (the checkpoint hook saves there) and `train` resolves; a second signal exits at once
 * (one within {@link DUPLICATE_SIGNAL_MS} of the first is taken as the same request delivered twice).
 * The loop yields to the event loop after every step ({@link yieldToEventLoop}): a step on one wasm thread is
 * synchronous and a prefetched batch resolves as a microtask, so without that turn neither a signal handler nor a
 * timer (the parent-watch of trainers started by the ablation runner) would run before the run ends.
 * Errors (a guard, a failed hook) call `onError` and rethrow — no checkpoint is written then, so the last good
 * one stays the latest.
 */
import { tf } from '@clip-senet/core';
import type { Scalar, Tensor, Variable } from '@clip-senet/core';
import type { Optimizer } from './optimizer';
import type { Schedule } from './schedule';

/** One batch from a {@link BatchSource} with its place in the stream. */
export interface SourceBatch<B> {
  readonly batch: B;
  readonly epoch: number;
  /** Index of the batch within its epoch. */
  readonly index: number;
  /** Whether it is the epoch's last batch (the loop then ends the epoch). */
  readonly lastInEpoch: boolean;
  /** Number of images (for img/s). */
  readonly size: number;
}

/** A resumable stream of batches. */
export interface BatchSource<B> {
  next(): Promise<SourceBatch<B>> | SourceBatch<B>;
  /** JSON position after the last batch returned by `next` (stored in checkpoints). */
  state(): unknown;
  /** Free a batch after its step (e.g. dispose its tensors). */
  release?(batch: B): void;
}

/** What a loss function returns: the scalar to minimise and every named term (logged). */
export interface LossOutput {
  readonly total: Scalar;
  readonly terms: Readonly<Record<string, Scalar>>;
}

/** Computes the loss of one batch (called inside `tf.variableGrads`; intermediate tensors are freed). */
export type LossFn<B> = (batch: B, ctx: TrainContext) => LossOutput;

/** Live state of a run, shared with hooks. */
export interface TrainContext {
  /** Optimiser steps completed (0-based index of the next step). */
  step: number;
  /** Epoch the next step belongs to. */
  epoch: number;
  /** Step at which the run stops, when known (`steps`, or `epochs × stepsPerEpoch`). */
  readonly totalSteps: number | undefined;
  readonly epochs: number | undefined;
  /** Step this invocation started from (> 0 when resumed). */
  readonly startStep: number;
  readonly optimizer: Optimizer;
  readonly data: BatchSource<unknown>;
  /** Set when a stop was requested (signal name or a hook's reason). */
  stopRequested: string | undefined;
}

/** Numbers of one step before the update is applied. */
export interface UpdateInfo {
  /** 0-based index of this step. */
  readonly step: number;
  readonly epoch: number;
  readonly lr: number;
  /** Named loss terms plus `total`. */
  readonly losses: Readonly<Record<string, number>>;
  /** Global L2 norm of all gradients. */
  readonly gradNorm: number;
}

/** Numbers of one completed step. */
export interface StepInfo extends UpdateInfo {
  readonly index: number;
  readonly images: number;
  /** Wall time of the step including waiting for data. */
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/** How a run ended. */
export interface TrainResult {
  readonly reason: 'completed' | 'interrupted';
  /** Signal or hook reason when interrupted. */
  readonly stoppedBy?: string;
  readonly step: number;
  readonly epoch: number;
}

/** A training extension; every method is optional and may be async. */
export interface TrainHook {
  readonly name: string;
  onStart?(ctx: TrainContext): void | Promise<void>;
  /** After backward, before the optimiser step; throwing aborts the run without updating (guards). */
  beforeUpdate?(ctx: TrainContext, info: UpdateInfo): void;
  onStepEnd?(ctx: TrainContext, info: StepInfo): void | Promise<void>;
  /** `epoch` just finished (`ctx.epoch` is already the next one). */
  onEpochEnd?(ctx: TrainContext, epoch: number): void | Promise<void>;
  onEnd?(ctx: TrainContext, result: TrainResult): void | Promise<void>;
  onError?(ctx: TrainContext, error: unknown): void | Promise<void>;
}

/** Something to listen to signals on (default `process`). */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Options of {@link train}. */
export interface TrainOptions<B> {
  readonly optimizer: Optimizer;
  readonly schedule: Schedule;
  readonly data: BatchSource<B>;
  readonly lossFn: LossFn<B>;
  /** Compute gradients elsewhere (data-parallel); default: `lossFn` in this process. */
  readonly gradients?: GradientFn<B>;
  /** Stop when this many steps are completed (counting resumed ones). */
  readonly steps?: number;
  /** Stop when this many epochs are completed. */
  readonly epochs?: number;
  /** Batches per epoch, when known: gives progress hooks a total for runs bounded by `epochs`. */
  readonly stepsPerEpoch?: number;
  /** Resume point (from a checkpoint's state). */
  readonly start?: { readonly step: number; readonly epoch: number };
  readonly hooks?: readonly TrainHook[];
  /** Signals that request a graceful stop (default SIGINT, SIGTERM; [] disables). */
  readonly signals?: readonly NodeJS.Signals[];
  readonly signalTarget?: SignalTarget;
}

function finite(n: number | undefined, what: string): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new Error(`train: ${what} must be an integer ≥ 0, got ${n}`);
}

function totalSteps<B>(opts: TrainOptions<B>): number | undefined {
  const byEpochs = opts.epochs !== undefined && opts.stepsPerEpoch !== undefined ? opts.epochs * opts.stepsPerEpoch : undefined;
  if (opts.steps === undefined) return byEpochs;
  return byEpochs === undefined ? opts.steps : Math.min(opts.steps, byEpochs);
}

/** Gradients and loss values of one batch (tensors owned by the receiver). */
export interface ComputedGradients {
  /** Gradient per trainable parameter name (parameters without one are not updated). */
  readonly grads: Map<string, Tensor>;
  /** Named loss terms plus `total`. */
  readonly losses: Record<string, number>;
  /** Global L2 norm of `grads`, when the producer read it with the losses (else the loop computes it). */
  readonly gradNorm?: number;
}

/** Computes the gradients of a batch somewhere else (e.g. data-parallel worker processes). */
export type GradientFn<B> = (batch: B, ctx: TrainContext) => Promise<ComputedGradients>;

/** Global L2 norm of `grads` as a scalar tensor (in the map's order, so the same bits on every call). */
function gradNormOf(grads: ReadonlyMap<string, Tensor>): Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))) as Scalar);
}

/**
 * The values of scalar tensors, read in one transfer: `await data()`, never `dataSync()` — a synchronous read
 * blocks the event loop, and on webgpu in Node it is not possible at all. Packing only copies the values.
 */
export async function readScalars(scalars: readonly Tensor[]): Promise<number[]> {
  if (scalars.length === 0) return [];
  const packed = tf.tidy(() => tf.stack(scalars.map((t) => tf.reshape(t, [])))); // n × [] → [n]
  try {
    return Array.from(await packed.data());
  } finally {
    packed.dispose();
  }
}

/**
 * Gradients of `lossFn` in this process (`tf.variableGrads` over the optimiser's variables), with the loss terms
 * and the gradient norm read in one transfer.
 */
export async function localGradients<B>(lossFn: LossFn<B>, params: ReadonlyMap<string, Variable>, batch: B, ctx: TrainContext): Promise<ComputedGradients> {
  const vars: Variable[] = [...params.values()];
  let terms: Record<string, Scalar> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = lossFn(batch, ctx);
    terms = Object.fromEntries(Object.entries(out.terms).map(([k, t]) => [k, tf.keep(t)]));
    return out.total;
  }, vars);
  const named = new Map<string, Tensor>();
  for (const [name, v] of params) if (grads[v.name]) named.set(name, grads[v.name]!);
  const norm = named.size > 0 ? gradNormOf(named) : undefined;
  try {
    const names = Object.keys(terms);
    const values = await readScalars([...names.map((k) => terms[k]!), value, ...(norm ? [norm] : [])]);
    const losses: Record<string, number> = {};
    names.forEach((k, i) => (losses[k] = values[i]!));
    losses.total = values[names.length]!;
    return { grads: named, losses, ...(norm ? { gradNorm: values[names.length + 1]! } : {}) };
  } catch (err) {
    tf.dispose(Object.values(grads));
    throw err;
  } finally {
    tf.dispose([value, ...Object.values(terms), ...(norm ? [norm] : [])]);
  }
}

async function readNorm(grads: ReadonlyMap<string, Tensor>): Promise<number> {
  const norm = gradNormOf(grads);
  try {
    return (await readScalars([norm]))[0]!;
  } finally {
    norm.dispose();
  }
}

/** Run one forward/backward/update; returns the update numbers. */
async function runStep<B>(opts: TrainOptions<B>, ctx: TrainContext, batch: B, hooks: readonly TrainHook[]): Promise<UpdateInfo> {
  const { grads, losses, gradNorm: read } = await (opts.gradients ?? ((b, c) => localGradients(opts.lossFn, opts.optimizer.params, b, c)))(batch, ctx);
  try {
    if (grads.size === 0) throw new Error('train: no gradient reached any trainable parameter');
    const gradNorm = read ?? (await readNorm(grads));
    const info: UpdateInfo = { step: ctx.step, epoch: ctx.epoch, lr: opts.schedule(ctx.step), losses, gradNorm };
    for (const h of hooks) h.beforeUpdate?.(ctx, info);
    opts.optimizer.step(grads, info.lr);
    return info;
  } finally {
    tf.dispose([...grads.values()]);
  }
}

/** Signals this close to the first one are the same stop request (a process group's Ctrl-C plus a forward). */
export const DUPLICATE_SIGNAL_MS = 1000;

/**
 * One full turn of the event loop (timers, I/O and signal callbacks run), for long CPU loops: a resolved promise
 * only drains microtasks, `setImmediate` waits for the poll phase where signal watchers are delivered.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Train until `steps` / `epochs` are reached or a stop is requested. */
export async function train<B>(opts: TrainOptions<B>): Promise<TrainResult> {
  finite(opts.steps, 'steps');
  finite(opts.epochs, 'epochs');
  if (opts.steps === undefined && opts.epochs === undefined) throw new Error('train: give steps and/or epochs');
  const hooks = opts.hooks ?? [];
  const ctx: TrainContext = {
    step: opts.start?.step ?? 0,
    epoch: opts.start?.epoch ?? 0,
    totalSteps: totalSteps(opts),
    epochs: opts.epochs,
    startStep: opts.start?.step ?? 0,
    optimizer: opts.optimizer,
    data: opts.data as BatchSource<unknown>,
    stopRequested: undefined,
  };
  const target = opts.signalTarget ?? process;
  let stopAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal exits at once — unless it is the same request arriving twice: Ctrl-C reaches the runner's
    // whole process group and the runner forwards it, and Slurm's scancel signals every process of the task.
    if (ctx.stopRequested !== undefined && Date.now() - stopAt >= DUPLICATE_SIGNAL_MS) process.exit(signal === 'SIGINT' ? 130 : 143);
    if (ctx.stopRequested !== undefined) return;
    ctx.stopRequested = signal;
    stopAt = Date.now();
  };
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  for (const s of signals) target.on(s, onSignal);
  const done = (): boolean =>
    (opts.steps !== undefined && ctx.step >= opts.steps) || (opts.epochs !== undefined && ctx.epoch >= opts.epochs);
  try {
    for (const h of hooks) await h.onStart?.(ctx);
    while (!done() && ctx.stopRequested === undefined) {
      const t0 = performance.now();
      const sb = await opts.data.next();
      let info: UpdateInfo;
      try {
        info = await runStep(opts, ctx, sb.batch, hooks);
      } finally {
        opts.data.release?.(sb.batch);
      }
      ctx.step += 1;
      const seconds = (performance.now() - t0) / 1000;
      const stepInfo: StepInfo = { ...info, index: sb.index, images: sb.size, seconds, imagesPerSecond: sb.size / seconds };
      for (const h of hooks) await h.onStepEnd?.(ctx, stepInfo);
      if (sb.lastInEpoch) {
        ctx.epoch = sb.epoch + 1;
        for (const h of hooks) await h.onEpochEnd?.(ctx, sb.epoch);
      }
      await yieldToEventLoop();
    }
    const result: TrainResult =
      ctx.stopRequested === undefined
        ? { reason: 'completed', step: ctx.step, epoch: ctx.epoch }
        : { reason: 'interrupted', stoppedBy: ctx.stopRequested, step: ctx.step, epoch: ctx.epoch };
    for (const h of hooks) await h.onEnd?.(ctx, result);
    return result;
  } catch (err) {
    for (const h of hooks) {
      try {
        await h.onError?.(ctx, err);
      } catch {
        // the original error is the one to report
      }
    }
    throw err;
  } finally {
    for (const s of signals) target.off(s, onSignal);
  }
}
