/**
 * End to end: a tiny ablation on the synthetic world through the real CLI (child processes, wasm, one thread):
 * the grid trains, its record has every cell; a rerun trains nothing; a runner killed with SIGKILL mid-grid is
 * rerun without redoing finished runs (the orphaned trainer checkpoints and exits on its own).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { AblationRecord } from './summary';

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
    expect(readFileSync(join(dir, 'grid', 'reports', 'tiny-grid', 'default', 'runs.json'), 'utf8')).toBe(JSON.stringify(rec, null, 2) + '\n');
  });

  it('shards split the grid between invocations; the last one completes the record', async () => {
    const a = await cli('ablation', ablation, '--seeds', '1', '--shard', '1/2', ...dirs('shards'));
    expect(a.stdout).toContain('1 to train');
    expect(record('shards').runs.filter((r) => r.summary !== null)).toHaveLength(1);
    const b = await cli('ablation', ablation, '--seeds', '1', '--shard', '2/2', ...dirs('shards'));
    expect(b.stdout).toContain('1 to train');
    expect(record('shards').runs.every((r) => r.summary !== null)).toBe(true);
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
});
