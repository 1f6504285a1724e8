/**
 * The plain-loop native kernels (Add / Sub / Multiply / RealDiv with broadcasting, Relu / Step / Square, Sum / Mean over a block of axes,
 * FusedBatchNorm, MaxPoolGrad, Slice; packages/native/src/elementwise.cc) against the kernels they replace (same
 * process, native routed off) and tfjs' cpu backend: shape grids with broadcast patterns, odd sizes, batch 1 and
 * tensors large enough for the parallel paths; gradients of a BatchNorm / ReLU / max-pool net; leaks; bits equal run
 * to run and across native thread counts; counted fallbacks. Without the addon (or with CLIP_SENET_NATIVE=0) the same
 * comparisons run wasm against wasm and cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { Rng } from '../rng';
import { backendInfo, initBackend } from '../backend';
import { maxRelErr } from '../testing';
import { binaryDescriptor, nativeFallbacks, resetNativeFallbacks, setNativeKernelsEnabled } from './native';
import { RELU_GRAD_KERNEL } from './relu-grad';
import type { TensorInfo } from './compose';
import { expectNoLeaksSync } from '../leak-check';

interface Input {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype?: 'float32' | 'int32';
}

function rand(rng: Rng, shape: number[], quantum = 0): Input {
  const n = tf.util.sizeFromShape(shape);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = quantum > 0 ? Math.round(rng.normal() / quantum) * quantum : rng.normal();
  return { values, shape };
}

function runCpu(kernel: string, inputs: Record<string, Input>, attrs: Record<string, unknown>): Float32Array {
  const cpu = tf.findBackend('cpu')!;
  const infos: Record<string, TensorInfo> = {};
  for (const [k, v] of Object.entries(inputs)) infos[k] = { dataId: cpu.write(v.values, v.shape, v.dtype ?? 'float32'), shape: v.shape, dtype: v.dtype ?? 'float32' };
  const out = tf.getKernel(kernel, 'cpu')!.kernelFunc({ inputs: infos, backend: cpu, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
  const values = Float32Array.from(cpu.readSync(out.dataId) as Float32Array);
  for (const t of [...Object.values(infos), out]) cpu.disposeData(t.dataId);
  return values;
}

function runWasm(kernel: string, inputs: Record<string, Input>, attrs: Record<string, unknown>, native: boolean): Float32Array {
  const before = setNativeKernelsEnabled(native);
  try {
    return tf.tidy(() => {
      const ts: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.values, v.shape, v.dtype ?? 'float32');
      const out = tf.engine().runKernel(kernel, ts as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
      return Float32Array.from(out.dataSync() as Float32Array);
    });
  } finally {
    setNativeKernelsEnabled(before);
  }
}

let active = false;

beforeAll(async () => {
  await initBackend('wasm', { log: null });
  active = backendInfo()?.native?.active === true;
});

/** [a, b] shape pairs every binary op is checked on; all are covered natively. */
const BINARY_SHAPES: Array<[number[], number[]]> = [
  [[2, 3, 5, 7], [2, 3, 5, 7]], // same shape
  [[1, 9, 11, 3], [1, 9, 11, 3]], // batch 1
  [[2, 5, 7, 13], [13]], // per-channel vector over NHWC (BatchNorm's scale / shift)
  [[13], [2, 5, 7, 13]], // … on the left (the order matters for Sub)
  [[3, 4, 5, 6], [1, 1, 1, 6]], // kept-dims statistics
  [[3, 4, 5, 6], []], // scalar
  [[], [3, 4, 5, 6]],
  [[3, 4, 5, 6], [3, 1, 1, 1]], // per-sample column
  [[5, 1], [1, 7]], // outer product: a column and a row
  [[4, 33, 33, 20], [20]], // parallel path
  [[4, 33, 33, 20], [4, 33, 33, 20]],
  [[70001], [70001]], // rows longer than one task chunk, odd length
  [[3, 40001], [3, 1]], // columns over long rows
  [[3, 3, 256, 256], []], // an optimizer's weight update
];

describe('native Relu / Step / Square vs wasm and cpu', () => {
  for (const kernel of ['Relu', 'Step', 'Square'] as const) {
    for (const shape of [[1], [2, 5, 7, 3], [1, 9, 11, 3], [4, 33, 33, 20]]) {
      it(`${kernel} ${JSON.stringify(shape)}: the same bits as wasm and cpu`, () => {
        resetNativeFallbacks();
        const x = rand(new Rng(shape.length * 13 + shape[0]!), shape);
        const attrs = kernel === 'Step' ? { alpha: 0.1 } : {};
        const native = runWasm(kernel, { x }, attrs, active);
        expect(native).toEqual(runWasm(kernel, { x }, attrs, false));
        expect(native).toEqual(runCpu(kernel, { x }, attrs));
        expect(Object.fromEntries(nativeFallbacks())).toEqual({});
      });
    }
  }

  it('NaN and infinities as cpu; int32 falls back (counted)', () => {
    resetNativeFallbacks();
    const x = { values: Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2, -3]), shape: [5] };
    for (const kernel of ['Relu', 'Step', 'Square']) expect(runWasm(kernel, { x }, { alpha: 0 }, active), kernel).toEqual(runCpu(kernel, { x }, { alpha: 0 }));
    const ints = { values: Int32Array.from([-2, 3]), shape: [2], dtype: 'int32' as const };
    expect(Array.from(runWasm('Relu', { x: ints }, {}, active))).toEqual([0, 3]);
    expect(Object.fromEntries(nativeFallbacks())).toEqual(active ? { 'Relu: dtype': 1 } : {});
  });
});

describe('ReLU gradient in one kernel (native, and the JS pass without it)', () => {
  /** dy · step(x) as tfjs' stock gradient computes it, in float32. */
  function stock(dy: Float32Array, x: Float32Array): Float32Array {
    return dy.map((g, i) => Math.fround(g * (Number.isNaN(x[i]!) ? Number.NaN : x[i]! > 0 ? 1 : 0)));
  }
  for (const shape of [[1], [2, 5, 7, 3], [1, 9, 11, 3], [4, 33, 33, 20]]) {
    it(`${RELU_GRAD_KERNEL} ${JSON.stringify(shape)}: the stock gradient's bits, native and JS`, () => {
      resetNativeFallbacks();
      const rng = new Rng(shape.length * 17 + shape[0]!);
      const dy = rand(rng, shape);
      const x = rand(rng, shape, shape[0] === 1 ? 0.5 : 0); // coarse values: exact zeros
      if (x.values.length > 4) x.values.set([0, -0, Number.NaN, Number.NEGATIVE_INFINITY]);
      const want = stock(dy.values as Float32Array, x.values as Float32Array);
      expect(runWasm(RELU_GRAD_KERNEL, { dy, x }, {}, active)).toEqual(want);
      expect(runWasm(RELU_GRAD_KERNEL, { dy, x }, {}, false)).toEqual(want);
      expect(Object.fromEntries(nativeFallbacks())).toEqual({});
    });
  }

  it('tf.grad through tf.relu runs the one kernel (no Step, no Multiply)', async () => {
    const x = tf.tensor1d([-1, 0, 2, 3]);
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(x));
    expect(info.kernelNames).toContain(RELU_GRAD_KERNEL);
    expect(info.kernelNames).not.toContain('Step');
    x.dispose();
    tf.dispose(info.result as tf.Tensor);
  });

  it('tf.grad through tf.relu equals the stock formula (mul(dy, step(x))) bit for bit, second order too, no leaks', () => {
    const rng = new Rng(41);
    const x = tf.tensor(rand(rng, [3, 4, 5, 6], 0.5).values, [3, 4, 5, 6]);
    const r = tf.tensor(rand(rng, [3, 4, 5, 6]).values, [3, 4, 5, 6]);
    const w = tf.tensor(rand(rng, [3, 4, 5, 6]).values, [3, 4, 5, 6]);
    expectNoLeaksSync(() => {
      for (const native of [active, false]) {
        const was = setNativeKernelsEnabled(native);
        try {
          const [got, want, second, secondWant] = tf.tidy(() => {
            const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(r, tf.relu(t))))(x);
            const s = tf.cast(tf.step(x), 'float32');
            // d/dr of Σ w ⊙ ∂/∂x Σ r ⊙ relu(x) = w ⊙ step(x)
            const g2 = tf.grad((rr: tf.Tensor) => tf.sum(tf.mul(w, tf.grad((t: tf.Tensor) => tf.sum(tf.mul(rr, tf.relu(t))))(x))))(r);
            return [g, tf.mul(r, s), g2, tf.mul(w, s)].map((t) => Float32Array.from(t.dataSync() as Float32Array));
          });
          expect(got, `native ${native}`).toEqual(want);
          expect(second, `second order, native ${native}`).toEqual(secondWant);
        } finally {
          setNativeKernelsEnabled(was);
        }
      }
    }, 'relu gradients, first and second order, native and not');
    tf.dispose([x, r, w]);
  });
});

describe('native Add / Sub / Multiply / RealDiv vs wasm and cpu', () => {
  for (const kernel of ['Add', 'Sub', 'Multiply', 'RealDiv'] as const) {
    for (const [i, [sa, sb]] of BINARY_SHAPES.entries()) {
      it(`${kernel} ${JSON.stringify(sa)} ∘ ${JSON.stringify(sb)}: the same bits as wasm and cpu`, () => {
        resetNativeFallbacks();
        const rng = new Rng(300 + i);
        const inputs = { a: rand(rng, sa), b: rand(rng, sb) };
        const native = runWasm(kernel, inputs, {}, active);
        expect(native).toEqual(runWasm(kernel, inputs, {}, false));
        expect(native).toEqual(runCpu(kernel, inputs, {}));
        expect(Object.fromEntries(nativeFallbacks())).toEqual({});
      });
    }
  }

  it('descriptors: rows, columns, scalars and the split they agree on', () => {
    expect(binaryDescriptor(2, [2, 5, 7, 13], [13])).toEqual({ desc: Int32Array.from([2, 70, 13, 0, 1]), outShape: [2, 5, 7, 13] });
    expect(binaryDescriptor(1, [3, 1, 1, 1], [3, 4, 5, 6])).toEqual({ desc: Int32Array.from([1, 3, 120, 2, 0]), outShape: [3, 4, 5, 6] });
    expect(binaryDescriptor(0, [5, 1], [1, 7])).toEqual({ desc: Int32Array.from([0, 5, 7, 2, 1]), outShape: [5, 7] });
    expect(binaryDescriptor(0, [], [4, 6])).toEqual({ desc: Int32Array.from([0, 1, 24, 3, 0]), outShape: [4, 6] });
    expect(binaryDescriptor(0, [2, 1, 1, 6], [2, 3, 3, 6])).toBe('broadcast pattern'); // a middle broadcast
    expect(binaryDescriptor(0, [1, 4, 5], [3, 4, 1])).toBe('broadcast pattern'); // a row and a column with different splits
    expect(binaryDescriptor(0, [2, 3], [4, 3, 2])).toBe('shapes');
    expect(binaryDescriptor(0, [0, 3], [3])).toBe('empty tensor');
  });

  it('uncovered cases (a middle broadcast, int32) fall back, are counted and are still right', () => {
    resetNativeFallbacks();
    const rng = new Rng(9);
    const inputs = { a: rand(rng, [2, 3, 4, 5]), b: rand(rng, [2, 1, 1, 5]) };
    expect(runWasm('Multiply', inputs, {}, active)).toEqual(runCpu('Multiply', inputs, {}));
    const ints = { a: { values: Int32Array.from([1, 2, 3]), shape: [3], dtype: 'int32' as const }, b: { values: Int32Array.from([4]), shape: [1], dtype: 'int32' as const } };
    expect(Array.from(runWasm('Add', ints, {}, active))).toEqual([5, 6, 7]);
    expect(Object.fromEntries(nativeFallbacks())).toEqual(active ? { 'Multiply: broadcast pattern': 1, 'Add: dtype': 1 } : {});
  });
});

describe('native Sum / Mean vs the streaming pass and cpu', () => {
  const cases: Array<[number[], number[]]> = [
    [[2, 5, 7, 3], [0, 1, 2]],
    [[1, 9, 9, 17], [0, 1, 2]],
    [[4, 33, 33, 20], [0, 1, 2]], // 4356 rows: many chunks, parallel
    [[2, 5, 7, 3], [0]],
    [[2, 5, 7, 3], [1, 2]], // global average pool
    [[3, 300, 5], [1]],
  ];
  for (const kernel of ['Sum', 'Mean'] as const) {
    for (const [i, [shape, axis]] of cases.entries()) {
      for (const keepDims of [false, true]) {
        it(`${kernel} ${JSON.stringify(shape)} over ${JSON.stringify(axis)}${keepDims ? ', kept dims' : ''}`, () => {
          resetNativeFallbacks();
          const x = rand(new Rng(400 + i), shape);
          const attrs = { axis, keepDims };
          const native = runWasm(kernel, { x }, attrs, active);
          expect(maxRelErr(native, runWasm(kernel, { x }, attrs, false))).toBeLessThan(2e-6);
          expect(maxRelErr(native, runCpu(kernel, { x }, attrs))).toBeLessThan(1e-5);
          expect(Object.fromEntries(nativeFallbacks())).toEqual({});
        });
      }
    }
  }

  it('axes that are not one block ([0, 2]), trailing axes and all axes fall back (counted) and are right', () => {
    resetNativeFallbacks();
    const x = rand(new Rng(5), [4, 9, 3]);
    for (const [kernel, axis] of [
      ['Sum', [0, 2]],
      ['Sum', [2]],
      ['Mean', [1, 2]],
      ['Sum', [0, 1, 2]],
    ] as const) {
      const attrs = { axis, keepDims: false };
      expect(maxRelErr(runWasm(kernel, { x }, attrs, active), runCpu(kernel, { x }, attrs)), `${kernel} ${JSON.stringify(axis)}`).toBeLessThan(1e-6);
    }
    expect(Object.fromEntries(nativeFallbacks())).toEqual(active ? { 'Sum: axes not one contiguous block': 1, 'Sum: trailing axes': 2, 'Mean: trailing axes': 1 } : {});
  });
});

describe('native FusedBatchNorm vs wasm and cpu', () => {
  const shapes = [
    [2, 5, 7, 3],
    [1, 9, 9, 17],
    [4, 33, 33, 32],
    [6, 10],
  ];
  for (const [i, shape] of shapes.entries()) {
    for (const [withScale, withOffset] of [
      [true, true],
      [false, false],
      [true, false],
    ]) {
      it(`${JSON.stringify(shape)}, scale ${withScale}, offset ${withOffset}`, () => {
        resetNativeFallbacks();
        const rng = new Rng(500 + i);
        const c = shape[shape.length - 1]!;
        const variance = rand(rng, [c]);
        variance.values = variance.values.map((v) => v * v + 0.1);
        const inputs: Record<string, Input> = { x: rand(rng, shape), mean: rand(rng, [c]), variance };
        if (withOffset) inputs.offset = rand(rng, [c]);
        if (withScale) inputs.scale = rand(rng, [c]);
        const attrs = { varianceEpsilon: 1e-5 };
        const native = runWasm('FusedBatchNorm', inputs, attrs, active);
        expect(maxRelErr(native, runWasm('FusedBatchNorm', inputs, attrs, false))).toBeLessThan(1e-5);
        expect(maxRelErr(native, runCpu('FusedBatchNorm', inputs, attrs))).toBeLessThan(1e-5);
        expect(Object.fromEntries(nativeFallbacks())).toEqual({});
      });
    }
  }
});

describe('native MaxPoolGrad vs the JS pass and cpu', () => {
  const cases: Array<{ n: number; h: number; w: number; c: number; k: number; s: number; pad: 'same' | 'valid' | number }> = [];
  let i = 0;
  for (const k of [2, 3])
    for (const s of [1, 2, 3])
      for (const pad of ['same', 'valid', 1] as const) {
        i++;
        if (typeof pad === 'number' && pad * 2 > k) continue;
        cases.push({ n: i % 3 === 0 ? 1 : 2, h: 7 + (i % 4), w: 9 - (i % 3), c: 3 + (i % 5), k, s, pad });
      }
  cases.push({ n: 4, h: 33, w: 33, c: 32, k: 3, s: 2, pad: 1 }); // the ResNet stem's pool, parallel over images
  for (const g of cases) {
    it(`${g.n}×${g.h}×${g.w}×${g.c}, ${g.k}×${g.k}/${g.s}, pad ${g.pad} (ties routed to the first maximum)`, () => {
      resetNativeFallbacks();
      const rng = new Rng(g.h * 100 + g.c * 10 + g.k + g.s);
      const input = rand(rng, [g.n, g.h, g.w, g.c], 0.5); // coarse values: many ties
      const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], g.k, g.s, 1, g.pad);
      const dy = rand(rng, info.outShape);
      const output = { values: runWasm('MaxPool', { x: input }, { filterSize: g.k, strides: g.s, pad: g.pad }, false), shape: info.outShape };
      const attrs = { filterSize: g.k, strides: g.s, pad: g.pad };
      const native = runWasm('MaxPoolGrad', { dy, input, output }, attrs, active);
      expect(native).toEqual(runWasm('MaxPoolGrad', { dy, input, output }, attrs, false));
      expect(maxRelErr(native, runCpu('MaxPoolGrad', { dy, input, output }, attrs))).toBeLessThan(1e-6);
      expect(Object.fromEntries(nativeFallbacks())).toEqual({});
    });
  }
});

describe('native Slice vs wasm and cpu', () => {
  const cases: Array<[number[], number[], number[]]> = [
    [[9], [2], [5]],
    [[2, 10, 10, 5], [0, 1, 1, 0], [2, 8, 8, 5]], // a pad's gradient
    [[1, 7, 9, 3], [0, 2, 0, 1], [1, 3, 9, 2]],
    [[4, 5, 6], [1, 0, 0], [2, 5, 6]], // one contiguous run
    [[4, 5, 6], [0, 0, 0], [-1, -1, -1]], // everything (size −1)
    [[2, 3, 4, 5, 6], [1, 1, 2, 0, 3], [1, 2, 2, 5, 3]], // rank 5
    [[4, 66, 66, 16], [0, 1, 1, 0], [4, 64, 64, 16]], // parallel path
  ];
  for (const [shape, begin, size] of cases) {
    it(`${JSON.stringify(shape)} from ${JSON.stringify(begin)} size ${JSON.stringify(size)}: the same values as wasm and cpu`, () => {
      resetNativeFallbacks();
      const x = rand(new Rng(shape.length * 7 + begin[0]!), shape);
      const attrs = { begin, size };
      const native = runWasm('Slice', { x }, attrs, active);
      expect(native).toEqual(runWasm('Slice', { x }, attrs, false));
      expect(native).toEqual(runCpu('Slice', { x }, attrs));
      expect(Object.fromEntries(nativeFallbacks())).toEqual({});
    });
  }

  it('int32 slices too; an empty slice falls back (counted)', () => {
    resetNativeFallbacks();
    const x = { values: Int32Array.from({ length: 24 }, (_, i) => i - 5), shape: [2, 3, 4], dtype: 'int32' as const };
    const got = tf.tidy(() => Array.from(tf.slice(tf.tensor(x.values, x.shape, 'int32'), [1, 1, 1], [1, 2, 2]).dataSync()));
    expect(got).toEqual([12, 13, 16, 17]);
    const empty = tf.tidy(() => tf.slice(tf.tensor(x.values, x.shape, 'int32'), [1, 1, 1], [1, 0, 2]).shape);
    expect(empty).toEqual([1, 0, 2]);
    expect(Object.fromEntries(nativeFallbacks())).toEqual(active ? { 'Slice: empty tensor': 1 } : {});
  });
});

describe('native element-wise kernels in training', () => {
  /**
   * A conv → BatchNorm (tf.batchNorm, i.e. FusedBatchNorm, on batch statistics computed as backbones does:
   * tf.moments' gradient is wrong) → ReLU → max-pool → mean-pool → loss.
   */
  function net(x: tf.Tensor4D, w: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, r: tf.Tensor2D): tf.Scalar {
    const h = tf.conv2d(x, w, 1, 'same');
    const mean = tf.mean(h, [0, 1, 2]);
    const variance = tf.mean(tf.square(tf.sub(h, mean)), [0, 1, 2]);
    const bn = tf.relu(tf.batchNorm(h, mean, variance, beta, gamma, 1e-5));
    const p = tf.maxPool(bn as tf.Tensor4D, 3, 2, 'same');
    const pooled = tf.mean(p, [1, 2]) as tf.Tensor2D; // [N,H,W,C] → [N,C]
    return tf.sum(tf.mul(r, tf.sub(tf.mul(pooled, pooled), tf.add(pooled, 0.5))));
  }

  function inputs(seed: number) {
    const rng = new Rng(seed);
    return {
      x: tf.tensor4d(rand(rng, [2, 9, 9, 3]).values, [2, 9, 9, 3]),
      w: tf.tensor4d(rand(rng, [3, 3, 3, 6]).values, [3, 3, 3, 6]),
      gamma: tf.tensor1d(rand(rng, [6]).values as Float32Array),
      beta: tf.tensor1d(rand(rng, [6]).values as Float32Array),
      r: tf.tensor2d(rand(rng, [2, 6]).values, [2, 6]),
    };
  }

  function gradients(native: boolean): Float32Array[] {
    const before = setNativeKernelsEnabled(native);
    try {
      const { x, w, gamma, beta, r } = inputs(31);
      const gs = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => net(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor1D, d as tf.Tensor1D, r))([x, w, gamma, beta]);
      const out = gs.map((g) => Float32Array.from(g.dataSync() as Float32Array));
      tf.dispose([x, w, gamma, beta, r, ...gs]);
      return out;
    } finally {
      setNativeKernelsEnabled(before);
    }
  }

  it('gradients through BatchNorm, ReLU and max-pool equal the wasm kernels\' (1e-5) and central finite differences', () => {
    const native = gradients(active);
    const wasm = gradients(false);
    native.forEach((g, i) => expect(maxRelErr(g, wasm[i]!), `input ${i}`).toBeLessThan(1e-5));
    const { x, w, gamma, beta, r } = inputs(31);
    const eps = 3e-3; // 1e-2 moves one weight across a ReLU / max-pool switch
    const params = [x, w, gamma, beta];
    for (const [pi, picks] of [
      [1, [0, 40, 101, 161]],
      [2, [0, 3, 5]],
      [3, [1, 4]],
    ] as const) {
      const base = params[pi]!.dataSync();
      for (const j of picks) {
        const at = (delta: number) =>
          tf.tidy(() => {
            const shifted = Float32Array.from(base);
            shifted[j]! += delta;
            const args = params.map((p, k) => (k === pi ? tf.tensor(shifted, p.shape) : p)) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
            return net(...args, r).dataSync()[0]!;
          });
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - native[pi]![j]!), `param ${pi} index ${j}: fd ${fd} vs ${native[pi]![j]}`).toBeLessThan(0.03 * Math.max(1, Math.abs(fd)));
      }
    }
    tf.dispose([x, w, gamma, beta, r]);
  });

  it('a training step leaks no tensors and gives the same bits when repeated', () => {
    const first = gradients(active);
    const bytes = tf.memory().numBytes;
    const second = expectNoLeaksSync(() => gradients(active), 'a repeated training step');
    expect(tf.memory().numBytes).toBe(bytes);
    expect(second).toEqual(first);
  });

  it('results are the same bits with 1 and 2 native threads', async () => {
    const rng = new Rng(77);
    const big = rand(rng, [4, 33, 33, 20]);
    const vec = rand(rng, [20]);
    const dy = rand(rng, [4, 17, 17, 20]);
    const compute = () => [
      runWasm('Multiply', { a: big, b: vec }, {}, active),
      runWasm('Sum', { x: big }, { axis: [0, 1, 2], keepDims: false }, active),
      runWasm('FusedBatchNorm', { x: big, mean: vec, variance: { values: vec.values.map((v) => v * v + 1), shape: [20] } }, { varianceEpsilon: 1e-5 }, active),
      runWasm('MaxPoolGrad', { dy, input: big, output: dy }, { filterSize: 3, strides: 2, pad: 1 }, active),
    ];
    await initBackend('wasm', { nativeThreads: 1, log: null });
    const one = compute();
    await initBackend('wasm', { nativeThreads: 2, log: null });
    const two = compute();
    await initBackend('wasm', { log: null }); // back to this process's environment
    expect(two).toEqual(one);
  });
});
