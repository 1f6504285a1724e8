/**
 * The hooks every training run on the one loop carries, in the one order: the non-finite guard first (it must see a
 * bad loss before anything records it), the JSONL log, the tensor-leak guard, the progress bar, the run's own hooks
 * (periodic evaluation, a probe's scoring), and the checkpoint last (it saves the state the hooks before it have
 * seen). Re-ID training (`run.ts`), SEM pretraining and the experiments' SEM probe build their lists here.
 */
import { checkpointHook, type CheckpointHookOptions } from './checkpoint-hook';
import { leakGuard, nonFiniteGuard, progressHook, type JsonlLogHook, type ProgressHookOptions } from './hooks';
import type { TrainHook } from './train';

/** Options of {@link runHooks}. */
export interface RunHooksOptions {
  /** Stop on a non-finite loss or gradient ({@link nonFiniteGuard}; default true). */
  readonly nonFinite?: boolean;
  /** Growth of live tensors {@link leakGuard} allows (default its own, 0); null: no leak guard. */
  readonly leakTolerance?: number | null;
  /** The run's metrics log (the caller keeps it to write evaluation records into it too); absent: none. */
  readonly log?: JsonlLogHook;
  /** The progress bar's options; false: no bar. */
  readonly progress?: ProgressHookOptions | false;
  /** The run's own hooks, after the guards, log and bar and before the checkpoint. */
  readonly extra?: readonly TrainHook[];
  /** Checkpointing; absent: none. */
  readonly checkpoint?: CheckpointHookOptions;
}

/** The hook list of a run, in the order the module header gives. */
export function runHooks(options: RunHooksOptions): TrainHook[] {
  const tolerance = options.leakTolerance;
  return [
    ...(options.nonFinite ?? true ? [nonFiniteGuard()] : []),
    ...(options.log ? [options.log] : []),
    ...(tolerance === null ? [] : [leakGuard(tolerance === undefined ? {} : { tolerance })]),
    ...(options.progress !== undefined && options.progress !== false ? [progressHook(options.progress)] : []),
    ...(options.extra ?? []),
    ...(options.checkpoint ? [checkpointHook(options.checkpoint)] : []),
  ];
}
