/**
 * The oneDNN kernels registered on wasm (native.ts) against the kernels they replace (the same process, native
 * routed off) and tfjs' cpu backend, on a grid of conv geometries (1×1–7×7, strides 1/2/3, dilation, same / valid /
 * explicit symmetric and asymmetric padding, odd sizes, batch 1 and 2) and matmul flag/batch cases; finite-difference
 * gradients; leaks; determinism; fallbacks. Without the addon (or with CLIP_SENET_NATIVE=0) the same file checks that
 * initBackend reports it and that everything runs on the wasm kernels; CLIP_SENET_REQUIRE_NATIVE=1 (CI) turns an
 * absent addon into a failure.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { Rng } from '../rng';
import { backendInfo, initBackend } from '../backend';
import { maxRelErr } from '../testing';
import { FUSED_NATIVE_KERNELS } from './native-fused';
import { NATIVE_KERNELS, describeNativeKernels, nativeFallbacks, resetNativeFallbacks, setNativeKernelsEnabled } from './native';
import type { TensorInfo } from './compose';
import { expectNoLeaksSync } from '../leak-check';

const required = process.env.CLIP_SENET_REQUIRE_NATIVE === '1';
const disabled = process.env.CLIP_SENET_NATIVE === '0';

function randArray(rng: Rng, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

interface Input {
  values: Float32Array;
  shape: number[];
}

/** Runs a kernel on tfjs' cpu backend directly (no backend switch). */
function runCpu(kernel: string, inputs: Record<string, Input>, attrs: Record<string, unknown>): Float32Array {
  const cpu = tf.findBackend('cpu')!;
  const infos: Record<string, TensorInfo> = {};
  for (const [k, v] of Object.entries(inputs)) infos[k] = { dataId: cpu.write(v.values, v.shape, 'float32'), shape: v.shape, dtype: 'float32' };
  const out = tf.getKernel(kernel, 'cpu')!.kernelFunc({ inputs: infos, backend: cpu, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
  const values = Float32Array.from(cpu.readSync(out.dataId) as Float32Array);
  for (const t of [...Object.values(infos), out]) cpu.disposeData(t.dataId);
  return values;
}

/** Runs a kernel on wasm with the native kernels on or off (`undefined`: as initBackend left them). */
function runWasm(kernel: string, inputs: Record<string, Input>, attrs: Record<string, unknown>, native: boolean | undefined): Float32Array {
  const before = native === undefined ? undefined : setNativeKernelsEnabled(native);
  try {
    return tf.tidy(() => {
      const ts: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.values, v.shape, 'float32');
      const out = tf.engine().runKernel(kernel, ts as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
      return Float32Array.from(out.dataSync() as Float32Array);
    });
  } finally {
    if (before !== undefined) setNativeKernelsEnabled(before);
  }
}

type Pad = 'same' | 'valid' | number | Array<[number, number]>;

interface Geometry {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  dilation: number;
  pad: Pad;
}

const PADS: Pad[] = [
  'same',
  'valid',
  1,
  [
    [0, 0],
    [2, 0],
    [1, 2],
    [0, 0],
  ],
];

/** The grid: every kernel size × stride × padding, with dilation 2 on some, odd sizes and batch 1 mixed in. */
function grid(): Geometry[] {
  const out: Geometry[] = [];
  let i = 0;
  for (const k of [1, 2, 3, 5, 7])
    for (const stride of [1, 2, 3])
      for (const pad of PADS) {
        i++;
        const dilation = stride === 1 && k > 1 && i % 2 === 0 ? 2 : 1;
        const g = { n: i % 3 === 0 ? 1 : 2, h: 9 + (i % 4), w: 11 - (i % 3), ci: 3 + (i % 3), co: 4 + (i % 4), k, stride, dilation, pad };
        const info = tf.backend_util.computeConv2DInfo([g.n, g.h, g.w, g.ci], [k, k, g.ci, g.co], stride, dilation, pad as 'same');
        if (info.outHeight >= 1 && info.outWidth >= 1) out.push(g);
      }
  return out;
}

function label(g: Geometry): string {
  return `${g.n}×${g.h}×${g.w}×${g.ci}→${g.co} ${g.k}×${g.k}/${g.stride} dil ${g.dilation} pad ${JSON.stringify(g.pad)}`;
}

function convInputs(g: Geometry, rng: Rng) {
  const info = tf.backend_util.computeConv2DInfo([g.n, g.h, g.w, g.ci], [g.k, g.k, g.ci, g.co], g.stride, g.dilation, g.pad as 'same');
  const x: Input = { values: randArray(rng, g.n * g.h * g.w * g.ci), shape: [g.n, g.h, g.w, g.ci] };
  const filter: Input = { values: randArray(rng, g.k * g.k * g.ci * g.co), shape: [g.k, g.k, g.ci, g.co] };
  const dy: Input = { values: randArray(rng, tf.util.sizeFromShape(info.outShape)), shape: info.outShape };
  return { x, filter, dy };
}

const TOL = 1e-5;

let active = false;

beforeAll(async () => {
  await initBackend('wasm', { log: null });
  active = backendInfo()?.native?.active === true;
});

describe('native kernel selection', () => {
  it('initBackend reports whether oneDNN kernels are active, with ISA and provenance', () => {
    const info = backendInfo()!;
    expect(info.native).toBeDefined();
    if (disabled) {
      expect(info.native!.active).toBe(false);
      expect(info.native!.detail).toBe('native kernels off (CLIP_SENET_NATIVE=0)');
      expect(info.provenance).toBe('wasm');
      return;
    }
    expect(required && !info.native!.active, `CLIP_SENET_REQUIRE_NATIVE=1 but: ${info.native!.detail}`).toBe(false);
    if (info.native!.active) {
      expect(info.provenance).toBe('wasm+onednn');
      expect(info.native!.isa).toMatch(/\w+/);
      expect(info.native!.kernels).toEqual([...NATIVE_KERNELS, ...FUSED_NATIVE_KERNELS.map(([n]) => n)]);
      expect(info.reason).toMatch(/oneDNN \d+\.\d+\.\d+ kernels \(\w+, \d+ threads?\) — oneDNN: conv fwd\/bwd \(incl\. grouped\), matmul; native loops: .*batchnorm.*adam update$/);
      expect(describeNativeKernels(['Conv2D', 'Add'])).toBe('oneDNN: conv fwd/bwd (incl. grouped); native loops: add/sub/mul/div');
      expect(describeNativeKernels([])).toBe('none');
    } else {
      expect(info.provenance).toBe('wasm');
      expect(info.reason).toMatch(/native kernels unavailable: .*(apt-get install g\+\+ libdnnl-dev|npm run build|npm ci)/);
    }
  });

  it('CLIP_SENET_NATIVE=0 routes every kernel to wasm; re-enabling restores oneDNN', async () => {
    const lines: string[] = [];
    // nativeThreads makes this a new choice even where the process already runs with CLIP_SENET_NATIVE=0
    await initBackend('wasm', { env: { CLIP_SENET_NATIVE: '0' }, nativeThreads: 1, log: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/native kernels off \(CLIP_SENET_NATIVE=0\)$/);
    expect(backendInfo()!.provenance).toBe('wasm');
    resetNativeFallbacks();
    const g = grid()[5]!;
    const { x, filter } = convInputs(g, new Rng(1));
    const attrs = { strides: g.stride, pad: g.pad, dilations: g.dilation, dataFormat: 'NHWC' };
    const off = runWasm('Conv2D', { x, filter }, attrs, undefined);
    expect(maxRelErr(off, runCpu('Conv2D', { x, filter }, attrs))).toBeLessThan(TOL);
    await initBackend('wasm', { log: null }); // back to this process's environment
    expect(backendInfo()!.native!.active).toBe(active);
    expect(nativeFallbacks().size).toBe(0);
  });

  it('rejects a bad CLIP_SENET_NATIVE_THREADS, naming it', async () => {
    await expect(initBackend('wasm', { env: { CLIP_SENET_NATIVE_THREADS: '0' }, log: null })).rejects.toThrow(/CLIP_SENET_NATIVE_THREADS: expected an integer 1–256/);
  });
});

describe('native conv kernels vs wasm and cpu', () => {
  const cases = grid();
  it('covers the grid the issue asks for', () => {
    expect(new Set(cases.map((c) => c.k))).toEqual(new Set([1, 2, 3, 5, 7]));
    expect(new Set(cases.map((c) => c.stride))).toEqual(new Set([1, 2, 3]));
    expect(cases.some((c) => c.dilation === 2)).toBe(true);
    expect(cases.some((c) => c.n === 1)).toBe(true);
    expect(cases.length).toBeGreaterThan(50);
  });

  for (const [i, g] of cases.entries()) {
    it(`Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter: ${label(g)}`, () => {
      resetNativeFallbacks();
      const { x, filter, dy } = convInputs(g, new Rng(100 + i));
      const fwd = { strides: g.stride, pad: g.pad, dilations: g.dilation, dataFormat: 'NHWC' };
      const native = runWasm('Conv2D', { x, filter }, fwd, active);
      expect(maxRelErr(native, runWasm('Conv2D', { x, filter }, fwd, false)), 'fwd vs wasm').toBeLessThan(TOL);
      expect(maxRelErr(native, runCpu('Conv2D', { x, filter }, fwd)), 'fwd vs cpu').toBeLessThan(TOL);
      if (g.dilation === 1) {
        const bd = { strides: g.stride, pad: g.pad, dataFormat: 'NHWC', inputShape: x.shape };
        const dx = runWasm('Conv2DBackpropInput', { dy, filter }, bd, active);
        expect(maxRelErr(dx, runWasm('Conv2DBackpropInput', { dy, filter }, bd, false)), 'dx vs wasm').toBeLessThan(TOL);
        expect(maxRelErr(dx, runCpu('Conv2DBackpropInput', { dy, filter }, bd)), 'dx vs cpu').toBeLessThan(TOL);
        const bf = { strides: g.stride, pad: g.pad, dataFormat: 'NHWC', filterShape: filter.shape };
        const dw = runWasm('Conv2DBackpropFilter', { x, dy }, bf, active);
        expect(maxRelErr(dw, runWasm('Conv2DBackpropFilter', { x, dy }, bf, false)), 'dw vs wasm').toBeLessThan(TOL);
        expect(maxRelErr(dw, runCpu('Conv2DBackpropFilter', { x, dy }, bf)), 'dw vs cpu').toBeLessThan(TOL);
      }
      // Covered shapes never fall back when oneDNN is active.
      expect(Object.fromEntries(nativeFallbacks())).toEqual({});
    });
  }

  for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu'] as const) {
    it(`FusedConv2D with bias and ${activation} equals wasm's fused kernel and cpu`, () => {
      resetNativeFallbacks();
      const rng = new Rng(7);
      const g = { n: 2, h: 8, w: 7, ci: 3, co: 5, k: 3, stride: 2, dilation: 1, pad: 'same' as const };
      const { x, filter } = convInputs(g, rng);
      const bias: Input = { values: randArray(rng, 5), shape: [5] };
      const attrs = { strides: 2, pad: 'same', dilations: 1, dataFormat: 'NHWC', activation, leakyreluAlpha: 0.1 };
      const native = runWasm('FusedConv2D', { x, filter, bias }, attrs, active);
      expect(maxRelErr(native, runWasm('FusedConv2D', { x, filter, bias }, attrs, false))).toBeLessThan(TOL);
      expect(maxRelErr(native, runCpu('FusedConv2D', { x, filter, bias }, attrs))).toBeLessThan(TOL);
      expect(Object.fromEntries(nativeFallbacks())).toEqual({});
    });
  }
});

describe('native BatchMatMul vs wasm and cpu', () => {
  // every product ≥ 16³ multiply-adds (smaller ones stay on wasm: see the last test)
  const shapes: Array<[number[], number[]]> = [
    [
      [17, 19],
      [19, 23],
    ],
    [
      [4, 16, 33],
      [4, 33, 9],
    ],
    [
      [1, 20, 30],
      [4, 30, 10],
    ],
    [
      [3, 33, 65],
      [1, 65, 17],
    ],
    [
      [2, 3, 16, 20],
      [2, 3, 20, 24],
    ],
  ];
  const transposed = (shape: number[], t: boolean) => (t ? [...shape.slice(0, -2), shape[shape.length - 1]!, shape[shape.length - 2]!] : shape);
  for (const [sa, sb] of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`${JSON.stringify(sa)}${ta ? 'ᵀ' : ''} · ${JSON.stringify(sb)}${tb ? 'ᵀ' : ''}`, () => {
          resetNativeFallbacks();
          const rng = new Rng(sa.length * 10 + sb[0]!);
          const a: Input = { values: randArray(rng, tf.util.sizeFromShape(sa)), shape: transposed(sa, ta) };
          const b: Input = { values: randArray(rng, tf.util.sizeFromShape(sb)), shape: transposed(sb, tb) };
          const attrs = { transposeA: ta, transposeB: tb };
          const native = runWasm('BatchMatMul', { a, b }, attrs, active);
          expect(maxRelErr(native, runWasm('BatchMatMul', { a, b }, attrs, false))).toBeLessThan(TOL);
          expect(maxRelErr(native, runCpu('BatchMatMul', { a, b }, attrs))).toBeLessThan(TOL);
          expect(Object.fromEntries(nativeFallbacks())).toEqual({});
        });
      }
    }
  }

  it('a batch broadcast oneDNN does not take ([2,1]×[1,3]) falls back, is counted, and is still right', () => {
    resetNativeFallbacks();
    const rng = new Rng(3);
    const a: Input = { values: randArray(rng, 2 * 16 * 20), shape: [2, 1, 16, 20] };
    const b: Input = { values: randArray(rng, 3 * 20 * 24), shape: [1, 3, 20, 24] };
    const attrs = { transposeA: false, transposeB: false };
    const got = runWasm('BatchMatMul', { a, b }, attrs, active);
    expect(maxRelErr(got, runCpu('BatchMatMul', { a, b }, attrs))).toBeLessThan(TOL);
    expect(Object.fromEntries(nativeFallbacks())).toEqual(active ? { 'BatchMatMul: batch broadcast': 1 } : {});
  });

  it('a product below 16³ multiply-adds stays on wasm (counted as tiny) with the wasm kernel\'s exact numbers', () => {
    resetNativeFallbacks();
    const rng = new Rng(4);
    const a: Input = { values: randArray(rng, 5 * 4), shape: [5, 4] };
    const b: Input = { values: randArray(rng, 4 * 8), shape: [4, 8] };
    const attrs = { transposeA: false, transposeB: false };
    expect(runWasm('BatchMatMul', { a, b }, attrs, active)).toEqual(runWasm('BatchMatMul', { a, b }, attrs, false));
    expect(Object.fromEntries(nativeFallbacks())).toEqual(active ? { 'BatchMatMul: tiny': 1 } : {});
  });
});

describe('native kernels in training', () => {
  /** loss(x, w, v) = Σ r ⊙ (conv(x, w) · v)², a conv and a matmul with gradients through both. */
  function loss(x: tf.Tensor4D, w: tf.Tensor4D, v: tf.Tensor2D, r: tf.Tensor): tf.Scalar {
    const y = tf.conv2d(x, w, 2, 'same'); // [1,5,4,4]
    const flat = tf.reshape(y, [20, 4]); // [1,5,4,4] → [20,4]
    return tf.sum(tf.mul(r, tf.square(tf.matMul(flat, v, false, true))));
  }

  it('conv and matmul gradients equal central finite differences (ε = 1e-2, 2 % tolerance)', () => {
    const rng = new Rng(11);
    const x = tf.tensor4d(randArray(rng, 1 * 9 * 7 * 3), [1, 9, 7, 3]);
    const w = tf.tensor4d(randArray(rng, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
    const v = tf.tensor2d(randArray(rng, 6 * 4), [6, 4]);
    const r = tf.tensor2d(randArray(rng, 20 * 6), [20, 6]);
    const [gx, gw, gv] = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => loss(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor2D, r))([x, w, v]);
    const eps = 1e-2;
    for (const [t, g, picks] of [
      [x, gx!, [0, 17, 100, 188]],
      [w, gw!, [0, 13, 57, 107]],
      [v, gv!, [0, 5, 23]],
    ] as const) {
      const base = t.dataSync();
      const grad = g.dataSync();
      for (const i of picks) {
        const at = (delta: number) =>
          tf.tidy(() => {
            const shifted = Float32Array.from(base);
            shifted[i]! += delta;
            const tt = tf.tensor(shifted, t.shape);
            const args = [t === x ? tt : x, t === w ? tt : w, t === v ? tt : v] as [tf.Tensor4D, tf.Tensor4D, tf.Tensor2D];
            return loss(...args, r).dataSync()[0]!;
          });
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - grad[i]!), `index ${i}: fd ${fd} vs ${grad[i]}`).toBeLessThan(0.02 * Math.max(1, Math.abs(fd)));
      }
    }
    tf.dispose([x, w, v, r, gx!, gw!, gv!]);
  });

  it('a forward + backward pass leaks no tensors and gives identical numbers when repeated', () => {
    const rng = new Rng(5);
    const x = tf.tensor4d(randArray(rng, 2 * 16 * 16 * 8), [2, 16, 16, 8]);
    const w1 = tf.variable(tf.tensor4d(randArray(rng, 3 * 3 * 8 * 16), [3, 3, 8, 16]));
    const w2 = tf.variable(tf.tensor4d(randArray(rng, 1 * 1 * 16 * 8), [1, 1, 16, 8]));
    const step = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const h = tf.relu(tf.conv2d(x, w1, 2, 'same'));
          const y = tf.conv2d(h, w2, 1, 'valid');
          return tf.mean(tf.square(tf.matMul(tf.reshape(y, [-1, 8]), tf.reshape(y, [-1, 8]), true, false)));
        });
        return [value.dataSync()[0]!, ...Object.values(grads).map((gr) => Array.from(gr.dataSync().slice(0, 8)))];
      });
    const first = step();
    const bytes = tf.memory().numBytes;
    const second = expectNoLeaksSync(step, 'a repeated step');
    expect(tf.memory().numBytes).toBe(bytes);
    expect(second).toEqual(first);
    tf.dispose([x, w1, w2]);
  });

  it('a short training run (conv net, SGD, 6 steps) gives the same losses on native and wasm kernels (1e-5 relative)', () => {
    const train = (native: boolean): number[] => {
      const before = setNativeKernelsEnabled(native);
      try {
        const rng = new Rng(21);
        const x = tf.tensor4d(randArray(rng, 4 * 12 * 12 * 3), [4, 12, 12, 3]);
        const target = tf.tensor2d(randArray(rng, 4 * 10), [4, 10]);
        const w1 = tf.variable(tf.mul(tf.tensor4d(randArray(rng, 3 * 3 * 3 * 16), [3, 3, 3, 16]), 0.3) as tf.Tensor4D);
        const w2 = tf.variable(tf.mul(tf.tensor4d(randArray(rng, 3 * 3 * 16 * 32), [3, 3, 16, 32]), 0.1) as tf.Tensor4D);
        const fc = tf.variable(tf.mul(tf.tensor2d(randArray(rng, 32 * 10), [32, 10]), 0.1) as tf.Tensor2D);
        const opt = tf.train.sgd(0.05);
        const losses: number[] = [];
        for (let step = 0; step < 6; step++) {
          const loss = opt.minimize(() => {
            const h1 = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'));
            const h2 = tf.relu(tf.conv2d(h1, w2 as tf.Tensor4D, 2, 'same')); // [4,6,6,32]
            const pooled = tf.mean(h2, [1, 2]); // [4,6,6,32] → [4,32]
            return tf.mean(tf.square(tf.sub(tf.matMul(pooled, fc as tf.Tensor2D), target)));
          }, true)!;
          losses.push(loss.dataSync()[0]!);
          loss.dispose();
        }
        tf.dispose([x, target, w1, w2, fc]);
        opt.dispose();
        return losses;
      } finally {
        setNativeKernelsEnabled(before);
      }
    };
    const native = train(active);
    const wasm = train(false);
    expect(native[5]!).toBeLessThan(native[0]!); // it trains
    native.forEach((l, i) => expect(Math.abs(l - wasm[i]!) / Math.abs(wasm[i]!), `step ${i}: ${l} vs ${wasm[i]}`).toBeLessThan(1e-5));
  });
});

