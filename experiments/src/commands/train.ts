/** `clip-senet train`: resolve the config, write it into the run folder, and run (or resume) `runTraining`. */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { writeJsonAtomic } from '@clip-senet/core';
import { LATEST_FILE, runTraining } from '@clip-senet/engine';
import { loadExperimentConfig, readResolvedConfig, resolvedConfigText, runIdentity, withRepoPaths, writeResolvedConfig, type ExperimentConfig } from '../config';
import { loadData } from '../data';
import { evaluationFor, metricsLine } from '../protocol';
import { prepareBackend } from '../backend';
import { parseCommandArgs, positiveInt, required, UsageError, type Command } from '../command';
import { isHeld, tryLockRun } from '../ablation/run-lock';
import { componentsHelp } from './components-help';

const usage = `Usage: clip-senet train --config <file.yaml> [--set key.path=value ...] [--run-dir <dir>] [--resume] [--stop-after <n>] [--no-progress]

Train CLIP-SENet as the config says and evaluate at the end with the protocol its data + eval sections give
(VehicleID: mean ± std over the seeded draws). Relative data/weights paths are relative to the repository root.

  --config <file>    experiment YAML (may use 'extends')
  --set k=v          override a config value, e.g. --set train.maxSteps=3 (repeatable)
  --run-dir <dir>    run folder (default: the config's runDir, else runs/<config name>)
  --resume           continue the run folder's latest checkpoint (its resolved config must match)
  --stop-after <n>   stop with a checkpoint after n steps (time-boxed runs; continue with --resume)
  --no-progress      no progress bar
  -h, --help         this text

Writes <run-dir>/resolved-config.yaml, log.jsonl, checkpoints/ and, when finished, results.json.

${componentsHelp()}`;

/** The run folder of a train invocation. */
export function runDirOf(configPath: string, config: ExperimentConfig, flag?: string): string {
  return resolve(flag ?? config.runDir ?? join('runs', basename(configPath, extname(configPath))));
}

/** Files that make a folder a run's (anything else, e.g. the runner's train.log, may be there). */
const RUN_OUTPUTS = ['results.json', 'log.jsonl', 'summary.json'] as const;
/** The lock a trainer holds in its run folder. */
export const TRAIN_LOCK = 'train.lock';

function prepareRunDir(runDir: string, config: ExperimentConfig, resume: boolean): void {
  const ckptDir = join(runDir, 'checkpoints');
  // any file there counts: a folder whose latest.json was lost still holds the run's checkpoints
  const hasCheckpoint = existsSync(join(ckptDir, LATEST_FILE)) || (existsSync(ckptDir) && readdirSync(ckptDir).length > 0);
  const outputs = RUN_OUTPUTS.filter((f) => existsSync(join(runDir, f)));
  if (outputs.includes('results.json')) {
    throw new UsageError(`clip-senet train: ${runDir} holds a finished run (results.json); choose another --run-dir or move that folder away`);
  }
  if (!resume && (hasCheckpoint || outputs.length > 0)) {
    const what = [...(hasCheckpoint ? ['checkpoints/'] : []), ...outputs].join(', ');
    throw new UsageError(`clip-senet train: ${runDir} already holds a run (${what}); pass --resume to continue it or choose another --run-dir`);
  }
  const previous = readResolvedConfig(runDir);
  if (resume && outputs.length > 0 && previous === undefined) {
    // a log without the resolved config next to it is not this toolkit's run: never append to it
    throw new UsageError(`clip-senet train: ${runDir} holds ${outputs.join(', ')} but no resolved-config.yaml (not a clip-senet run folder); choose another --run-dir`);
  }
  if (resume && previous !== undefined && previous !== resolvedConfigText(config)) {
    throw new UsageError(`clip-senet train: the resolved config differs from ${join(runDir, 'resolved-config.yaml')}; a run resumes only with the same config`);
  }
  mkdirSync(runDir, { recursive: true });
  writeResolvedConfig(runDir, config);
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train (or resume) a run from a config',
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('train', args, {
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      'run-dir': { type: 'string' },
      resume: { type: 'boolean' },
      'stop-after': { type: 'string' },
      'no-progress': { type: 'boolean' },
    });
    const stopAfter = positiveInt('train', '--stop-after', opts['stop-after']);
    const configPath = required('train', opts.config, '--config');
    const config = loadExperimentConfig(configPath, opts.set ?? [], { requireModel: true });
    const runDir = runDirOf(configPath, config, opts['run-dir']);
    // one trainer per run folder: a second `train` into it (by hand, or next to a runner) is refused
    const created = !existsSync(runDir);
    mkdirSync(runDir, { recursive: true });
    const lock = tryLockRun(runDir, { file: TRAIN_LOCK, log: (l) => io.err(`note: ${l}\n`) });
    if (!isHeld(lock)) throw new UsageError(`clip-senet train: ${runDir} is being trained by ${lock.holder} (${lock.file}); wait for it or choose another --run-dir`);
    try {
      await trainIn(runDir, config, opts, stopAfter, io);
    } finally {
      lock.release();
      if (created && readdirSync(runDir).length === 0) rmdirSync(runDir); // refused before writing anything
    }
  },
};

async function trainIn(
  runDir: string, config: ExperimentConfig, opts: { resume?: boolean; 'no-progress'?: boolean }, stopAfter: number | undefined,
  io: { out: (t: string) => void },
): Promise<void> {
  prepareRunDir(runDir, config, opts.resume === true);
  await prepareBackend();
  const runtime = withRepoPaths(config);
  const data = loadData(runtime.data);
  const plan = evaluationFor(runtime, data);
  const run = await runTraining({
    runDir,
    train: data.train,
    numClasses: data.numClasses,
    model: runtime.model,
    losses: runtime.losses,
    config: runtime.train,
    // the resolved config as written (repository-relative paths, so the run resumes wherever the repo lives) and the
    // digests of the weights it loads: a resume with re-made SEM weights is refused
    configHash: runIdentity(config).key,
    evaluation: plan,
    progress: opts['no-progress'] !== true,
    ...(stopAfter !== undefined ? { stopAfterSteps: stopAfter } : {}),
  });
  const ev = run.evaluation;
  const state = ev ? 'finished' : run.result.reason === 'interrupted' ? 'interrupted' : 'stopped';
  io.out(`${state} at step ${run.result.step} (epoch ${run.result.epoch}); run folder ${runDir}\n`);
  if (!ev) io.out('continue with --resume\n');
  const details = plan.details();
  if (ev && details) writeJsonAtomic(join(runDir, 'results.json'), { ...ev, vehicleId: details });
  if (ev) io.out(`${metricsLine(ev, details)}\n`);
}
