/** CLIP symmetric InfoNCE: hand-worked and plain-JS values, clamp, finite-difference gradients incl. the scale. */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { ClipInfoNce } from './clip-infonce';
import { gradCheck } from '@clip-senet/core/testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

/** Plain-JS: normalise, z = s·u vᵀ, mean CE over rows and over columns, averaged. */
function reference(img: number[][], txt: number[][], s: number): number {
  const norm = (r: number[]): number[] => r.map((v) => v / Math.hypot(...r));
  const u = img.map(norm);
  const v = txt.map(norm);
  const n = u.length;
  const z = u.map((a) => v.map((b) => s * a.reduce((acc, x, i) => acc + x * b[i]!, 0)));
  let rows = 0;
  let cols = 0;
  for (let i = 0; i < n; i++) {
    rows += Math.log(z[i]!.reduce((acc, x) => acc + Math.exp(x), 0)) - z[i]![i]!;
    cols += Math.log(z.reduce((acc, r) => acc + Math.exp(r[i]!), 0)) - z[i]![i]!;
  }
  return (rows / n + cols / n) / 2;
}

const IMG = [[1, 0.5, -0.2], [0.1, 1, 0.3], [-0.4, 0.2, 1], [0.7, -0.6, 0.2]];
const TXT = [[0.9, 0.3, 0.1], [0.2, 0.8, -0.1], [-0.2, 0.5, 0.9], [0.3, -0.9, 0.4]];

function value(m: ClipInfoNce, img: number[][], txt: number[][]): number {
  const a = tf.tensor2d(img);
  const b = tf.tensor2d(txt);
  const { value } = m.compute(a, b);
  const v = value.dataSync()[0]!;
  tf.dispose([a, b, value]);
  return v;
}

describe('ClipInfoNce', () => {
  it('hand-worked: orthonormal matched pairs at scale 1 → ln(1 + e⁻¹)', () => {
    const m = new ClipInfoNce({ initLogitScale: 0, learnableScale: false });
    expect(m.params.size).toBe(0);
    expect(value(m, [[1, 0], [0, 2]], [[3, 0], [0, 1]])).toBeCloseTo(Math.log(1 + Math.exp(-1)), 5);
    m.dispose();
  });

  it('default scale is 1/0.07 and the loss matches the plain-JS definition; exp(t) is clamped at maxScale', async () => {
    const m = new ClipInfoNce();
    expect(m.name).toBe('clip-infonce');
    expect(await m.scale()).toBeCloseTo(1 / 0.07, 4);
    expect([...m.params.keys()]).toEqual(['logit_scale']);
    expect(value(m, IMG, TXT)).toBeCloseTo(reference(IMG, TXT, 1 / 0.07), 3);
    const c = new ClipInfoNce({ initLogitScale: Math.log(500), maxScale: 100 });
    expect(await c.scale()).toBeCloseTo(100, 3);
    expect(value(c, IMG, TXT)).toBeCloseTo(reference(IMG, TXT, 100), 2);
    m.dispose();
    c.dispose();
  });

  it('gradients match finite differences (image, text, logit scale); no leaked tensors', () => {
    expectNoLeaksSync(() => {
      const m = new ClipInfoNce({ initLogitScale: Math.log(3) });
      const a = tf.tidy(() => tf.variable(tf.tensor2d(IMG)));
      const b = tf.tidy(() => tf.variable(tf.tensor2d(TXT)));
      const f = (): tf.Scalar => m.compute(a as unknown as tf.Tensor2D, b as unknown as tf.Tensor2D).value;
      const vars = new Map([['image', a], ['text', b], ['logit_scale', m.params.get('logit_scale')!]]);
      for (const r of gradCheck(f, vars, new Rng(6))) expect(r.relError, `${r.name}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(1e-2);
      tf.dispose([a, b]);
      m.dispose();
    }, 'the gradient check');
  });

  it('rejects mismatched shapes', () => {
    const m = new ClipInfoNce();
    expect(() => value(m, IMG, TXT.slice(0, 3))).toThrow(/same shape/);
    m.dispose();
  });
});
