import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, tf } from '@clip-senet/core';
import type { Variable } from '@clip-senet/core';
import { Adam, Sgd, type NamedArray, type Optimizer } from './optimizer';
import { buildOptimizer } from './optimizer-config';

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

const P0 = [0.5, -1.5, 2.0];
const G = [
  [0.1, -0.2, 0.3],
  [-0.4, 0.5, 0.25],
  [0.05, 0.0, -0.7],
];

function params(values = P0): Map<string, Variable> {
  return new Map([['w', tf.variable(tf.tensor1d(values), true)]]);
}

function run(opt: Optimizer, steps: number[][], lr: number): void {
  for (const g of steps) {
    const t = tf.tensor1d(g);
    opt.step(new Map([['w', t]]), lr);
    t.dispose();
  }
}

/** float64 reference of torch.optim.Adam / AdamW. */
function adamRef(p: number[], grads: number[][], lr: number, wd: number, decoupled: boolean): number[] {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  p = [...p];
  grads.forEach((g0, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const g = g0[i]! + (decoupled ? 0 : wd * p[i]!);
      if (decoupled) p[i] = p[i]! * (1 - lr * wd);
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      p[i] = p[i]! - (lr / (1 - b1 ** t)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps));
    }
  });
  return p;
}

/** float64 reference of torch.optim.SGD. */
function sgdRef(p: number[], grads: number[][], lr: number, wd: number, mu: number, nesterov: boolean): number[] {
  p = [...p];
  const b = p.map(() => 0);
  grads.forEach((g0, k) => {
    for (let i = 0; i < p.length; i++) {
      let g = g0[i]! + wd * p[i]!;
      b[i] = k === 0 ? g : mu * b[i]! + g;
      g = nesterov ? g + mu * b[i]! : b[i]!;
      p[i] = p[i]! - lr * g;
    }
  });
  return p;
}

function values(opt: Optimizer): number[] {
  return [...opt.params.get('w')!.dataSync()];
}

function snapshot(opt: Optimizer): Map<string, NamedArray> {
  return new Map([...opt.stateTensors()].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.dataSync()) }]));
}

describe('optimizers match the PyTorch update rules', () => {
  it.each([
    ['adam', false, 0],
    ['adam + L2', false, 0.1],
    ['adamw', true, 0.1],
  ])('%s', (_label, decoupled, wd) => {
    const opt = new Adam(params(), { weightDecay: wd, decoupled });
    run(opt, G, 0.01);
    const ref = adamRef(P0, G, 0.01, wd, decoupled);
    values(opt).forEach((x, i) => expect(x).toBeCloseTo(ref[i]!, 6));
    expect(opt.meta()).toEqual({ name: 'adam', step: 3 });
    opt.params.get('w')!.dispose();
    opt.dispose();
  });

  it.each([
    ['adam', false, 0],
    ['adamw', true, 0.1],
  ])('%s over 40 000 values (the fused native kernel where active, its parallel path) with no leaks', (_label, decoupled, wd) => {
    const n = 40_000;
    const p0 = Array.from({ length: n }, (_, i) => Math.sin(i));
    const grads = [0, 1, 2].map((k) => Array.from({ length: n }, (_, i) => 0.1 * Math.cos(i * (k + 1))));
    const opt = new Adam(params(p0), { weightDecay: wd, decoupled });
    expectNoLeaksSync(() => run(opt, grads, 0.01), `three ${_label} steps`);
    const ref = adamRef(p0, grads, 0.01, wd, decoupled);
    const got = values(opt);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i]! - ref[i]!));
    expect(worst).toBeLessThan(1e-6);
    opt.params.get('w')!.dispose();
    opt.dispose();
  });

  it.each([
    ['sgd plain', 0, false, 0],
    ['sgd momentum + wd', 0.9, false, 0.01],
    ['sgd nesterov', 0.9, true, 0.01],
  ])('%s', (_label, mu, nesterov, wd) => {
    const opt = new Sgd(params(), { momentum: mu, nesterov, weightDecay: wd });
    run(opt, G, 0.1);
    const ref = sgdRef(P0, G, 0.1, wd, mu, nesterov);
    values(opt).forEach((x, i) => expect(x).toBeCloseTo(ref[i]!, 6));
    opt.params.get('w')!.dispose();
    opt.dispose();
  });

  it('exempts noDecay parameters from weight decay', () => {
    const ps = new Map([
      ['a.weight', tf.variable(tf.tensor1d([1]), true)],
      ['a.bias', tf.variable(tf.tensor1d([1]), true)],
    ]);
    const opt = buildOptimizer({ name: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0.5, noDecay: ['\\.bias$'] }, ps);
    const g = tf.zeros([1]);
    opt.step(new Map([['a.weight', g], ['a.bias', g]]), 0.1);
    expect(ps.get('a.weight')!.dataSync()[0]).toBeCloseTo(0.95, 6);
    expect(ps.get('a.bias')!.dataSync()[0]).toBe(1);
    g.dispose();
    for (const v of ps.values()) v.dispose();
    opt.dispose();
  });
});

describe('optimizer state export / restore', () => {
  it.each([
    ['adam', { name: 'adam' as const, weightDecay: 0.01 }],
    ['adamw', { name: 'adamw' as const, weightDecay: 0.01 }],
    ['sgd nesterov', { name: 'sgd' as const, nesterov: true }],
  ])('%s continues bit-identically after save/restore into fresh variables', (_l, config) => {
    const full = buildOptimizer(config, params());
    run(full, [...G, ...G], 0.05);

    const first = buildOptimizer(config, params());
    run(first, G, 0.05);
    const state = snapshot(first);
    const meta = first.meta();
    const weights = Float32Array.from(first.params.get('w')!.dataSync());
    first.params.get('w')!.dispose();
    first.dispose();

    const resumed = buildOptimizer(config, params([9, 9, 9]));
    resumed.params.get('w')!.assign(tf.tensor1d(weights));
    resumed.loadState(state, meta);
    run(resumed, G, 0.05);
    expect(Array.from(resumed.params.get('w')!.dataSync())).toEqual(Array.from(full.params.get('w')!.dataSync()));
    for (const o of [full, resumed]) {
      o.params.get('w')!.dispose();
      o.dispose();
    }
  });

  it('rejects mismatched state with one error listing every problem', () => {
    const opt = new Adam(params());
    const bad = new Map<string, NamedArray>([
      ['w/exp_avg', { shape: [4], data: new Float32Array(4) }],
      ['v/exp_avg', { shape: [3], data: new Float32Array(3) }],
    ]);
    expect(() => opt.loadState(bad, { name: 'sgd', step: 2 })).toThrow(
      /4 problems[\s\S]*'sgd'[\s\S]*'w\/exp_avg': shape \[4\][\s\S]*missing 'w\/exp_avg_sq'[\s\S]*unexpected 'v\/exp_avg'/,
    );
    expect(opt.meta().step).toBe(0);
    opt.params.get('w')!.dispose();
    opt.dispose();
  });

  it('steps without leaking tensors', () => {
    const opt = new Adam(params(), { weightDecay: 0.1 });
    const g = tf.tensor1d(G[0]!);
    opt.step(new Map([['w', g]]), 0.1);
    expectNoLeaksSync(() => {
      for (let i = 0; i < 5; i++) opt.step(new Map([['w', g]]), 0.1);
    }, 'five Adam steps');
    g.dispose();
    opt.params.get('w')!.dispose();
    opt.dispose();
  });

  it('creating and disposing an optimiser leaves no tensor behind (its slot initial values included)', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d(P0), true));
    for (const make of [() => new Adam(new Map([['w', w]])), () => new Sgd(new Map([['w', w]]), { momentum: 0.9 })]) {
      expectNoLeaksSync(() => make().dispose(), 'creating and disposing an optimiser');
    }
    w.dispose();
  });
});
