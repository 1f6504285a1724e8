/**
 * The README's Slurm array job, run under a real one-node Slurm cluster (`npx nx run experiments:slurm-test`;
 * `.ci/run` installs Slurm and runs it): the script `experiments/slurm/ablation-array.sbatch` — the very file the
 * README shows — is submitted with `--array=1-3` over a small grid that shares one runs folder, on a world no
 * task has generated yet (so the tasks create it together). Checked: every task completed, every run trained
 * exactly once, and the merged record and tables equal those of the same grid run in one process, bit for bit;
 * `sacct` shows every task COMPLETED with exit code 0.
 * Then the fault case: one task is cancelled with `scancel` mid-run and resubmitted alone; it resumes from its
 * checkpoint, trains no step twice, and the final record equals the uninterrupted one.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperimentConfig } from '../config';
import { syntheticWorldDir } from '../data';
import type { AblationRecord, RunSummary } from '../ablation/summary';
import { startSlurmCluster, type SlurmCluster } from './cluster';

const run = promisify(execFile);
const projectDir = fileURLToPath(new URL('../..', import.meta.url));
const repoDir = join(projectDir, '..');
const script = join(projectDir, 'slurm', 'ablation-array.sbatch');
const tiny = join(projectDir, 'configs', 'synthetic', 'tiny.yaml');
const WORLD_SEED = 9107; // a world of this test alone, so the array tasks generate it together
const env = { CLIP_SENET_BACKEND: 'wasm', CLIP_SENET_WASM_THREADS: '1' };
const dir = mkdtempSync(join(tmpdir(), 'clip-senet-slurm-'));
const worldDir = syntheticWorldDir(loadExperimentConfig(tiny, [`data.world.seed=${WORLD_SEED}`]).data.world);
let cluster: SlurmCluster;

function grid(name: string, steps: number, everySteps: number, seeds: readonly number[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}
title: Slurm test grid ${name}
base: ${tiny}
baseline: base
seeds: [${seeds.join(', ')}]
set: { data: { world: { seed: ${WORLD_SEED} } }, train: { maxSteps: ${steps}, epochs: 100000, checkpoint: { everySteps: ${everySteps} } } }
variants:
  - name: base
    description: appearance only
    set: { model: { sem: null, fusion: { $replace: true, name: appearance-only, outDim: 32 } } }
  - name: full
    description: CLIP-SENet fusion
`);
  return file;
}

const out = (name: string): string[] => ['--runs-dir', join(dir, name, 'runs'), '--reports-dir', join(dir, name, 'reports')];
const recordOf = (name: string, ablation: string): AblationRecord =>
  JSON.parse(readFileSync(join(dir, name, 'reports', ablation, 'default', 'runs.json'), 'utf8')) as AblationRecord;
/** A record without what legitimately differs between two executions of the same runs (wall times, dates). */
const comparable = (r: AblationRecord): unknown => ({
  ...r, wallSeconds: 0,
  runs: r.runs.map((x) => ({ ...x, summary: x.summary ? ({ ...x.summary, wallSeconds: 0, finishedAt: '' } satisfies RunSummary) : null })),
});
/** The Markdown table rows of a report (its footer names wall times). */
const tableRows = (name: string, ablation: string): string[] =>
  readFileSync(join(dir, name, 'reports', ablation, 'default', `${ablation}.md`), 'utf8').split('\n').filter((l) => l.startsWith('| `'));
const stepsOf = (runDir: string): number[] =>
  readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'step').map((l) => l.step);
const attemptsOf = (runDir: string): number => readFileSync(join(runDir, 'attempts.jsonl'), 'utf8').trim().split('\n').length;

function submit(ablation: string, name: string, array: string, shards: number): Promise<number> {
  return cluster.sbatch([`--array=${array}`, '--cpus-per-task=1', `--output=${join(dir, `${name}-%A_%a.out`)}`, script], {
    cwd: repoDir,
    env: { ...env, ABLATION: ablation, PROFILE: 'default', SHARDS: String(shards), CLIP_SENET_ABLATION_ARGS: out(name).join(' ') },
  });
}

function taskLog(name: string, job: number, task: number): string {
  const file = join(dir, `${name}-${job}_${task}.out`);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

beforeAll(async () => {
  rmSync(worldDir, { recursive: true, force: true });
  cluster = await startSlurmCluster(join(dir, 'cluster'));
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(worldDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('the README Slurm array job on a one-node Slurm cluster', () => {
  it('--array=1-3 over a 4-run grid: every task completes, every run trains once, record and tables equal a one-process run', async () => {
    const ablation = grid('slurm-grid', 4, 2, [1, 2]);
    const job = await submit(ablation, 'array', '1-3', 3);
    await cluster.waitForJob(job, 400_000);
    const states = await cluster.taskStates(job); // sacct
    const logs = [1, 2, 3].map((t) => taskLog('array', job, t)).join('\n----\n');
    expect(states.map((s) => `${s.taskId} ${s.state} ${s.exitCode}`), logs).toEqual(['1 COMPLETED 0:0', '2 COMPLETED 0:0', '3 COMPLETED 0:0']);
    const runs = join(dir, 'array', 'runs');
    const keys = readdirSync(runs).filter((k) => k !== 'records' && !k.startsWith('.'));
    expect(keys).toHaveLength(4);
    for (const k of keys) {
      expect(attemptsOf(join(runs, k)), k).toBe(1);
      expect(stepsOf(join(runs, k)), k).toEqual([1, 2, 3, 4]);
    }
    const record = recordOf('array', 'slurm-grid');
    expect(record.runs.every((r) => r.summary !== null)).toBe(true);

    await run(process.execPath, ['--import', 'tsx', join(projectDir, 'src', 'cli.ts'), 'ablation', ablation, '--jobs', '2', ...out('one-process')], {
      cwd: projectDir, env: { ...process.env, ...env }, maxBuffer: 16 << 20,
    });
    expect(comparable(record)).toEqual(comparable(recordOf('one-process', 'slurm-grid')));
    expect(tableRows('array', 'slurm-grid')).toEqual(tableRows('one-process', 'slurm-grid'));
    // the tables regenerate from the merged record alone
    await run(process.execPath, ['--import', 'tsx', join(projectDir, 'src', 'cli.ts'), 'report', '--record', join(dir, 'array', 'reports', 'slurm-grid', 'default', 'runs.json'), '--check'], { cwd: projectDir, env: { ...process.env, ...env } });
  });

  it('a task cancelled mid-run and resubmitted alone resumes from its checkpoint and trains no step twice', async () => {
    const steps = 120;
    const ablation = grid('slurm-fault', steps, 10, [1]);
    const job = await submit(ablation, 'fault', '1-2', 2);
    // task 1 trains shard 1/2: wait until its run has a checkpoint, then cancel it
    let key: string | undefined;
    const t0 = Date.now();
    for (;;) {
      key ??= /\] train +slurm-fault: .*\((\w+)\)/.exec(taskLog('fault', job, 1))?.[1];
      const pointer = key ? join(dir, 'fault', 'runs', key, 'checkpoints', 'latest.json') : undefined;
      if (pointer && existsSync(pointer)) break;
      if (Date.now() - t0 > 300_000) throw new Error(`task 1 wrote no checkpoint in 300 s:\n${taskLog('fault', job, 1)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await cluster.scancel(`${job}_1`);
    await cluster.waitForJob(job, 400_000);
    const runDir = join(dir, 'fault', 'runs', key!);
    expect((await cluster.taskStates(job)).map((s) => `${s.taskId} ${s.state}`)).toEqual(['1 CANCELLED', '2 COMPLETED']);
    const trainLog = (): string => (existsSync(join(runDir, 'train.log')) ? readFileSync(join(runDir, 'train.log'), 'utf8') : '');
    expect(existsSync(join(runDir, 'results.json')), `${taskLog('fault', job, 1)}\n--- train.log\n${trainLog()}`).toBe(false);
    const stoppedAt = (JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8')) as { step: number }).step;
    expect(stoppedAt).toBeLessThan(steps);

    const again = await submit(ablation, 'fault', '1', 2);
    await cluster.waitForJob(again, 400_000);
    expect((await cluster.taskStates(again)).map((s) => `${s.taskId} ${s.state} ${s.exitCode}`), taskLog('fault', again, 1)).toEqual(['1 COMPLETED 0:0']);
    expect(taskLog('fault', again, 1)).toMatch(/\] resume slurm-fault/);
    expect(stepsOf(runDir)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    expect(attemptsOf(runDir)).toBe(2);

    await run(process.execPath, ['--import', 'tsx', join(projectDir, 'src', 'cli.ts'), 'ablation', ablation, '--jobs', '2', ...out('fault-reference')], {
      cwd: projectDir, env: { ...process.env, ...env }, maxBuffer: 16 << 20,
    });
    expect(comparable(recordOf('fault', 'slurm-fault'))).toEqual(comparable(recordOf('fault-reference', 'slurm-fault')));
  });
});
