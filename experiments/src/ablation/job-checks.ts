/**
 * Checks for the tasks of one Slurm array job (`SLURM_ARRAY_JOB_ID`) that share a grid: they must plan the same grid
 * ({@link checkJobGrid}), and their runs folder must really be shared ({@link checkRunsShared}) — a task whose folder
 * holds none of the files of tasks that have been running for a while is on a node-local folder, and its results
 * would never join the others'.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitCommit } from '@clip-senet/engine';
import { REPO_ROOT } from '../data';
import type { AblationPlan, Shard } from './plan';

/** What every task of one Slurm array job must agree on. */
interface JobGrid {
  readonly job: string;
  readonly ablation: string;
  readonly profile: string;
  readonly shards: number;
  readonly commit: string;
  readonly runKeys: readonly string[];
}

/**
 * Tasks of one Slurm array job (`SLURM_ARRAY_JOB_ID`) must train one grid: the first task to start records the
 * grid it planned (distinct run keys, shard count, commit) in `<runsDir>/.jobs/`, created exclusively; a later
 * task that planned another one — other configs or `--set`, another shard count, a checkout at another commit — is
 * an error before it trains anything.
 */
export function checkJobGrid(plan: AblationPlan, runsDir: string, shard: Shard, env: NodeJS.ProcessEnv = process.env): void {
  const job = env.SLURM_ARRAY_JOB_ID;
  if (job === undefined || job === '') return;
  const mine: JobGrid = {
    job, ablation: plan.ablation.def.name, profile: plan.profile, shards: shard.count, commit: gitCommit(REPO_ROOT),
    runKeys: [...new Set(plan.runs.map((r) => r.runKey))].sort(),
  };
  const file = jobFile(runsDir, job, mine.ablation, mine.profile);
  mkdirSync(dirname(file), { recursive: true });
  // this task's mark, which the shared-folder check of the job's other tasks looks for: one per task and job (not
  // per ablation — a task on its second ablation must still find peers that are busy with the first)
  const marks = marksDir(runsDir, job);
  mkdirSync(marks, { recursive: true });
  writeFileSync(join(marks, env.SLURM_ARRAY_TASK_ID ?? String(process.pid)), `${process.pid}\n`);
  try {
    const fd = openSync(file, 'wx');
    try {
      writeSync(fd, `${JSON.stringify(mine, null, 2)}\n`);
    } finally {
      closeSync(fd);
    }
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let first: JobGrid | undefined;
  for (let i = 0; i < 50 && first === undefined; i++) {
    try {
      first = JSON.parse(readFileSync(file, 'utf8')) as JobGrid; // may be mid-write for a few ms
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // a synchronous 100 ms pause, no child process
    }
  }
  if (!first) throw new Error(`${file}: unreadable record of job ${job}'s grid; remove it if that job is gone`);
  const task = env.SLURM_ARRAY_TASK_ID ?? '?';
  const differs: string[] = [];
  if (first.shards !== mine.shards) differs.push(`shard count ${mine.shards} vs ${first.shards}`);
  if (first.commit !== mine.commit) differs.push(`commit ${mine.commit} vs ${first.commit}`);
  const other = new Set(first.runKeys);
  const changed = mine.runKeys.filter((k) => !other.has(k)).length + first.runKeys.filter((k) => !mine.runKeys.includes(k)).length;
  if (changed > 0) differs.push(`${changed} run key(s) differ (another config, --set or --seeds)`);
  if (differs.length > 0) {
    throw new Error(`task ${task} of Slurm job ${job} planned another grid than the job's first task (${file}): ${differs.join('; ')}. ` +
      'Every task of an array job must run the same checkout, grid and shard count; nothing was trained');
  }
}

function marksDir(runsDir: string, job: string): string {
  return join(runsDir, '.jobs', `${job}.tasks`);
}

function jobFile(runsDir: string, job: string, ablation: string, profile: string): string {
  return join(runsDir, '.jobs', `${job}-${ablation}-${profile}.json`);
}

/** Seconds of squeue's elapsed-time field (`M:SS`, `H:MM:SS` or `D-HH:MM:SS`). */
export function elapsedSeconds(text: string): number {
  const [days, rest] = text.includes('-') ? text.split('-') : ['0', text];
  const parts = rest!.split(':').map(Number);
  while (parts.length < 3) parts.unshift(0);
  const [h, m, sec] = parts as [number, number, number];
  return Number(days) * 86400 + h * 3600 + m * 60 + sec;
}

/** Other running tasks of an array job: `squeue -h -r -j <job> -t RUNNING -o '%K %M'` lines → task id + seconds. */
export function parseRunningTasks(squeueOutput: string): { task: string; seconds: number }[] {
  return squeueOutput.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 2 && /^\d+$/.test(f[0]!))
    .map(([task, elapsed]) => ({ task: task!, seconds: elapsedSeconds(elapsed!) }));
}

/**
 * Error when this task's runs folder holds the mark of none of the job's other tasks that have been running for at
 * least `minSeconds` (they write their mark before training): the folder is not shared between the nodes. Tasks
 * that started moments ago are not held against it. No-op outside a Slurm array job or where squeue cannot answer.
 */
export function checkRunsShared(
  plan: AblationPlan, runsDir: string, env: NodeJS.ProcessEnv = process.env,
  running: () => { task: string; seconds: number }[] = () => squeueRunning(env), minSeconds = 60,
): void {
  const job = env.SLURM_ARRAY_JOB_ID;
  if (job === undefined || job === '') return;
  const marks = marksDir(runsDir, job);
  const me = env.SLURM_ARRAY_TASK_ID;
  const others = running().filter((t) => t.task !== me && t.seconds >= minSeconds);
  if (others.length === 0) return;
  if (others.some((t) => existsSync(join(marks, t.task)))) return;
  throw new Error(`${runsDir} holds no trace of tasks ${others.map((t) => t.task).join(', ')} of Slurm job ${job}, running for ` +
    `${Math.min(...others.map((t) => t.seconds))} s or more: the runs folder is not shared between the nodes (node-local disk?). ` +
    'Put the repository (runs/, reports/) on a filesystem every node mounts; results written here never join the others\'');
}

function squeueRunning(env: NodeJS.ProcessEnv): { task: string; seconds: number }[] {
  try {
    const out = execFileSync('squeue', ['-h', '-r', '-j', env.SLURM_ARRAY_JOB_ID!, '-t', 'RUNNING', '-o', '%K %M'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
    return parseRunningTasks(out);
  } catch {
    return []; // no squeue here: nothing to check against
  }
}
