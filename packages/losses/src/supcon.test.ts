/** SupCon: hand-worked and plain-JS reference values, anchors without positives, finite-difference gradients. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { supConLoss } from './supcon';
import { gradCheck } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

/** Plain-JS Khosla et al. L_out on L2-normalised features; anchors without a positive are skipped. */
function reference(f: number[][], labels: number[], tau: number, base: number): number {
  const z = f.map((r) => {
    const n = Math.sqrt(r.reduce((s, v) => s + v * v, 0));
    return r.map((v) => v / n);
  });
  const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);
  let sum = 0;
  let anchors = 0;
  for (let i = 0; i < z.length; i++) {
    let den = 0;
    for (let k = 0; k < z.length; k++) if (k !== i) den += Math.exp(dot(z[i]!, z[k]!) / tau);
    let acc = 0;
    let np = 0;
    for (let p = 0; p < z.length; p++) {
      if (p === i || labels[p] !== labels[i]) continue;
      acc += dot(z[i]!, z[p]!) / tau - Math.log(den);
      np++;
    }
    if (np === 0) continue;
    sum += -(tau / base) * (acc / np);
    anchors++;
  }
  return anchors === 0 ? 0 : sum / anchors;
}

const F = [[1, 0.2, -0.5], [0.8, 0.1, -0.2], [-0.3, 1, 0.4], [-0.1, 0.7, 0.9], [0.5, -1, 0.3], [0.2, 0.3, 0.1]];
const L = [0, 0, 1, 1, 2, 0];

function value(f: number[][], labels: number[], opts: { temperature?: number; baseTemperature?: number } = {}): number {
  const x = tf.tensor2d(f);
  const y = tf.tensor1d(labels, 'int32');
  const { name, value } = supConLoss(x, y, opts);
  expect(name).toBe('supcon');
  const v = value.dataSync()[0]!;
  tf.dispose([x, y, value]);
  return v;
}

describe('supConLoss', () => {
  it('hand-worked: e1, e1, e2 with labels 0, 0, 1 at τ = 1 → ln(1 + e) − 1 (anchor 2 has no positive)', () => {
    expect(value([[1, 0], [2, 0], [0, 3]], [0, 0, 1], { temperature: 1, baseTemperature: 1 })).toBeCloseTo(Math.log(1 + Math.E) - 1, 5);
  });

  it('matches the plain-JS definition (τ 0.07 default, τ 0.5 with τ_base 0.07)', () => {
    expect(value(F, L)).toBeCloseTo(reference(F, L, 0.07, 0.07), 3);
    expect(value(F, L, { temperature: 0.5 })).toBeCloseTo(reference(F, L, 0.5, 0.07), 4);
    expect(value(F, L, { temperature: 0.5, baseTemperature: 0.5 })).toBeCloseTo(reference(F, L, 0.5, 0.5), 4);
  });

  it('is invariant to feature scale, 0 without any positive pair, finite at τ = 0.01', () => {
    expect(value(F.map((r) => r.map((v) => 10 * v)), L, { temperature: 0.5 })).toBeCloseTo(value(F, L, { temperature: 0.5 }), 4);
    expect(value(F.slice(0, 3), [0, 1, 2])).toBe(0);
    const v = value(F, L, { temperature: 0.01 });
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(reference(F, L, 0.01, 0.07), 1);
  });

  it('gradient matches finite differences; no leaked tensors', () => {
    expectNoLeaksSync(() => {
      const x = tf.tidy(() => tf.variable(tf.tensor2d(F)));
      const y = tf.tensor1d(L, 'int32');
      const f = (): tf.Scalar => supConLoss(x as unknown as tf.Tensor2D, y, { temperature: 0.5 }).value;
      for (const r of gradCheck(f, new Map([['features', x]]), new Rng(2))) expect(r.relError, `${r.analytic} vs ${r.numeric}`).toBeLessThan(1e-2);
      tf.dispose([x, y]);
    }, 'the gradient check');
  });
});
