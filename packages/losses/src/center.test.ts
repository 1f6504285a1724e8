/** Center loss: plain-JS reference, seeded init, finite-difference gradients w.r.t. features and centers. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { CenterLoss } from './center';
import { gradCheck } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

const F = [[0.5, -1, 2], [1, 1, 0], [-0.5, 0.25, 1]];
const L = [2, 0, 2];

describe('CenterLoss', () => {
  it('equals (1/N) Σ ‖x_i − c_{y_i}‖² (plain JS) with N(0, 1) centers from the Rng', () => {
    const m = new CenterLoss({ numClasses: 4, featureDim: 3 }, new Rng(5));
    expect(m.centers.shape).toEqual([4, 3]);
    const c = Array.from(m.centers.dataSync());
    const want = F.reduce((s, x, i) => s + x.reduce((t, v, d) => t + (v - c[L[i]! * 3 + d]!) ** 2, 0), 0) / F.length;
    const x = tf.tensor2d(F);
    const y = tf.tensor1d(L, 'int32');
    const { name, value } = m.compute(x, y);
    expect(name).toBe('center');
    expect(value.dataSync()[0]).toBeCloseTo(want, 4);
    // hand-worked: features equal to their centers → 0
    const at = tf.tensor2d([c.slice(6, 9), c.slice(0, 3)]);
    const zero = m.compute(at, tf.tensor1d([2, 0], 'int32')).value;
    expect(zero.dataSync()[0]).toBeCloseTo(0, 6);
    tf.dispose([x, y, value, at, zero]);
    m.dispose();
  });

  it('same seed → same centers', () => {
    const a = new CenterLoss({ numClasses: 3, featureDim: 2 }, new Rng(9));
    const b = new CenterLoss({ numClasses: 3, featureDim: 2 }, new Rng(9));
    expect(Array.from(a.centers.dataSync())).toEqual(Array.from(b.centers.dataSync()));
    a.dispose();
    b.dispose();
  });

  it('gradients match finite differences for features and centers; no leaked tensors', () => {
    expectNoLeaksSync(() => {
      const m = new CenterLoss({ numClasses: 4, featureDim: 3 }, new Rng(5));
      const x = tf.tidy(() => tf.variable(tf.tensor2d(F)));
      const y = tf.tensor1d(L, 'int32');
      const f = (): tf.Scalar => m.compute(x as unknown as tf.Tensor2D, y).value;
      const vars = new Map([['features', x], ['centers', m.centers]]);
      for (const r of gradCheck(f, vars, new Rng(4))) expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(1e-2);
      tf.dispose([x, y]);
      m.dispose();
    }, 'the gradient check');
  });

  it('rejects a wrong feature width', () => {
    const m = new CenterLoss({ numClasses: 2, featureDim: 3 }, new Rng(0));
    const x = tf.zeros([2, 4]) as tf.Tensor2D;
    const y = tf.tensor1d([0, 1], 'int32');
    expect(() => m.compute(x, y)).toThrow(/\[N, 3\]/);
    tf.dispose([x, y]);
    m.dispose();
  });
});
