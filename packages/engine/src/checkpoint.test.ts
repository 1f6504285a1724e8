import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configIdentity, initBackend, Rng, tf } from '@clip-senet/core';
import { tempDirs } from '@clip-senet/core/testing';
import { latestCheckpoint, loadCheckpoint, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { Adam } from './optimizer';
import { disposeTinyTensors, tinyCheckpointTensors } from './testing';

const dirs = tempDirs('engine-ckpt-');
const tmp = (): string => dirs.make();

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});
afterAll(() => dirs.removeAll());

const model = tinyCheckpointTensors;
const dispose = disposeTinyTensors;

describe('checkpoints', () => {
  it('round-trips params, buffers, optimiser state and JSON state exactly', async () => {
    const dir = tmp();
    const a = model(1);
    const opt = new Adam(a.params);
    const g = new Map([...a.params].map(([k, v]) => [k, tf.onesLike(v)]));
    opt.step(g, 0.1);
    const rng = new Rng(7);
    rng.uint32();
    const state = { step: 1, epoch: 0, configHash: configIdentity({ b: 1, a: [1, 2] }).key, rngs: { data: rng.state() }, data: { position: 3 } };
    const path = await saveCheckpoint(dir, { params: a.params, buffers: a.buffers, optimizer: opt, state });
    expect(latestCheckpoint(dir)).toBe(path);

    const b = model(2);
    const opt2 = new Adam(b.params);
    const restored = restoreCheckpoint(loadCheckpoint(dir), { params: b.params, buffers: b.buffers, optimizer: opt2, configHash: configIdentity({ b: 1, a: [1, 2] }).key });
    expect(restored).toEqual({ ...state, optimizer: { name: 'adam', step: 1 } });
    expect(Rng.fromState(restored.rngs!.data!).uint32()).toBe(rng.uint32());
    for (const [k, v] of [...a.params, ...a.buffers]) {
      expect(Array.from((b.params.get(k) ?? b.buffers.get(k))!.dataSync())).toEqual(Array.from(v.dataSync()));
    }
    for (const [k, v] of opt.stateTensors()) expect(Array.from(opt2.stateTensors().get(k)!.dataSync())).toEqual(Array.from(v.dataSync()));
    expect(opt2.meta().step).toBe(1);
    for (const t of g.values()) t.dispose();
    [a, b].forEach(dispose);
    opt.dispose();
    opt2.dispose();
  });

  it('updates latest last and keeps only the newest checkpoints', async () => {
    const dir = tmp();
    const a = model(1);
    for (const step of [1, 2, 3, 4]) await saveCheckpoint(dir, { params: a.params, state: { step, epoch: step } }, { keepLast: 2 });
    expect(readdirSync(dir).sort()).toEqual(['ckpt-step-00000003.safetensors', 'ckpt-step-00000004.safetensors', 'latest.json']);
    expect(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8'))).toEqual({ file: 'ckpt-step-00000004.safetensors', step: 4, epoch: 4, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(loadCheckpoint(dir).state.step).toBe(4);
    expect(latestCheckpoint(tmp())).toBeUndefined();
    dispose(a);
  });

  it('fails with one error listing every mismatch and assigns nothing', async () => {
    const dir = tmp();
    const a = model(1);
    await saveCheckpoint(dir, { params: a.params, buffers: a.buffers, state: { step: 1, epoch: 0, configHash: 'aaaa' } });
    const b = model(2);
    b.params.get('fc.bias')!.dispose();
    b.params.set('fc.bias', tf.variable(tf.zeros([3]), true));
    b.params.set('head.weight', tf.variable(tf.zeros([2]), true));
    b.buffers.clear();
    const before = Array.from(b.params.get('fc.weight')!.dataSync());
    const opt = new Adam(b.params);
    expect(() => restoreCheckpoint(loadCheckpoint(dir), { params: b.params, buffers: b.buffers, optimizer: opt, configHash: 'bbbb' })).toThrow(
      /\(\d+ problems\)[\s\S]*'fc.bias': checkpoint shape \[2\] ≠ model \[3\][\s\S]*'head.weight': missing[\s\S]*'bn.running_mean': in checkpoint but not in model[\s\S]*optimizer state 'fc.weight\/exp_avg': missing[\s\S]*config hash/,
    );
    expect(Array.from(b.params.get('fc.weight')!.dataSync())).toEqual(before);
    [a, b].forEach(dispose);
    opt.dispose();
  });
});
