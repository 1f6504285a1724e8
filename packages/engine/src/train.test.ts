import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@clip-senet/core';
import type { Scalar } from '@clip-senet/core';
import { tempDirs } from '@clip-senet/core/testing';
import { latestCheckpoint, loadCheckpoint } from './checkpoint';
import { checkpointHook, resumeState } from './checkpoint-hook';
import { evalHook, jsonlLog, leakGuard, NonFiniteError, nonFiniteGuard, progressHook, TensorLeakError } from './hooks';
import { buildOptimizer } from './optimizer-config';
import { buildSchedule } from './schedule';
import { tinyConvModel, tinyLoss, tinySource, type TinySourceState } from './testing';
import { train, type TrainHook } from './train';

const dirs = tempDirs('engine-train-');
const tmp = (): string => dirs.make();

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});
afterAll(() => dirs.removeAll());

const EPOCHS = 3;
const PER_EPOCH = 4;
const schedule = buildSchedule({ name: 'cosine', warmup: 1, warmupFactor: 0.1 }, { lr: 0.05, totalSteps: EPOCHS * PER_EPOCH, stepsPerEpoch: PER_EPOCH });

/** Build a run (model seed, optimiser, source), optionally resuming from `dir`; returns its pieces. */
function setup(dir: string, modelSeed: number, resume: boolean) {
  const model = tinyConvModel(modelSeed);
  const optimizer = buildOptimizer({ name: 'adamw', lr: 0.05, weightDecay: 0.01 }, model.params);
  const state = resume ? resumeState(dir, { params: model.params, buffers: model.buffers, optimizer, configHash: 'cfg' }) : undefined;
  const data = tinySource(11, { batchesPerEpoch: PER_EPOCH, ...(state ? { state: state.data as TinySourceState } : {}) });
  const log = jsonlLog(join(dir, 'log.jsonl'));
  const hooks: TrainHook[] = [nonFiniteGuard(), log, leakGuard(), checkpointHook({ dir, params: model.params, buffers: model.buffers, optimizer, configHash: 'cfg' })];
  const start = state ? { step: state.step, epoch: state.epoch } : undefined;
  return { model, optimizer, data, hooks, log, ...(start ? { start } : {}) };
}

function snapshot(run: ReturnType<typeof setup>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, v] of [...run.model.params, ...run.model.buffers, ...run.optimizer.stateTensors()]) out[k] = Array.from(v.dataSync());
  return out;
}

function dispose(run: ReturnType<typeof setup>): void {
  run.model.dispose();
  run.optimizer.dispose();
}

function logLines(dir: string): { type: string; step: number; loss: Record<string, number> }[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('train loop', () => {
  it('resumes bit-identically after SIGINT → checkpoint → fresh model/optimiser/source → restore', async () => {
    const fullDir = tmp();
    const full = setup(fullDir, 1, false);
    const fullResult = await train({ ...full, lossFn: (b) => tinyLoss(full.model, b), schedule, epochs: EPOCHS, signals: [] });
    expect(fullResult).toEqual({ reason: 'completed', step: 12, epoch: 3 });
    const want = snapshot(full);
    dispose(full);

    const dir = tmp();
    const signals = new EventEmitter();
    const first = setup(dir, 1, false);
    const interrupter: TrainHook = { name: 'interrupter', onStepEnd: (ctx) => void (ctx.step === 5 && signals.emit('SIGINT', 'SIGINT')) };
    const r1 = await train({ ...first, hooks: [...first.hooks, interrupter], lossFn: (b) => tinyLoss(first.model, b), schedule, epochs: EPOCHS, signalTarget: signals });
    expect(r1).toEqual({ reason: 'interrupted', stoppedBy: 'SIGINT', step: 5, epoch: 1 });
    expect(signals.listenerCount('SIGINT')).toBe(0);
    expect(loadCheckpoint(dir).state.step).toBe(5);
    dispose(first);

    const second = setup(dir, 99, true);
    expect(second.start).toEqual({ step: 5, epoch: 1 });
    const r2 = await train({ ...second, lossFn: (b) => tinyLoss(second.model, b), schedule, epochs: EPOCHS, signals: [] });
    expect(r2).toEqual({ reason: 'completed', step: 12, epoch: 3 });
    expect(snapshot(second)).toEqual(want);
    dispose(second);

    const a = logLines(fullDir);
    const b = logLines(dir);
    expect(b.map((l) => l.step)).toEqual(a.map((l) => l.step));
    expect(b.map((l) => l.loss)).toEqual(a.map((l) => l.loss));
    expect(Object.keys(a[0]!.loss).sort()).toEqual(['ce', 'feature_l2', 'total']);
    expect(a.at(-1)!.loss.total!).toBeLessThan(a[0]!.loss.total!);
  });

  it('a signal delivered by the event loop (a timer here) stops the run within one step, with a checkpoint', async () => {
    // tinySource resolves its batches synchronously, as a prefetched loader does: without a turn of the event loop
    // per step the timer below (like a real signal handler or the parent-watch) would only run after the last step
    const dir = tmp();
    const signals = new EventEmitter();
    const run = setup(dir, 3, false);
    let firedAt: number | undefined;
    const timerOnStart: TrainHook = {
      name: 'timer',
      onStart: (ctx) => void setTimeout(() => {
        firedAt = ctx.step;
        // twice at once, as a process group's signal plus the runner's forward arrive: still one graceful stop
        signals.emit('SIGTERM', 'SIGTERM');
        signals.emit('SIGTERM', 'SIGTERM');
      }, 0),
    };
    const epochs = 100; // 400 steps: far more than the timer needs
    const result = await train({ ...run, hooks: [timerOnStart, ...run.hooks], lossFn: (b) => tinyLoss(run.model, b), schedule, epochs, signalTarget: signals });
    expect(firedAt).toBeDefined();
    expect(result.reason).toBe('interrupted');
    expect(result.stoppedBy).toBe('SIGTERM');
    expect(result.step).toBeLessThanOrEqual(firedAt! + 1);
    expect(result.step).toBeLessThan(epochs * PER_EPOCH);
    expect(loadCheckpoint(dir).state.step).toBe(result.step);
    dispose(run);
  });

  it("the JSONL log refuses to append to a file that is not a training log (names file and line); a torn last line is dropped", async () => {
    const dir = tmp();
    const file = join(dir, 'log.jsonl');
    writeFileSync(file, '{"type":"step","step":1}\n{"note":"a user\'s own record"}\n');
    const ctx = { step: 0 } as Parameters<NonNullable<TrainHook['onStart']>>[0];
    expect(() => jsonlLog(file).onStart!(ctx)).toThrow(`${file}:2: not a training log record`);
    writeFileSync(file, 'plain text\n{"type":"step","step":1}\n');
    expect(() => jsonlLog(file).onStart!(ctx)).toThrow(`${file}:1: not a JSON line`);
    expect(readFileSync(file, 'utf8')).toBe('plain text\n{"type":"step","step":1}\n');
    writeFileSync(file, 'a one-line note of my own\n'); // not JSON, but not a torn record either: kept, refused
    expect(() => jsonlLog(file).onStart!(ctx)).toThrow(`${file}:1: not a JSON line`);
    expect(readFileSync(file, 'utf8')).toBe('a one-line note of my own\n');
    writeFileSync(file, '{"type":"step","step":1}\n{"type":"step","st');
    const log = jsonlLog(file);
    log.onStart!({ step: 1 } as typeof ctx);
    (log.onEnd as () => void)();
    expect(readFileSync(file, 'utf8')).toBe('{"type":"step","step":1}\n');
  });

  it('a log write that fails (file size limit, as a full disk fails it) names the log file and keeps the code', () => {
    const file = join(tmp(), 'log.jsonl');
    const hooks = fileURLToPath(new URL('./hooks.ts', import.meta.url));
    const script = `import { jsonlLog } from ${JSON.stringify(hooks)};
      const log = jsonlLog(${JSON.stringify(file)});
      log.onStart({ step: 0 });
      try { log.write({ type: 'step', step: 1, pad: 'x'.repeat(1 << 16) }); console.log('no error'); }
      catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code })); }`;
    // ulimit -f 8: writes past 8 KiB fail with EFBIG (SIGXFSZ ignored)
    const child = spawnSync('bash', ['-c', 'trap "" XFSZ; ulimit -f 8; exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ message: `Cannot append to ${file}: EFBIG: file too large, write`, code: 'EFBIG' });
  });

  it('stops on a non-finite loss without applying the update; the last good checkpoint stays latest', async () => {
    const dir = tmp();
    const run = setup(dir, 1, false);
    let before: Record<string, number[]> = {};
    const lossFn = (b: Parameters<typeof tinyLoss>[1], ctx: { step: number }) => {
      const out = tinyLoss(run.model, b);
      if (ctx.step !== 5) return out;
      before = Object.fromEntries([...run.model.params].map(([k, v]) => [k, Array.from(v.dataSync())]));
      return { total: tf.mul(out.total, NaN) as Scalar, terms: { ...out.terms, ce: tf.mul(out.terms.ce!, NaN) as Scalar } };
    };
    const err = await train({ ...run, lossFn, schedule, epochs: EPOCHS, signals: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect((err as Error).message).toMatch(/step 6 .*loss 'ce' = NaN, loss 'total' = NaN.*last good state/);
    expect(Object.fromEntries([...run.model.params].map(([k, v]) => [k, Array.from(v.dataSync())]))).toEqual(before);
    expect(latestCheckpoint(dir)).toMatch(/ckpt-step-00000004/);
    expect(logLines(dir).map((l) => l.step)).toEqual([1, 2, 3, 4, 5]);
    dispose(run);
  });

  it('fails on a tensor leak with a clear error', async () => {
    const dir = tmp();
    const run = setup(dir, 1, false);
    let leaked: tf.Tensor[] = [];
    const lossFn = (b: Parameters<typeof tinyLoss>[1]) => {
      leaked.push(tf.keep(tf.ones([1])));
      return tinyLoss(run.model, b);
    };
    const err = await train({ ...run, lossFn, schedule, steps: 6, signals: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TensorLeakError);
    expect((err as Error).message).toMatch(/Tensor leak: \d+ live tensors after step 3, 1 more than after step 2/);
    tf.dispose(leaked);
    leaked = [];
    dispose(run);
  });

  it('evaluates every epoch, logs results, and shows progress with an ETA', async () => {
    const dir = tmp();
    const run = setup(dir, 1, false);
    const lines: string[] = [];
    const evals: number[] = [];
    const hooks = [
      ...run.hooks,
      progressHook({ stream: { write: (s: string) => lines.push(s) }, isTTY: false, intervalMs: 0 }),
      evalHook({ evaluate: (ctx) => (evals.push(ctx.step), { mAP: ctx.step / 100 }), onResult: (r) => run.log.write(r) }),
    ];
    await train({ ...run, hooks, lossFn: (b) => tinyLoss(run.model, b), schedule, epochs: 2, stepsPerEpoch: PER_EPOCH, signals: [] });
    expect(evals).toEqual([4, 8]);
    const evalLines = logLines(dir).filter((l) => l.type === 'eval');
    expect(evalLines.map((l) => [l.step, (l as unknown as { metrics: { mAP: number } }).metrics.mAP])).toEqual([[4, 0.04], [8, 0.08]]);
    expect(lines.join('')).toMatch(/train: 1\/8 12% .*ETA .*loss=/);
    expect(lines.join('')).toMatch(/train: done 8/);
    dispose(run);
  });
});
