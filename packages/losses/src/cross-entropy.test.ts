/** Label-smoothed CE: hand-worked and plain-JS reference values, ε = 0 is plain CE, finite-difference gradients. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { crossEntropyLabelSmooth } from './cross-entropy';
import { gradCheck } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

/** Plain-JS definition: −(1/N) Σ_i Σ_k q_ik log softmax(z_i)_k, q = (1 − ε) onehot + ε/K. */
function reference(logits: number[][], labels: number[], eps: number): number {
  let total = 0;
  for (const [i, z] of logits.entries()) {
    const k = z.length;
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    for (let j = 0; j < k; j++) total -= ((j === labels[i] ? 1 - eps : 0) + eps / k) * (z[j]! - lse);
  }
  return total / logits.length;
}

const LOGITS = [[2, 1, 0, -1], [0.5, 0.5, 3, 0], [-2, 4, 1, 1]];
const LABELS = [0, 2, 3];

function value(logits: number[][], labels: number[], epsilon?: number): number {
  const z = tf.tensor2d(logits);
  const y = tf.tensor1d(labels, 'int32');
  const { name, value } = crossEntropyLabelSmooth(z, y, epsilon === undefined ? {} : { epsilon });
  expect(name).toBe('cross-entropy');
  const v = value.dataSync()[0]!;
  tf.dispose([z, y, value]);
  return v;
}

describe('crossEntropyLabelSmooth', () => {
  it('uniform logits give ln K for any ε (hand-worked)', () => {
    expect(value([[0, 0, 0, 0]], [1], 0.1)).toBeCloseTo(Math.log(4), 6);
    expect(value([[0, 0, 0, 0]], [1], 0)).toBeCloseTo(Math.log(4), 6);
  });

  it('matches the plain-JS definition (default ε = 0.1, and ε = 0, 0.3)', () => {
    expect(value(LOGITS, LABELS)).toBeCloseTo(reference(LOGITS, LABELS, 0.1), 5);
    expect(value(LOGITS, LABELS, 0)).toBeCloseTo(reference(LOGITS, LABELS, 0), 5);
    expect(value(LOGITS, LABELS, 0.3)).toBeCloseTo(reference(LOGITS, LABELS, 0.3), 5);
    // ε = 0: −log p of the true class, worked by hand for the first row
    const p0 = Math.exp(2) / (Math.exp(2) + Math.exp(1) + 1 + Math.exp(-1));
    expect(value([LOGITS[0]!], [0], 0)).toBeCloseTo(-Math.log(p0), 5);
  });

  it('gradient matches finite differences; no leaked tensors', () => {
    expectNoLeaksSync(() => {
      const z = tf.tidy(() => tf.variable(tf.tensor2d(LOGITS)));
      const y = tf.tensor1d(LABELS, 'int32');
      const f = (): tf.Scalar => crossEntropyLabelSmooth(z as unknown as tf.Tensor2D, y).value;
      for (const r of gradCheck(f, new Map([['logits', z]]), new Rng(1))) expect(r.relError, `${r.analytic} vs ${r.numeric}`).toBeLessThan(1e-2);
      tf.dispose([z, y]);
    }, 'the gradient check');
  });

  it('rejects bad ε and mismatched labels', () => {
    expect(() => value(LOGITS, LABELS, 1)).toThrow(/epsilon/);
    expect(() => value(LOGITS, [0, 1])).toThrow(/labels must be \[3\]/);
  });
});
