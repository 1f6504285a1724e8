/**
 * AFEM (Eq. 4): forward against a plain-JS reference, scalar vs vector group weights, divisibility
 * error, BatchNorm train/eval semantics, determinism, finite-difference gradients, no leaks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import type { Afem } from './afem';
import { AfemConfigSchema, defaultAfemConfig } from './config';
import { afemPresets, buildAfem } from './registry';
import { gradCheck, values } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

/** Plain-JS Eq. 4 in train mode (batch statistics), from the module's current parameter values. */
function referenceAfem(m: Afem, x: number[][], training: boolean): number[][] {
  const W = values(m.t('fc.weight'));
  const b = values(m.t('fc.bias'));
  const gamma = values(m.t('bn.weight'));
  const beta = values(m.t('bn.bias'));
  const rm = values(m.t('bn.running_mean'));
  const rv = values(m.t('bn.running_var'));
  const gw = values(m.t('group_weight'));
  const n = x.length;
  const d = m.outDim;
  const y = x.map((row) => Array.from({ length: d }, (_, j) => row.reduce((s, xi, i) => s + xi * W[i * d + j]!, b[j]!)));
  const out: number[][] = y.map(() => new Array<number>(d).fill(0));
  for (let j = 0; j < d; j++) {
    let mean = rm[j]!;
    let variance = rv[j]!;
    if (training) {
      mean = y.reduce((s, r) => s + r[j]!, 0) / n;
      variance = y.reduce((s, r) => s + (r[j]! - mean) ** 2, 0) / n;
    }
    const g = Math.floor(j / m.groupSize);
    const w = m.weightMode === 'scalar' ? gw[g]! : gw[j]!;
    for (let r = 0; r < n; r++) {
      const h = Math.max(0, ((y[r]![j]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[j]! + beta[j]!);
      out[r]![j] = (m.residual ? h : 0) + h * w;
    }
  }
  return out;
}

const X = [
  [0.5, -1.0, 2.0],
  [1.5, 0.25, -0.5],
  [-0.75, 1.0, 0.3],
];

function expectClose(actual: number[], expected: number[], tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!), `index ${i}: ${a} vs ${expected[i]}`).toBeLessThan(tol * Math.max(1, Math.abs(expected[i]!))));
}

describe('AFEM', () => {
  it('has the paper defaults', () => {
    expect(defaultAfemConfig).toEqual({ dOut: 2048, groups: 32, weightMode: 'scalar', residual: true, bnMomentum: 0.1, bnEps: 1e-5 });
    expect(() => AfemConfigSchema.parse({ group: 4 })).toThrow(/group/);
    expect(afemPresets.list()).toEqual(['afem-scalar', 'afem-tiny', 'afem-vector']);
  });

  it('builds the paper size: 512 → 2048, G = 32, 64 channels per group', () => {
    const m = buildAfem({}, 512, new Rng(0));
    expect(m.groupSize).toBe(64);
    expect(m.t('fc.weight').shape).toEqual([512, 2048]);
    expect(m.t('group_weight').shape).toEqual([32]);
    expect([...m.params.keys()]).toEqual(['fc.weight', 'fc.bias', 'bn.weight', 'bn.bias', 'group_weight']);
    expect([...m.buffers.keys()]).toEqual(['bn.running_mean', 'bn.running_var']);
    m.dispose();
  });

  it('scalar vs vector group weights: shapes [G] and [G, dOut/G], both ~ N(0, 1)', () => {
    const s = buildAfem({ preset: 'afem-scalar', overrides: { dOut: 64, groups: 8 } }, 4, new Rng(1));
    const v = buildAfem({ preset: 'afem-vector', overrides: { dOut: 64, groups: 8 } }, 4, new Rng(1));
    expect(s.t('group_weight').shape).toEqual([8]);
    expect(v.t('group_weight').shape).toEqual([8, 8]);
    const w = values(v.t('group_weight'));
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.4);
    expect(std).toBeGreaterThan(0.7);
    expect(std).toBeLessThan(1.3);
    s.dispose();
    v.dispose();
  });

  it('rejects dOut not divisible by groups with a clear error', () => {
    expect(() => buildAfem({ dOut: 30, groups: 4 }, 4, new Rng(0))).toThrow(/dOut \(30\) must be divisible by groups \(4\)/);
  });

  for (const weightMode of ['scalar', 'vector'] as const) {
    for (const residual of [true, false]) {
      it(`matches the plain-JS Eq. 4 (${weightMode}, residual ${residual}) in train and eval mode`, () => {
        const m = buildAfem({ dOut: 6, groups: 3, weightMode, residual }, 3, new Rng(7));
        const x = tf.tensor2d(X);
        const expTrain = referenceAfem(m, X, true).flat();
        const yt = m.forward(x, { training: true });
        expectClose(values(yt), expTrain);
        const expEval = referenceAfem(m, X, false).flat(); // running stats after one update
        const ye = m.forward(x, { training: false });
        expectClose(values(ye), expEval);
        tf.dispose([x, yt, ye]);
        m.dispose();
      });
    }
  }

  it('BatchNorm: train mode updates running stats (momentum 0.1, unbiased var); eval mode leaves them', () => {
    const m = buildAfem({ dOut: 4, groups: 2 }, 3, new Rng(3));
    const x = tf.tensor2d(X);
    const W = values(m.t('fc.weight'));
    const b = values(m.t('fc.bias'));
    const y = X.map((row) => [0, 1, 2, 3].map((j) => row.reduce((s, xi, i) => s + xi * W[i * 4 + j]!, b[j]!)));
    const mean = [0, 1, 2, 3].map((j) => y.reduce((s, r) => s + r[j]!, 0) / 3);
    const unbiased = [0, 1, 2, 3].map((j) => y.reduce((s, r) => s + (r[j]! - mean[j]!) ** 2, 0) / 2);
    tf.dispose(m.forward(x, { training: false }));
    expectClose(values(m.t('bn.running_mean')), [0, 0, 0, 0]);
    tf.dispose(m.forward(x, { training: true }));
    expectClose(values(m.t('bn.running_mean')), mean.map((v) => 0.1 * v));
    expectClose(values(m.t('bn.running_var')), unbiased.map((v) => 0.9 + 0.1 * v));
    // the module's own mode is used when the call does not say
    m.eval();
    const a = m.forward(x);
    const b2 = m.forward(x, { training: false });
    expect(values(a)).toEqual(values(b2));
    expect(() => m.forward(tf.tensor2d([[1, 2, 3]]), { training: true })).toThrow(/more than 1 sample/);
    tf.dispose([x, a, b2]);
    m.dispose();
  });

  it('is deterministic: same seed → identical parameters, other seed → different', () => {
    const a = buildAfem({ dOut: 8, groups: 4, weightMode: 'vector' }, 5, new Rng(42));
    const b = buildAfem({ dOut: 8, groups: 4, weightMode: 'vector' }, 5, new Rng(42));
    const c = buildAfem({ dOut: 8, groups: 4, weightMode: 'vector' }, 5, new Rng(43));
    for (const name of a.params.keys()) expect(values(a.t(name)), name).toEqual(values(b.t(name)));
    expect(values(a.t('group_weight'))).not.toEqual(values(c.t('group_weight')));
    [a, b, c].forEach((m) => m.dispose());
  });

  for (const weightMode of ['scalar', 'vector'] as const) {
    it(`gradients match finite differences for every parameter and the input (${weightMode})`, () => {
      expectNoLeaksSync(() => {
        const m = buildAfem({ dOut: 8, groups: 4, weightMode }, 4, new Rng(11));
        const x = tf.tidy(() => tf.variable(tf.randomNormal([5, 4], 0, 1, 'float32', 5)));
        const proj = tf.randomNormal([5, 8], 0, 1, 'float32', 6);
        const vars = new Map([...m.params, ['input', x] as const]);
        for (const training of [true, false]) {
          const f = (): tf.Scalar => tf.tidy(() => tf.sum(tf.mul(m.forward(x as unknown as tf.Tensor2D, { training }), proj)));
          for (const r of gradCheck(f, vars, new Rng(training ? 1 : 2))) {
            expect(r.relError, `${r.name} (training ${training}): ${r.analytic} vs ${r.numeric}`).toBeLessThan(2e-2);
          }
        }
        tf.dispose([x, proj]);
        m.dispose();
      }, `the ${weightMode} gradient check`);
    });
  }
});
