/**
 * Evaluation-only variants end to end (real CLI, wasm, one thread): a grid of `none` + `rerank` trains once per seed;
 * `rerank` re-evaluates that checkpoint with re-ranking, its summary names the run it evaluated, its numbers are
 * exactly those of `clip-senet eval --set eval.rerank.enabled=true` on that run; a rerun does nothing. A variant
 * marked evaluateOnly that changes training, and `eval --config` with a config of another training, are errors.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAblation } from './definition';
import { planAblation } from './plan';
import type { AblationRecord, RunSummary } from './summary';

const run = promisify(execFile);
const projectDir = fileURLToPath(new URL('../..', import.meta.url));
const cliPath = join(projectDir, 'src', 'cli.ts');
const tiny = join(projectDir, 'configs', 'synthetic', 'tiny.yaml');
const env = { ...process.env, CLIP_SENET_BACKEND: 'wasm', CLIP_SENET_WASM_THREADS: '1' };
const dir = mkdtempSync(join(tmpdir(), 'clip-senet-eval-only-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
  run(process.execPath, ['--import', 'tsx', cliPath, ...args], { cwd: projectDir, env, maxBuffer: 16 << 20 });

function grid(name: string, variants: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}
title: Evaluation-only grid (test)
base: ${tiny}
baseline: none
seeds: [1]
set: { train: { maxSteps: 3, eval: { rankedLists: 2 } }, model: { sem: null, fusion: { $replace: true, name: appearance-only, outDim: 32 } } }
variants:
${variants}`);
  return file;
}

const variants = `  - { name: none, evaluateOnly: true, description: no post-processing, set: { eval: { rerank: { enabled: false } } } }
  - { name: rerank, evaluateOnly: true, description: re-ranking, set: { eval: { rerank: { enabled: true, k1: 6, k2: 2 } } } }
`;

describe('evaluation-only variants', () => {
  it('plans one training per seed and refuses an evaluateOnly variant that changes training', () => {
    const plan = planAblation(loadAblation(grid('plan-grid', variants)), { profile: 'default' });
    const [none, rerank] = plan.runs;
    expect(none!.evaluates).toBeUndefined(); // its config is the common one: it is the trained run
    expect(rerank!.evaluates?.runKey).toBe(none!.runKey);
    expect(rerank!.runKey).not.toBe(none!.runKey);
    const bad = grid('bad-grid', `${variants}  - { name: lr, evaluateOnly: true, description: not evaluation, set: { train: { optimizer: { lr: 0.5 } }, eval: { aqe: { enabled: true } } } }\n`);
    expect(() => planAblation(loadAblation(bad), { profile: 'default' })).toThrow(/variant 'lr' is evaluateOnly but changes 'train\.optimizer\.lr' \(only eval\.\* and train\.eval\.flip/);
  });

  it('trains once, re-evaluates the checkpoint, and records which run it evaluated', async () => {
    const file = grid('eo-grid', variants);
    const runsDir = join(dir, 'runs');
    const reportsDir = join(dir, 'reports');
    const first = await cli('ablation', file, '--jobs', '1', '--runs-dir', runsDir, '--reports-dir', reportsDir);
    expect(first.stdout).toContain('1 to train, 0 already finished, 1 evaluation-only run(s) to evaluate');
    const record = JSON.parse(readFileSync(join(reportsDir, 'eo-grid', 'default', 'runs.json'), 'utf8')) as AblationRecord;
    const [none, rerank] = record.runs.map((r) => r.summary!) as [RunSummary, RunSummary];
    expect(rerank.evaluates).toBe(none.runKey);
    expect(none.evaluates).toBeUndefined();
    expect(rerank.protocolId).toMatch(/\/rr\(k1=6,k2=2,/);
    expect(none.protocolId).toMatch(/\/no-rr\//);
    expect(rerank.trainCurve).toEqual(none.trainCurve);
    expect(rerank.ranked.length).toBe(2);
    expect(none.apPerQuery!.length).toBeGreaterThan(0); // per-query AP reaches the summaries (for the query bootstrap)
    expect(rerank.apPerQuery!.length).toBe(none.apPerQuery!.length);
    expect(existsSync(join(runsDir, rerank.runKey, 'checkpoints'))).toBe(false); // nothing trained there
    // the same numbers as evaluating that run by hand with re-ranking on
    const out = join(dir, 'by-hand.json');
    await cli('eval', '--run', join(runsDir, none.runKey), '--set', 'eval.rerank.enabled=true', '--set', 'eval.rerank.k1=6', '--set', 'eval.rerank.k2=2', '--out', out);
    const byHand = JSON.parse(readFileSync(out, 'utf8')) as { mAP: number; rank1: number; mINP: number; protocolId: string };
    expect({ ...rerank.metrics, protocolId: rerank.protocolId }).toMatchObject({ mAP: byHand.mAP, rank1: byHand.rank1, mINP: byHand.mINP, protocolId: byHand.protocolId });
    expect(readFileSync(join(reportsDir, 'eo-grid', 'default', 'eo-grid.md'), 'utf8')).toContain(`(evaluates the checkpoint of \`${none.runKey}\`)`);
    const again = await cli('ablation', file, '--jobs', '1', '--runs-dir', runsDir, '--reports-dir', reportsDir);
    expect(again.stdout).toContain('0 to train, 1 already finished, 0 evaluation-only run(s) to evaluate');
    // eval --config with a config of another training is refused, naming the difference
    const other = join(dir, 'other.yaml');
    writeFileSync(other, readFileSync(join(runsDir, none.runKey, 'resolved-config.yaml'), 'utf8').replace(/seed: 1\b/, 'seed: 7'));
    await expect(cli('eval', '--run', join(runsDir, none.runKey), '--config', other)).rejects.toMatchObject({ stderr: expect.stringMatching(/outside the evaluation settings .* at 'train\.seed'/) as unknown as string });
  }, 240_000);
});
