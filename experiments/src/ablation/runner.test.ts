/**
 * End to end: a tiny ablation on the synthetic world through the real CLI (child processes, wasm, one thread):
 * the grid trains, its record has every cell; a rerun trains nothing; a runner killed with SIGKILL mid-grid is
 * rerun without redoing finished runs (the orphaned trainer checkpoints and exits on its own); two runners
 * started together split the grid and never train a run twice; a partial or failing grid never replaces a record
 * with more finished cells; Ctrl-C on the runner and SIGKILL of the runner stop long trainers within a step.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { AblationRecord } from './summary';
import { recordJson } from './record-json';

const run = promisify(execFile);
const projectDir = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = join(projectDir, 'src', 'cli.ts');
const tiny = join(projectDir, 'configs', 'synthetic', 'tiny.yaml');
const env = { ...process.env, CLIP_SENET_BACKEND: 'wasm', CLIP_SENET_WASM_THREADS: '1' };
const dir = mkdtempSync(join(tmpdir(), 'clip-senet-ablation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ablation = join(dir, 'tiny-grid.yaml');
writeFileSync(ablation, `name: tiny-grid
title: Tiny grid (test)
base: ${tiny}
baseline: base
seeds: [1, 2]
set: { train: { maxSteps: 4, checkpoint: { everySteps: 1 } } }
variants:
  - name: base
    description: appearance only
    paper: [IV/baseline]
    set: { model: { sem: null, fusion: { $replace: true, name: appearance-only, outDim: 32 } } }
  - name: full
    description: CLIP-SENet fusion
    paper: [IV/+SEM+AFEM]
`);

const long = join(dir, 'long-grid.yaml');
writeFileSync(long, `name: long-grid
title: One long run (test)
base: ${tiny}
baseline: base
seeds: [1]
set: { train: { maxSteps: 100000, epochs: 100000, checkpoint: { everySteps: 100000 } } }
variants:
  - name: base
    description: appearance only
    set: { model: { sem: null, fusion: { $replace: true, name: appearance-only, outDim: 32 } } }
`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const stepLines = (file: string): number[] =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { type: string; step: number }).filter((l) => l.type === 'step').map((l) => l.step) : [];

/** Start a runner on the long grid and wait until its trainer has logged a few steps; returns the trainer's pid. */
async function startLong(name: string, pipeStderr = false): Promise<{ runner: ReturnType<typeof spawn>; trainer: number; runDir: string }> {
  // its own process group, as a shell job in a terminal: Ctrl-C there signals the runner and its trainers together
  const runner = spawn(process.execPath, ['--import', 'tsx', cliPath, 'ablation', long, '--jobs', '1', ...dirs(name)], {
    cwd: projectDir, env, stdio: ['ignore', 'ignore', pipeStderr ? 'pipe' : 'ignore'], detached: true,
  });
  const t0 = Date.now();
  for (;;) {
    if (Date.now() - t0 > 120_000) throw new Error('the long run logged no step within 120 s');
    const runs = join(dir, name, 'runs');
    const key = existsSync(runs) ? readdirSync(runs)[0] : undefined;
    if (key !== undefined && stepLines(join(runs, key, 'log.jsonl')).length >= 3 && existsSync(join(runs, key, 'runner.lock'))) {
      const lock = JSON.parse(readFileSync(join(runs, key, 'runner.lock'), 'utf8')) as { trainer: number | null };
      if (lock.trainer !== null) return { runner, trainer: lock.trainer, runDir: join(runs, key) };
    }
    await sleep(100);
  }
}

async function waitDead(pid: number, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (alive(pid) && Date.now() - t0 < ms) await sleep(100);
  return !alive(pid);
}

function cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', cliPath, ...args], { cwd: projectDir, env, maxBuffer: 16 << 20 });
}

const dirs = (name: string): string[] => ['--runs-dir', join(dir, name, 'runs'), '--reports-dir', join(dir, name, 'reports')];
const record = (name: string): AblationRecord => JSON.parse(readFileSync(join(dir, name, 'reports', 'tiny-grid', 'default', 'runs.json'), 'utf8')) as AblationRecord;
const summaries = (name: string): string[] => {
  const runs = join(dir, name, 'runs');
  return existsSync(runs) ? readdirSync(runs).filter((k) => existsSync(join(runs, k, 'summary.json'))) : [];
};

describe('clip-senet ablation (tiny grid, real trainers)', () => {
  it('--dry-run prints the plan and writes nothing', async () => {
    const r = await cli('ablation', ablation, '--dry-run', ...dirs('dry'));
    expect(r.stdout).toContain('2 variants × 2 seeds = 4 runs, 4 distinct; this invocation: 4 to train, 0 already finished');
    expect(r.stdout.match(/ train$/gm)?.length).toBe(4);
    expect(existsSync(join(dir, 'dry'))).toBe(false);
  });

  it('trains the grid, writes a complete record, and a rerun trains nothing', async () => {
    const first = await cli('ablation', ablation, '--jobs', '2', ...dirs('grid'));
    expect(first.stdout).toContain('4/4 grid cells finished');
    const rec = record('grid');
    expect(rec.runs.map((r) => `${r.variant}/${r.seed}`)).toEqual(['base/1', 'base/2', 'full/1', 'full/2']);
    for (const r of rec.runs) {
      expect(r.summary).not.toBeNull();
      expect(r.summary!.runKey).toBe(r.runKey);
      expect(r.summary!.seed).toBe(r.seed);
      expect(r.summary!.dataset).toBe('synthetic');
      expect(r.summary!.protocolId).toBe('veri776/no-rr/cosine/non-interp');
      expect(r.summary!.trainCurve.at(-1)!.step).toBe(4);
      expect(r.summary!.datasetRoot.startsWith('/')).toBe(false);
    }
    expect(rec.variants.map((v) => v.paper)).toEqual([['IV/baseline'], ['IV/+SEM+AFEM']]);
    const md = readFileSync(join(dir, 'grid', 'reports', 'tiny-grid', 'default', 'tiny-grid.md'), 'utf8');
    expect(md).toContain('| `full` | CLIP-SENet fusion | 2/2 seeds |');
    expect(existsSync(join(dir, 'grid', 'reports', 'tiny-grid', 'default', 'tiny-grid.csv'))).toBe(true);
    const again = await cli('ablation', ablation, ...dirs('grid'));
    expect(again.stdout).toContain('0 to train, 4 already finished');
    expect(again.stdout).not.toMatch(/\] train /);
    expect(readFileSync(join(dir, 'grid', 'reports', 'tiny-grid', 'default', 'runs.json'), 'utf8')).toBe(recordJson(rec));
  });

  it('shards split the grid between invocations; the last one completes the record', async () => {
    const a = await cli('ablation', ablation, '--seeds', '1', '--shard', '1/2', ...dirs('shards'));
    expect(a.stdout).toContain('1 to train');
    expect(record('shards').runs.filter((r) => r.summary !== null)).toHaveLength(1);
    const b = await cli('ablation', ablation, '--seeds', '1', '--shard', '2/2', ...dirs('shards'));
    expect(b.stdout).toContain('1 to train');
    expect(record('shards').runs.every((r) => r.summary !== null)).toBe(true);
    // more seeds for the finished grid: only the new seed trains, the record grows
    const before = record('shards').runs.map((r) => r.summary!.finishedAt);
    const more = await cli('ablation', ablation, '--seeds', '1,2', ...dirs('shards'));
    expect(more.stdout).toContain('2 to train, 2 already finished');
    const grown = record('shards');
    expect(grown.seeds).toEqual([1, 2]);
    expect(grown.runs.every((r) => r.summary !== null)).toBe(true);
    expect(grown.runs.filter((r) => r.seed === 1).map((r) => r.summary!.finishedAt)).toEqual(before);
  });

  it('a runner killed with SIGKILL mid-grid is rerun without redoing finished runs', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliPath, 'ablation', ablation, '--seeds', '1', '--jobs', '1', ...dirs('killed')], { cwd: projectDir, env, stdio: 'ignore' });
    const t0 = Date.now();
    while (summaries('killed').length < 1) {
      if (Date.now() - t0 > 180_000) throw new Error('no run finished within 180 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGKILL');
    const done = summaries('killed');
    const mtimes = done.map((k) => statSync(join(dir, 'killed', 'runs', k, 'summary.json')).mtimeMs);
    const rerun = await cli('ablation', ablation, '--seeds', '1', '--jobs', '2', ...dirs('killed'));
    expect(rerun.stdout).toMatch(new RegExp(`${2 - done.length} to train, ${done.length} already finished`));
    expect(record('killed').runs.every((r) => r.summary !== null)).toBe(true);
    // finished runs were not touched again
    expect(done.map((k) => statSync(join(dir, 'killed', 'runs', k, 'summary.json')).mtimeMs)).toEqual(mtimes);
    for (const k of done) expect(readFileSync(join(dir, 'killed', 'runs', k, 'attempts.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('two runners started together split the grid: every run is trained exactly once', async () => {
    const spawnRunner = () => new Promise<{ code: number | null; out: string }>((res) => {
      const c = spawn(process.execPath, ['--import', 'tsx', cliPath, 'ablation', ablation, '--jobs', '1', ...dirs('race')], { cwd: projectDir, env });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', (code) => res({ code, out }));
    });
    const [a, b] = await Promise.all([spawnRunner(), spawnRunner()]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    const done = (a.out + b.out).match(/\] done /g) ?? [];
    expect(done).toHaveLength(4);
    const runs = join(dir, 'race', 'runs');
    const keys = readdirSync(runs).filter((k) => existsSync(join(runs, k, 'summary.json')));
    expect(keys).toHaveLength(4);
    for (const k of keys) {
      expect(readFileSync(join(runs, k, 'attempts.jsonl'), 'utf8').trim().split('\n'), k).toHaveLength(1);
      expect(stepLines(join(runs, k, 'log.jsonl')), k).toEqual([1, 2, 3, 4]);
      expect(existsSync(join(runs, k, 'runner.lock'))).toBe(false);
    }
    // whichever runner wrote last, the record is complete
    expect(record('race').runs.every((r) => r.summary !== null)).toBe(true);
  });

  it('a partial or failing grid never replaces a record holding more finished cells', async () => {
    const recFile = join(dir, 'grid', 'reports', 'tiny-grid', 'default', 'runs.json');
    const mdFile = join(dir, 'grid', 'reports', 'tiny-grid', 'default', 'tiny-grid.md');
    const [rec0, md0] = [readFileSync(recFile, 'utf8'), readFileSync(mdFile, 'utf8')];
    // fewer seeds, other steps (every run trains and finishes): 2 finished cells instead of 4
    const partial = await cli('ablation', ablation, '--seeds', '1', '--set', 'train.maxSteps=2', ...dirs('grid'));
    expect(partial.stderr).toMatch(/kept .*runs\.json and its reports as they were: the new record would have 2 finished grid cell\(s\) fewer \(base\/seed 2, full\/seed 2\)/);
    expect(readFileSync(recFile, 'utf8')).toBe(rec0);
    expect(readFileSync(mdFile, 'utf8')).toBe(md0);
    // a failing run: its folder holds another config
    const dry = await cli('ablation', ablation, '--set', 'train.maxSteps=3', '--dry-run', ...dirs('grid'));
    const key = /^\s+base\s+seed 1\s+(\S+)/m.exec(dry.stdout)![1]!;
    mkdirSync(join(dir, 'grid', 'runs', key), { recursive: true });
    writeFileSync(join(dir, 'grid', 'runs', key, 'resolved-config.yaml'), 'edited: by hand\n');
    const failing = await cli('ablation', ablation, '--set', 'train.maxSteps=3', ...dirs('grid')).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(failing?.code).toBe(1);
    expect(failing?.stderr).toMatch(/1 run\(s\) failed/);
    expect(failing?.stderr).toMatch(/kept .*fewer \(base\/seed 1\)/);
    expect(readFileSync(recFile, 'utf8')).toBe(rec0);
    expect(readFileSync(mdFile, 'utf8')).toBe(md0);
  });

  it('Ctrl-C (SIGINT to the runner and its trainer at once): the trainer checkpoints within a step and both exit', async () => {
    const { runner, trainer, runDir } = await startLong('sigint');
    const exited = new Promise<number | null>((r) => runner.on('exit', (code) => r(code)));
    process.kill(-runner.pid!, 'SIGINT'); // the whole process group, as a terminal does
    expect(await waitDead(trainer, 30_000)).toBe(true);
    await exited;
    const ckpt = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8')) as { step: number };
    expect(ckpt.step).toBe(stepLines(join(runDir, 'log.jsonl')).at(-1));
    expect(ckpt.step).toBeLessThan(100000);
  });

  it('SIGKILL of the runner: the orphaned trainer checkpoints and exits by itself', async () => {
    const { runner, trainer, runDir } = await startLong('orphan');
    runner.kill('SIGKILL');
    expect(await waitDead(trainer, 30_000)).toBe(true);
    const ckpt = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8')) as { step: number };
    expect(ckpt.step).toBe(stepLines(join(runDir, 'log.jsonl')).at(-1));
  });

  it('tasks of one Slurm array job that planned another grid or shard count are refused before training', async () => {
    const job = { ...env, SLURM_ARRAY_JOB_ID: '4242', SLURM_ARRAY_TASK_ID: '1' };
    const cliEnv = (extra: Record<string, string>, ...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', cliPath, ...args], { cwd: projectDir, env: { ...env, ...extra }, maxBuffer: 16 << 20 });
    await cliEnv(job, 'ablation', ablation, '--seeds', '1', '--shard', '1/2', ...dirs('job'));
    const other = await cliEnv({ ...job, SLURM_ARRAY_TASK_ID: '2' }, 'ablation', ablation, '--seeds', '1', '--set', 'train.maxSteps=2', '--shard', '2/2', ...dirs('job'))
      .then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(other?.code).toBe(1);
    expect(other?.stderr).toMatch(/task 2 of Slurm job 4242 planned another grid than the job's first task \(.*4242-tiny-grid-default\.json\): 4 run key\(s\) differ/);
    const count = await cliEnv({ ...job, SLURM_ARRAY_TASK_ID: '2' }, 'ablation', ablation, '--seeds', '1', '--shard', '2/3', ...dirs('job'))
      .then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(count?.stderr).toMatch(/shard count 3 vs 2/);
    expect(readdirSync(join(dir, 'job', 'runs')).filter((k) => existsSync(join(dir, 'job', 'runs', k, 'summary.json')))).toHaveLength(1);
  });

  it('a shard waits for its own run held by a dead task on another node, and takes it over once the lock is stale', async () => {
    const dry = await cli('ablation', ablation, '--seeds', '1', '--shard', '1/2', '--dry-run', ...dirs('takeover'));
    const key = /^\s+\S+\s+seed 1\s+(\S+)\s+train$/m.exec(dry.stdout)![1]!;
    const runDir = join(dir, 'takeover', 'runs', key);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'runner.lock'), JSON.stringify({ host: 'node-b', runner: 1, trainer: 2, token: 'x', since: new Date().toISOString() }));
    const r = await run(process.execPath, ['--import', 'tsx', cliPath, 'ablation', ablation, '--seeds', '1', '--shard', '1/2', ...dirs('takeover')], {
      cwd: projectDir, env: { ...env, CLIP_SENET_LOCK_STALE_S: '3' }, maxBuffer: 16 << 20,
    });
    expect(r.stdout).toMatch(/\] wait .*held by runner 1 \(trainer 2\) on node-b/);
    expect(r.stdout).toMatch(/stale lock \(no heartbeat from node-b for \d+ s\) removed/);
    expect(r.stdout).toMatch(/\] done /);
    expect(existsSync(join(runDir, 'summary.json'))).toBe(true);
  });

  it('a runs folder that cannot be written is one error before anything trains', async () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const r = await cli('ablation', ablation, '--seeds', '1', '--runs-dir', join(file, 'runs'), '--reports-dir', join(dir, 'unwritable-reports'))
      .then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(r?.code).toBe(1);
    expect(r?.stderr).toContain(`the runs folder ${join(file, 'runs')} cannot be written (ENOTDIR); nothing was trained`);
    expect(existsSync(join(dir, 'unwritable-reports'))).toBe(false);
  });

  it('a trainer killed by a signal is reported by that signal, and the attempt records 128 + its number', async () => {
    const { runner, trainer, runDir } = await startLong('killed-trainer', true);
    let err = '';
    runner.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => runner.on('exit', (code) => r(code)));
    process.kill(trainer, 'SIGKILL');
    expect(await exited).toBe(1);
    expect(err).toMatch(/trainer was killed by SIGKILL; log /);
    const attempt = JSON.parse(readFileSync(join(runDir, 'attempts.jsonl'), 'utf8').trim().split('\n').at(-1)!) as { exit: number };
    expect(attempt.exit).toBe(137);
  });
});
