/**
 * The fused training ops (batchnorm-train.ts, adam-update.ts) against their tf-op compositions, on wasm with the
 * native kernels (or, where the addon is absent, the compositions themselves — then the ops must equal them
 * bitwise): BatchNorm forward (y, mean, variance) and gradients w.r.t. x, gamma, beta through all three outputs,
 * with and without the fused ReLU, on odd shapes, a single row, rank 2 and tensors large enough for the parallel
 * paths; finite differences; the JS-loop fallbacks; leaks; bits equal run to run and across native thread counts;
 * Adam / AdamW / L2 updates bitwise equal to the op chain; counted fallbacks that never give a wrong answer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { Rng } from '../rng';
import { backendInfo, initBackend } from '../backend';
import { gradCheck, maxRelErr } from '../testing';
import { adamUpdate, adamUpdateComposed, type AdamUpdateHyper } from './adam-update';
import { BATCH_NORM_TRAIN_KERNELS, batchNormTrain, batchNormTrainComposed } from './batchnorm-train';
import { nativeFallbacks, resetNativeFallbacks, setNativeKernelsEnabled } from './native';
import { expectNoLeaksSync } from '../leak-check';

let active = false;

/** Fallbacks of the fused kernels (the losses' full sums take wasm's float32 Sum, counted as 'Sum: trailing axes'). */
function fusedFallbacks(): Record<string, number> {
  return Object.fromEntries([...nativeFallbacks()].filter(([k]) => k.startsWith('ClipSenet')));
}

beforeAll(async () => {
  await initBackend('wasm', { log: null });
  active = backendInfo()?.native?.active === true;
});

function randn(rng: Rng, shape: number[], mean = 0, std = 1): tf.Tensor {
  const n = tf.util.sizeFromShape(shape);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal(mean, std)), shape);
}

interface BnOut {
  y: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
}

/** Forward outputs and the gradients of Σ y·wy + Σ mean·wm + Σ variance·wv w.r.t. x, gamma, beta. */
function bnRun(op: typeof batchNormTrain, shape: number[], relu: boolean, seed: number, useStats = true): BnOut {
  return tf.tidy(() => {
    const rng = new Rng(seed);
    const c = shape[shape.length - 1]!;
    const x = randn(rng, shape, 0.5, 2);
    const gamma = randn(rng, [c], 1, 0.3);
    const beta = randn(rng, [c], 0, 0.3);
    const wy = randn(rng, shape);
    const wm = randn(rng, [c]);
    const wv = randn(rng, [c]);
    const fwd = op(x, gamma, beta, { relu });
    const loss = (a: tf.Tensor, b: tf.Tensor, g: tf.Tensor) => {
      const r = op(a, g, b, { relu });
      const terms = [tf.sum(tf.mul(r.y, wy))];
      if (useStats) terms.push(tf.sum(tf.mul(r.mean, wm)), tf.sum(tf.mul(r.variance, wv)));
      return tf.addN(terms) as tf.Scalar;
    };
    const [dx, dbeta, dgamma] = tf.grads(loss)([x, beta, gamma]);
    const read = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
    return { y: read(fwd.y), mean: read(fwd.mean), variance: read(fwd.variance), dx: read(dx!), dgamma: read(dgamma!), dbeta: read(dbeta!) } as unknown as tf.Tensor;
  }) as unknown as BnOut;
}

const SHAPES: number[][] = [
  [2, 5, 7, 3],
  [1, 1, 1, 4],
  [300, 17],
  [3, 9, 11, 32],
  [8, 32, 32, 16],
];

describe('batchNormTrain', () => {
  for (const shape of SHAPES) {
    for (const relu of [false, true]) {
      it(`matches the composition on [${shape.join(', ')}]${relu ? ' + ReLU' : ''} (forward and gradients)`, () => {
        resetNativeFallbacks();
        const fused = bnRun(batchNormTrain, shape, relu, 11);
        const composed = bnRun(batchNormTrainComposed, shape, relu, 11);
        expect(fusedFallbacks()).toEqual({});
        if (!active) {
          expect(fused).toEqual(composed); // no kernels: the op is the composition
          return;
        }
        // float64 statistics vs float32 mean-of-squares: float32 rounding apart
        expect(maxRelErr(fused.y, composed.y)).toBeLessThan(2e-5);
        expect(maxRelErr(fused.mean, composed.mean)).toBeLessThan(2e-6);
        expect(maxRelErr(fused.variance, composed.variance)).toBeLessThan(2e-5);
        // gradients: sums over N·H·W rows in float64 vs tfjs' float32 sums
        const rows = tf.util.sizeFromShape(shape) / shape[shape.length - 1]!;
        const tol = rows > 1000 ? 2e-4 : 5e-5;
        expect(maxRelErr(fused.dx, composed.dx)).toBeLessThan(tol);
        expect(maxRelErr(fused.dgamma, composed.dgamma)).toBeLessThan(tol);
        expect(maxRelErr(fused.dbeta, composed.dbeta)).toBeLessThan(tol);
      });
    }
  }

  it('the JS-loop fallbacks agree with the native kernels', () => {
    if (!active) return expect(tf.getKernel(BATCH_NORM_TRAIN_KERNELS.forward, 'wasm')).toBeUndefined();
    const native = bnRun(batchNormTrain, [3, 9, 11, 32], true, 5);
    const before = setNativeKernelsEnabled(false);
    try {
      const loop = bnRun(batchNormTrain, [3, 9, 11, 32], true, 5);
      expect(loop.y).toEqual(native.y);
      expect(loop.mean).toEqual(native.mean);
      expect(loop.variance).toEqual(native.variance);
      expect(maxRelErr(loop.dx, native.dx)).toBeLessThan(1e-6);
      expect(maxRelErr(loop.dgamma, native.dgamma)).toBeLessThan(1e-6);
      expect(maxRelErr(loop.dbeta, native.dbeta)).toBeLessThan(1e-6);
    } finally {
      setNativeKernelsEnabled(before);
    }
  });

  it('gradients agree with finite differences (ReLU off and on)', () => {
    for (const relu of [false, true]) {
      const rng = new Rng(21);
      const x = tf.variable(randn(rng, [2, 3, 3, 5], 0.3, 1.5));
      const gamma = tf.variable(randn(rng, [5], 1, 0.2));
      const beta = tf.variable(randn(rng, [5], 0.2, 0.2));
      const w = randn(rng, [2, 3, 3, 5]);
      const wv = randn(rng, [5]);
      const f = () =>
        tf.tidy(() => {
          const r = batchNormTrain(x, gamma, beta, { relu });
          return tf.add(tf.sum(tf.mul(r.y, w)), tf.sum(tf.mul(r.variance, wv))) as tf.Scalar;
        });
      const results = gradCheck(f, new Map([['x', x], ['gamma', gamma], ['beta', beta]]), rng, 1e-2, 1e-2);
      for (const r of results) expect(r.relError, `${r.name}${relu ? ' (relu)' : ''}: ${r.analytic} vs ${r.numeric}`).toBeLessThan(2e-2);
      tf.dispose([x, gamma, beta, w, wv]);
    }
  });

  it('leaks no tensors and gives the same bits run to run and with 1 or 2 native threads', async () => {
    bnRun(batchNormTrain, [8, 32, 32, 16], true, 3); // warm caches
    const bytes = tf.memory().numBytes;
    const [first, unused] = expectNoLeaksSync(() => [
      bnRun(batchNormTrain, [8, 32, 32, 16], true, 3),
      bnRun(batchNormTrain, [8, 32, 32, 16], false, 3, false), // dmean, dvariance never used
    ] as const, 'two batch-norm training runs');
    expect(tf.memory().numBytes).toBe(bytes);
    expect(bnRun(batchNormTrain, [8, 32, 32, 16], true, 3)).toEqual(first);
    expect(unused.dx.every(Number.isFinite)).toBe(true);
    await initBackend('wasm', { nativeThreads: 1, log: null });
    const one = bnRun(batchNormTrain, [8, 32, 32, 16], true, 3);
    await initBackend('wasm', { nativeThreads: 2, log: null });
    const two = bnRun(batchNormTrain, [8, 32, 32, 16], true, 3);
    await initBackend('wasm', { log: null }); // back to this process's environment
    expect(two).toEqual(one);
    expect(one).toEqual(first);
  });

  it('NaN in x stays NaN in its channel', () => {
    const x = tf.tensor([1, 2, Number.NaN, 4, 5, 6], [3, 2]);
    const r = batchNormTrain(x, tf.ones([2]), tf.zeros([2]), { relu: true });
    const y = r.y.dataSync();
    expect(Number.isNaN(y[0]!) && Number.isNaN(y[2]!) && Number.isNaN(y[4]!)).toBe(true);
    expect(Number.isFinite(y[1]!) && Number.isFinite(y[3]!) && Number.isFinite(y[5]!)).toBe(true);
    tf.dispose([x, r.y, r.mean, r.variance]);
  });

  it('refuses gamma / beta that do not match the channels, and a counted fallback never gives a wrong answer', () => {
    const x = tf.zeros([2, 3, 4]);
    expect(() => batchNormTrain(x, tf.ones([3]), tf.zeros([4]))).toThrow(/gamma must have shape \[4\]/);
    expect(() => batchNormTrain(tf.zeros([4]), tf.ones([4]), tf.zeros([4]))).toThrow(/rank ≥ 2/);
    if (active) {
      resetNativeFallbacks();
      const xi = tf.zeros([2, 4], 'int32');
      expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN_KERNELS.forward, { x: xi, gamma: tf.ones([4]), beta: tf.zeros([4]) }, { epsilon: 1e-5, relu: false })).toThrow(/float32/);
      expect(Object.fromEntries(nativeFallbacks())).toEqual({ 'ClipSenetBatchNormTrain: dtype, rank or empty tensor': 1 });
    }
  });
});

describe('adamUpdate', () => {
  /** Three steps from the same seeded draws; p, m, v after each. */
  function adamRun(op: typeof adamUpdate, size: number, extra: Partial<AdamUpdateHyper>): Float32Array[] {
    const rng = new Rng(size);
    return tf.tidy(() => {
      let p = randn(rng, [size]);
      let m = tf.zeros([size]);
      let v = tf.zeros([size]);
      const out: Float32Array[] = [];
      for (let t = 1; t <= 3; t++) {
        const g = randn(rng, [size], 0, 0.1);
        ({ p, m, v } = op(p, m, v, g, { lr: 1e-3 * t, beta1: 0.9, beta2: 0.999, eps: 1e-8, t, weightDecay: 0, decoupled: false, ...extra }));
        for (const r of [p, m, v]) out.push(Float32Array.from(r.dataSync() as Float32Array));
      }
      return out as unknown as tf.Tensor;
    }) as unknown as Float32Array[];
  }
  const cases: Array<[string, Partial<AdamUpdateHyper>]> = [
    ['Adam', {}],
    ['Adam + L2', { weightDecay: 0.05 }],
    ['AdamW', { weightDecay: 0.05, decoupled: true }],
  ];
  for (const [label, extra] of cases) {
    for (const size of [5, 3 * 3 * 64 * 64 + 7]) {
      it(`${label} over ${size} values is bitwise the op chain (steps 1–3), native and its JS-loop fallback`, () => {
        resetNativeFallbacks();
        const composed = adamRun(adamUpdateComposed, size, extra);
        expect(adamRun(adamUpdate, size, extra)).toEqual(composed);
        const before = setNativeKernelsEnabled(false);
        try {
          expect(adamRun(adamUpdate, size, extra)).toEqual(composed);
        } finally {
          setNativeKernelsEnabled(before);
        }
        expect(fusedFallbacks()).toEqual({});
      });
    }
  }

  it('leaks no tensors; mismatched shapes take the op chain (which reports them)', () => {
    adamRun(adamUpdate, 1000, {});
    expectNoLeaksSync(() => adamRun(adamUpdate, 1000, {}), 'an Adam update');
    const h: AdamUpdateHyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 1, weightDecay: 0, decoupled: false };
    expect(() => tf.tidy(() => {
      adamUpdate(tf.zeros([4]), tf.zeros([4]), tf.zeros([4]), tf.zeros([5]), h);
    })).toThrow(/shape/i);
  });
});
