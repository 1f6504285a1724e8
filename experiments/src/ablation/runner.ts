/**
 * The ablation runner: trains the planned runs that are not finished yet in a pool of child processes (each a
 * `clip-senet train` of one run folder), resumes interrupted ones from their last checkpoint, summarises finished
 * ones, and writes the grid's {@link AblationRecord}. Finished runs are never redone: a run is finished when its
 * folder holds `summary.json` (or `results.json`, which is then summarised).
 *
 * Crash safety: every file is written atomically; a run folder being trained holds `runner.lock` with the
 * trainer's pid; trainers watch their parent and checkpoint + exit when the runner dies (even by SIGKILL), so a
 * rerun continues cleanly. SIGINT/SIGTERM to the runner are forwarded: trainers checkpoint and stop.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '@clip-senet/core/base';
import { recordJson } from './record-json';
import { RESOLVED_CONFIG, resolveRepoPath, weightInputs } from '../config';
import { datasetRoot, REPO_ROOT } from '../data';
import { PARENT_PID_ENV } from '../parent-watch';
import type { AblationPlan, PlannedRun, Shard } from './plan';
import { runDirFor, shardKeys, trainingRunOf } from './plan';
import { checkJobGrid, checkRunsShared } from './job-checks';
import { isHeld, tryLockRun, withFileLock, type LockBusy, type RunLock } from './run-lock';
import { downsample, MAX_TRAIN_POINTS, readSummary, RUN_FILES, summarizeEvaluation, summarizeRun, writeSummary } from './summarize';
import type { AblationRecord, RankedList, RunSummary } from './summary';
import { readAblationRecord, writeAblationReport } from '../report/write-reports';

/** Where the runner writes. */
export interface RunnerIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** Options of {@link runAblation}. */
export interface RunnerOptions {
  /** Folder of run folders (default `<repo>/runs`). */
  readonly runsDir?: string;
  /** Folder of ablation records (default `<repo>/reports/ablations`). */
  readonly reportsDir?: string;
  /** Runs trained at once (default: the number of cores / `threadsPerRun`, at least 1). */
  readonly jobs: number;
  /** Compute threads per trainer (`CLIP_SENET_WASM_THREADS`; default 1). */
  readonly threadsPerRun?: number;
  readonly shard?: Shard;
  /** Print the plan, train nothing, write nothing. */
  readonly dryRun?: boolean;
  /** Extra environment of the trainers. */
  readonly env?: Readonly<Record<string, string>>;
  readonly io: RunnerIo;
}

/** What a runner invocation did. */
export interface RunnerResult {
  readonly record?: AblationRecord;
  readonly recordFile?: string;
  /** Distinct run keys of the grid in this shard, and how they were handled. */
  readonly trained: readonly string[];
  /** Evaluation-only runs evaluated by this invocation (each re-evaluated the checkpoint of the run it names). */
  readonly evaluated: readonly string[];
  readonly skipped: readonly string[];
  readonly failed: readonly { runKey: string; message: string }[];
  /** Run keys owned by another live runner (not trained here). */
  readonly busy: readonly { runKey: string; holder: string }[];
  /** Whether the record (and its reports) were written; false when that would have lost finished cells. */
  readonly recordWritten?: boolean;
  /** Grid cells (variant × seed) with a summary, out of all. */
  readonly finished: number;
  readonly total: number;
  readonly wallSeconds: number;
}

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** Default folder of run folders. */
export const DEFAULT_RUNS_DIR = join(REPO_ROOT, 'runs');
/** Default folder of ablation records and reports. */
export const DEFAULT_REPORTS_DIR = join(REPO_ROOT, 'reports', 'ablations');

/** Record file of an ablation at a profile. */
export function recordFileFor(reportsDir: string, ablation: string, profile: string): string {
  return join(reportsDir, ablation, profile, 'runs.json');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How often a shard re-checks a run of its own that another process holds. */
const BUSY_POLL_MS = 5000;

/**
 * Take a run's lock; a trainer orphaned by a killed runner (it checkpoints and exits within a step) is waited for.
 * Undefined when another live runner owns the run.
 */
async function lockRun(runDir: string, io: RunnerIo, timeoutMs = 120_000): Promise<RunLock | LockBusy> {
  const t0 = Date.now();
  for (;;) {
    const r = tryLockRun(runDir, { log: (line) => io.out(`note: ${line}\n`) });
    if (isHeld(r) || !r.orphan) return r;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${r.file}: an orphaned trainer (${r.holder}) has not stopped within ${timeoutMs / 1000} s; stop it first`);
    await sleep(200);
  }
}

/** Relative paths for the summary (so committed records hold no machine-specific absolute paths). */
function portable(summary: RunSummary, rootDir: string): RunSummary {
  const rel = (p: string): string => (isAbsolute(p) ? relative(rootDir, p) : p);
  const ranked: RankedList[] = summary.ranked.map((q) => ({ query: rel(q.query), gallery: q.gallery.map((g) => ({ path: rel(g.path), match: g.match })) }));
  const root = relative(REPO_ROOT, rootDir);
  return { ...summary, ranked, datasetRoot: root.startsWith('..') ? rootDir : root };
}

interface Trainer {
  readonly child: ReturnType<typeof spawn>;
  /** Exit code, or 128 + the signal number when a signal ended it (as a shell reports it), and that signal. */
  readonly done: Promise<{ code: number; signal: NodeJS.Signals | null }>;
}

function startTrainer(runDir: string, options: RunnerOptions, lock: RunLock): Trainer {
  return startCli(['train', '--config', join(runDir, RESOLVED_CONFIG), '--run-dir', runDir, '--resume', '--no-progress'], join(runDir, 'train.log'), options, lock);
}

/** A `clip-senet` child (train or eval) logging to `logFile`, its pid recorded in the run's lock. */
function startCli(args: readonly string[], logFile: string, options: RunnerOptions, lock: RunLock): Trainer {
  const logFd = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, ...args],
    {
      cwd: PROJECT_DIR,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, CLIP_SENET_WASM_THREADS: String(options.threadsPerRun ?? 1), ...options.env, [PARENT_PID_ENV]: String(process.pid) },
    },
  );
  closeSync(logFd);
  lock.setTrainer(child.pid);
  const done = new Promise<{ code: number; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => res({ code: code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1), signal }));
    child.on('error', () => res({ code: 1, signal: null }));
  });
  return { child, done };
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function describeRun(plan: AblationPlan, key: string): string {
  const cells = plan.runs.filter((r) => r.runKey === key).map((r) => `${r.variant}/seed ${r.seed}`);
  return `${plan.ablation.def.name}: ${cells.join(', ')} (${key})`;
}

const pct = (x: number): string => (x * 100).toFixed(1);

/** Run (the shard of) an ablation's grid, then write its record. */
export async function runAblation(plan: AblationPlan, options: RunnerOptions): Promise<RunnerResult> {
  const t0 = Date.now();
  const { io } = options;
  const runsDir = options.runsDir ?? DEFAULT_RUNS_DIR;
  const reportsDir = options.reportsDir ?? DEFAULT_REPORTS_DIR;
  // shards split the trainings; an evaluation-only run goes with the run it evaluates
  const trainings = plan.runs.map(trainingRunOf);
  const mine = shardKeys(trainings, options.shard);
  const byKey = new Map<string, PlannedRun>();
  for (const r of trainings) if (mine.has(r.runKey) && !byKey.has(r.runKey)) byKey.set(r.runKey, r);
  const evaluations = new Map<string, PlannedRun>();
  for (const r of plan.runs) if (r.evaluates && mine.has(r.evaluates.runKey) && !evaluations.has(r.runKey)) evaluations.set(r.runKey, r);
  const finished = (key: string): boolean => existsSync(join(runDirFor(runsDir, key), RUN_FILES.summary));
  const todo = [...byKey.keys()].filter((k) => !finished(k));
  const skipped = [...byKey.keys()].filter((k) => finished(k));
  const name = plan.ablation.def.name;
  const shardText = options.shard ? ` shard ${options.shard.index}/${options.shard.count}` : '';
  io.out(`ablation ${name} (profile ${plan.profile}${shardText}): ${plan.variants.length} variants × ${plan.seeds.length} seeds = ${plan.runs.length} runs, ` +
    `${new Set(plan.runs.map((r) => r.runKey)).size} distinct; this invocation: ${todo.length} to train, ${skipped.length} already finished` +
    `${evaluations.size > 0 ? `, ${[...evaluations.keys()].filter((k) => !finished(k)).length} evaluation-only run(s) to evaluate` : ''}\n`);
  if (options.dryRun) {
    for (const r of plan.runs) {
      const t = trainingRunOf(r);
      const state = !mine.has(t.runKey) ? 'other shard' : finished(r.runKey) ? 'finished'
        : r.evaluates ? `evaluate the checkpoint of ${t.runKey}` : existsSync(join(runDirFor(runsDir, r.runKey), 'checkpoints')) ? 'resume' : 'train';
      io.out(`  ${r.variant.padEnd(22)} seed ${String(r.seed).padEnd(6)} ${r.runKey}  ${state}\n`);
    }
    return { trained: [], evaluated: [], skipped, busy: [], failed: [], finished: 0, total: plan.runs.length, wallSeconds: (Date.now() - t0) / 1000 };
  }

  const distinctKeys = new Set(plan.runs.map((r) => r.runKey)).size;
  if (options.shard && options.shard.count > distinctKeys) {
    io.err(`note: --shard ${options.shard.index}/${options.shard.count} splits only ${distinctKeys} distinct runs: ${options.shard.count - distinctKeys} shard(s) get none\n`);
  }
  if (todo.length > 0) assertWritable(runsDir);
  const jobEnv = options.env ? { ...process.env, ...options.env } : process.env;
  if (options.shard) {
    checkJobGrid(plan, runsDir, options.shard, jobEnv);
    checkRunsShared(plan, runsDir, jobEnv);
  }
  const trained: string[] = [];
  const evaluated: string[] = [];
  const failed: { runKey: string; message: string }[] = [];
  const busy: { runKey: string; holder: string }[] = [];
  const active = new Set<Trainer>();
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = sig;
    io.err(`\n${sig}: asking ${active.size} trainer(s) to checkpoint and stop; rerun the same command to continue\n`);
    for (const t of active) t.child.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const trainOne = async (key: string, index: number): Promise<void> => {
    const run = byKey.get(key)!;
    const absent = Object.entries(run.inputs).filter(([, digest]) => digest === 'missing').map(([field]) => `${field} ${resolveRepoPath(weightInputs(run.config)[field]!)}`);
    if (absent.length > 0) throw new Error(`missing weights file(s): ${absent.join(', ')} (the synthetic SEM comes from \`npx nx run experiments:pretrain-sem\`)`);
    const runDir = runDirFor(runsDir, key);
    mkdirSync(runDir, { recursive: true });
    let lock = await lockRun(runDir, io);
    if (!isHeld(lock) && options.shard) {
      // a run of this shard held by someone else — a dead task on another node (its lock goes stale without a
      // heartbeat) or a duplicate task: wait until it is finished or the lock can be taken, never skip it silently
      io.out(`[${index}/${todo.length}] wait   ${describeRun(plan, key)}: held by ${lock.holder}; taken over if that lock goes stale\n`);
      while (!isHeld(lock) && !stopping && !finished(key)) {
        await sleep(BUSY_POLL_MS);
        lock = await lockRun(runDir, io);
      }
    }
    if (!isHeld(lock)) {
      if (finished(key)) {
        skipped.push(key);
        return;
      }
      busy.push({ runKey: key, holder: lock.holder });
      io.out(`[${index}/${todo.length}] skip   ${describeRun(plan, key)}: being trained by ${lock.holder}\n`);
      return;
    }
    if (stopping) {
      lock.release(); // a stop arrived while we waited for the lock: start no trainer now
      return;
    }
    try {
      if (finished(key)) {
        // another runner finished it between our plan and our lock
        skipped.push(key);
        return;
      }
      await trainLocked(run, key, index, runDir, lock);
    } finally {
      lock.release();
    }
  };

  const trainLocked = async (run: PlannedRun, key: string, index: number, runDir: string, lock: RunLock): Promise<void> => {
    const root = datasetRoot(run.config.data);
    const configFile = join(runDir, RESOLVED_CONFIG);
    if (existsSync(configFile) && readFileSync(configFile, 'utf8') !== run.configText) {
      throw new Error(`${configFile} differs from the planned config of run ${key} (edited by hand?); move the folder away to retrain`);
    }
    if (!existsSync(configFile)) writeFileAtomic(configFile, run.configText);
    if (!existsSync(join(runDir, RUN_FILES.results))) {
      const resuming = existsSync(join(runDir, 'checkpoints'));
      io.out(`[${index}/${todo.length}] ${resuming ? 'resume' : 'train '} ${describeRun(plan, key)}\n`);
      const start = Date.now();
      const trainer = startTrainer(runDir, options, lock);
      active.add(trainer);
      const { code, signal } = await trainer.done;
      active.delete(trainer);
      const seconds = (Date.now() - start) / 1000;
      const attempts = join(runDir, RUN_FILES.attempts);
      try {
        appendFileSync(attempts, `${JSON.stringify({ start: new Date(start).toISOString(), seconds, exit: code })}\n`);
      } catch (err) {
        throw new Error(`Cannot append to ${attempts}: ${(err as Error).message}`, { cause: err });
      }
      if (code !== 0 || !existsSync(join(runDir, RUN_FILES.results))) {
        if (stopping) return;
        throw new Error(`trainer ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; log ${join(runDir, 'train.log')}:\n${tail(join(runDir, 'train.log'))}`);
      }
    }
    const summary = portable(summarizeRun(runDir, key, run.config, root, run.inputs), root);
    writeSummary(runDir, summary);
    trained.push(key);
    const m = summary.metrics;
    io.out(`[${index}/${todo.length}] done   ${describeRun(plan, key)} in ${summary.wallSeconds.toFixed(0)} s: mAP ${pct(m.mAP)} R1 ${pct(m.rank1)} mINP ${pct(m.mINP)}\n`);
  };

  /** Re-evaluate the checkpoint of the run `run` evaluates with `run`'s evaluation settings (`clip-senet eval --config`). */
  const evaluateOne = async (run: PlannedRun, index: number, count: number): Promise<void> => {
    const key = run.runKey;
    const source = runDirFor(runsDir, run.evaluates!.runKey);
    const runDir = runDirFor(runsDir, key);
    mkdirSync(runDir, { recursive: true });
    const lock = await lockRun(runDir, io);
    if (!isHeld(lock)) {
      busy.push({ runKey: key, holder: lock.holder });
      io.out(`[eval ${index}/${count}] skip   ${describeRun(plan, key)}: being evaluated by ${lock.holder}\n`);
      return;
    }
    try {
      if (finished(key)) return;
      const configFile = join(runDir, RESOLVED_CONFIG);
      if (existsSync(configFile) && readFileSync(configFile, 'utf8') !== run.configText) {
        throw new Error(`${configFile} differs from the planned config of run ${key} (edited by hand?); move the folder away to re-evaluate`);
      }
      if (!existsSync(configFile)) writeFileAtomic(configFile, run.configText);
      const root = datasetRoot(run.config.data);
      if (!existsSync(join(runDir, RUN_FILES.results))) {
        io.out(`[eval ${index}/${count}] eval   ${describeRun(plan, key)}: the checkpoint of ${run.evaluates!.runKey}\n`);
        const start = Date.now();
        const child = startCli(['eval', '--run', source, '--config', configFile, '--out', join(runDir, RUN_FILES.results)], join(runDir, 'eval.log'), options, lock);
        active.add(child);
        const { code, signal } = await child.done;
        active.delete(child);
        appendFileSync(join(runDir, RUN_FILES.attempts), `${JSON.stringify({ start: new Date(start).toISOString(), seconds: (Date.now() - start) / 1000, exit: code, evaluates: run.evaluates!.runKey })}\n`);
        if (code !== 0 || !existsSync(join(runDir, RUN_FILES.results))) {
          if (stopping) return;
          throw new Error(`evaluation ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; log ${join(runDir, 'eval.log')}:\n${tail(join(runDir, 'eval.log'))}`);
        }
      }
      const trainedSummary = readSummary(source);
      if (!trainedSummary) throw new Error(`${source}: no ${RUN_FILES.summary} (the run this one evaluates is not finished)`);
      const summary = portable(summarizeEvaluation(runDir, key, run.config, root, run.inputs, trainedSummary), root);
      writeSummary(runDir, summary);
      evaluated.push(key);
      const m = summary.metrics;
      io.out(`[eval ${index}/${count}] done   ${describeRun(plan, key)} in ${summary.wallSeconds.toFixed(0)} s: mAP ${pct(m.mAP)} R1 ${pct(m.rank1)} mINP ${pct(m.mINP)}\n`);
    } finally {
      lock.release();
    }
  };

  try {
    const jobs = Math.max(1, options.jobs);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!stopping && next < todo.length) {
        const i = next++;
        const key = todo[i]!;
        try {
          await trainOne(key, i + 1);
        } catch (err) {
          failed.push({ runKey: key, message: (err as Error).message });
          io.err(`run ${describeRun(plan, key)} failed: ${(err as Error).message}\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, todo.length)) }, worker));
    const pending = [...evaluations.values()].filter((r) => !finished(r.runKey));
    for (const [i, r] of pending.entries()) {
      if (stopping) break;
      if (!finished(r.evaluates!.runKey)) {
        io.out(`[eval ${i + 1}/${pending.length}] wait   ${describeRun(plan, r.runKey)}: the run it evaluates (${r.evaluates!.runKey}) has not finished\n`);
        continue;
      }
      try {
        await evaluateOne(r, i + 1, pending.length);
      } catch (err) {
        failed.push({ runKey: r.runKey, message: (err as Error).message });
        io.err(`run ${describeRun(plan, r.runKey)} failed: ${(err as Error).message}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const recordFile = recordFileFor(reportsDir, name, plan.profile);
  mkdirSync(dirname(recordFile), { recursive: true });
  const wallSeconds = (): number => (Date.now() - t0) / 1000;
  if (busy.length > 0) {
    io.out(`${busy.length} run(s) were held by another runner (${[...new Set(busy.map((b) => b.holder))].join('; ')}); ` +
      'they join the record when their owner finishes them (rerun to take over any whose owner died)\n');
  }
  if (options.shard) checkRunsShared(plan, runsDir, jobEnv); // again: tasks that started after this one
  // Shards rewrite one record: read-compare-write under its lock, rebuilt from every finished run at that moment.
  const { record, written } = await withFileLock(recordFile, () => {
    const record = buildRecord(plan, runsDir);
    const lost = lostCells(recordFile, record);
    if (lost.length > 0) {
      io.err(`kept ${relative(process.cwd(), recordFile)} and its reports as they were: the new record would have ${lost.length} finished grid cell(s) fewer ` +
        `(${lost.slice(0, 6).join(', ')}${lost.length > 6 ? ', …' : ''}); it is written once every cell it holds has finished — ` +
        'for a narrower grid (fewer seeds or variants) pass --reports-dir, or move that record away\n');
      return { record, written: false };
    }
    writeFileAtomic(recordFile, recordJson(record));
    const report = writeAblationReport(recordFile);
    for (const note of report.notes) io.out(`note: ${note}\n`);
    const finishedCells = record.runs.filter((r) => r.summary !== null).length;
    io.out(`ablation ${name}: ${finishedCells}/${record.runs.length} grid cells finished; record and ${report.written.length} report files in ${relative(process.cwd(), dirname(recordFile))} (${wallSeconds().toFixed(0)} s)\n`);
    return { record, written: true };
  });
  const done = record.runs.filter((r) => r.summary !== null).length;
  if (failed.length > 0) io.err(`ablation ${name}: ${failed.length} run(s) failed: ${failed.map((f) => describeRun(plan, f.runKey)).join('; ')}\n`);
  if (stopping) io.out('stopped early; rerun the same command to continue\n');
  return { record, recordFile, recordWritten: written, trained, evaluated, skipped, busy, failed, finished: done, total: record.runs.length, wallSeconds: wallSeconds() };
}

/**
 * Grid cells (`variant/seed`) that the record already in `recordFile` holds as finished and `next` does not: a
 * record is never replaced by one with fewer finished cells (a failed or partial grid, fewer seeds, other
 * overrides), so every number a written report shows comes from a finished run. An unreadable existing record is
 * an error: it is not overwritten either.
 */
export function lostCells(recordFile: string, next: AblationRecord): string[] {
  if (!existsSync(recordFile)) return [];
  let old: AblationRecord;
  try {
    old = readAblationRecord(recordFile);
  } catch (err) {
    throw new Error(`cannot read the existing record (${(err as Error).message}); move it away to write a new one`, { cause: err });
  }
  const have = new Set(next.runs.filter((r) => r.summary !== null).map((r) => `${r.variant}/seed ${r.seed}`));
  return old.runs.filter((r) => r.summary !== null).map((r) => `${r.variant}/seed ${r.seed}`).filter((c) => !have.has(c));
}

/** One clear error up front when the runs folder cannot be written (read-only mount, permissions), not one per run. */
function assertWritable(runsDir: string): void {
  const probe = join(runsDir, `.write-probe-${process.pid}`);
  try {
    mkdirSync(runsDir, { recursive: true });
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (err) {
    throw new Error(`the runs folder ${runsDir} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); nothing was trained`, { cause: err });
  }
}

/** The grid's record from whatever summaries exist (runs of other shards included). */
export function buildRecord(plan: AblationPlan, runsDir: string): AblationRecord {
  const { def } = plan.ablation;
  const compact = (s: RunSummary | undefined): RunSummary | null =>
    s ? { ...s, trainCurve: downsample(s.trainCurve, MAX_TRAIN_POINTS) } : null; // summaries written with a longer curve
  const runs = plan.runs.map((r) => ({ variant: r.variant, seed: r.seed, runKey: r.runKey, summary: compact(readSummary(runDirFor(runsDir, r.runKey))) }));
  const seen = new Set<string>();
  let wall = 0;
  for (const r of runs) {
    if (r.summary && !seen.has(r.runKey)) {
      seen.add(r.runKey);
      wall += r.summary.wallSeconds;
    }
  }
  return {
    format: 'clip-senet/ablation-runs@1',
    ablation: def.name,
    title: def.title,
    profile: plan.profile,
    baseline: def.baseline,
    variants: def.variants.filter((v) => plan.variants.includes(v.name)).map((v) => ({ name: v.name, description: v.description, paper: v.paper })),
    seeds: plan.seeds,
    runs,
    wallSeconds: Math.round(wall * 10) / 10,
  };
}
