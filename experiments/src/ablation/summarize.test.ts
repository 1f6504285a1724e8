/**
 * The evaluation epochs a run summary records for a schedule: a real tiny run (6 epochs, evaluated every 2) must be
 * recorded at epochs 2, 4 and 6 — the number of epochs completed when each evaluation ran — and an old
 * `run-summary@1` (one epoch late) is read back shifted by exactly one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli';
import { loadExperimentConfig } from '../config';
import { summarizeRun, upgradeSummary } from './summarize';
import { RUN_SUMMARY_FORMAT } from './summary';

const projectDir = fileURLToPath(new URL('../..', import.meta.url));
const tiny = join(projectDir, 'configs', 'synthetic', 'tiny.yaml');
const dir = mkdtempSync(join(tmpdir(), 'clip-senet-summarize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run summary evaluation epochs', () => {
  it('a run of 6 epochs evaluated every 2 is recorded at epochs 2, 4, 6 (at the steps those epochs ended)', async () => {
    const sets = ['train.maxSteps=null', 'train.epochs=6', 'train.eval.everyEpochs=2', 'train.checkpoint.everySteps=100'];
    const runDir = join(dir, 'run');
    let out = '';
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (out += t) };
    const code = await main(['train', '--config', tiny, '--run-dir', runDir, '--no-progress', ...sets.flatMap((s) => ['--set', s])], io);
    expect(code, out).toBe(0);
    const config = loadExperimentConfig(tiny, sets);
    const summary = summarizeRun(runDir, 'k', config, dir);
    expect(summary.evalCurve.map((p) => p.epoch)).toEqual([2, 4, 6]);
    // each evaluation ran at the last step of its epoch, as the step log says
    const steps = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; epoch: number })
      .filter((l) => l.type === 'step');
    const lastStepOfEpoch = (e: number): number => Math.max(...steps.filter((s) => s.epoch === e - 1).map((s) => s.step));
    expect(summary.evalCurve.map((p) => p.step)).toEqual([2, 4, 6].map(lastStepOfEpoch));
  });

  it('reads a run-summary@1 one epoch earlier and refuses an unknown format naming the file', () => {
    const old = { format: 'clip-senet/run-summary@1', evalCurve: [{ step: 5, epoch: 4, mAP: 0.1, rank1: 0.1, rank5: 0.2, mINP: 0.05 }] };
    const up = upgradeSummary(old, 'x.json');
    expect(up.format).toBe(RUN_SUMMARY_FORMAT);
    expect(up.evalCurve.map((p) => p.epoch)).toEqual([3]);
    expect(() => upgradeSummary({ format: 'nope' }, 'runs/k/summary.json')).toThrow(/runs\/k\/summary\.json: unknown format 'nope'/);
  });
});
