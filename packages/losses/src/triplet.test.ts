/** Batch-hard triplet: hand-worked 1-D case, plain-JS reference (hinge and soft margin), finite differences. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { batchHardTripletLoss, type TripletOptions } from './triplet';
import { gradCheck } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

/** Plain-JS batch-hard mining over Euclidean distances (hardest positive includes the anchor itself). */
function reference(f: number[][], labels: number[], margin: number, soft: boolean): number {
  const dist = (a: number[], b: number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
  let sum = 0;
  let anchors = 0;
  for (let i = 0; i < f.length; i++) {
    let dp = -Infinity;
    let dn = Infinity;
    for (let j = 0; j < f.length; j++) {
      const d = dist(f[i]!, f[j]!);
      if (labels[j] === labels[i]) dp = Math.max(dp, d);
      else dn = Math.min(dn, d);
    }
    if (dn === Infinity) continue;
    sum += soft ? Math.log1p(Math.exp(dp - dn)) : Math.max(0, dp - dn + margin);
    anchors++;
  }
  return anchors === 0 ? 0 : sum / anchors;
}

function value(f: number[][], labels: number[], opts: TripletOptions = {}): number {
  const x = tf.tensor2d(f);
  const y = tf.tensor1d(labels, 'int32');
  const { name, value } = batchHardTripletLoss(x, y, opts);
  expect(name).toBe('triplet');
  const v = value.dataSync()[0]!;
  tf.dispose([x, y, value]);
  return v;
}

const F = [[0.1, 1.2, -0.3], [0.4, 0.9, 0.2], [2.0, -0.5, 0.7], [1.6, -0.1, 1.3], [-1.5, 0.2, 0.4], [-1.1, -0.6, 0.1]];
const L = [0, 0, 1, 1, 2, 2];

describe('batchHardTripletLoss', () => {
  it('hand-worked 1-D case: points 0, 1 | 3, 5 → only anchor 2 violates the 0.3 margin → 0.3 / 4', () => {
    expect(value([[0], [1], [3], [5]], [0, 0, 1, 1])).toBeCloseTo(0.075, 5);
    expect(value([[0], [1], [3], [5]], [0, 0, 1, 1], { margin: 1 })).toBeCloseTo((0 + 0 + 1 + 0) / 4, 5);
  });

  it('matches the plain-JS definition (hinge 0.3 default, soft margin, normalised)', () => {
    expect(value(F, L)).toBeCloseTo(reference(F, L, 0.3, false), 4);
    expect(value(F, L, { margin: 2 })).toBeCloseTo(reference(F, L, 2, false), 4);
    expect(value(F, L, { softMargin: true })).toBeCloseTo(reference(F, L, 0, true), 4);
    const norm = F.map((r) => {
      const n = Math.hypot(...r);
      return r.map((v) => v / n);
    });
    expect(value(F, L, { normalizeFeatures: true, margin: 1 })).toBeCloseTo(reference(norm, L, 1, false), 4);
  });

  it('is 0 when no anchor has a negative', () => {
    expect(value(F, [1, 1, 1, 1, 1, 1])).toBe(0);
  });

  for (const softMargin of [false, true]) {
    it(`gradient matches finite differences (softMargin ${softMargin}); no leaked tensors`, () => {
      expectNoLeaksSync(() => {
        const x = tf.tidy(() => tf.variable(tf.tensor2d(F)));
        const y = tf.tensor1d(L, 'int32');
        const f = (): tf.Scalar => batchHardTripletLoss(x as unknown as tf.Tensor2D, y, { margin: 2, softMargin }).value;
        for (const r of gradCheck(f, new Map([['features', x]]), new Rng(3))) expect(r.relError, `${r.analytic} vs ${r.numeric}`).toBeLessThan(1e-2);
        tf.dispose([x, y]);
      }, 'the gradient check');
    });
  }
});
