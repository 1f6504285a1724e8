/**
 * groupedConv2d (one op; one oneDNN primitive where the addon is active) against split / conv / concat from tfjs ops
 * — the formulation backbones uses today — computed with the native kernels off (XNNPACK + the toolkit's kernels):
 * forward and both gradients over groups 1/2/4/32, strides 1/2/3, same/valid/explicit padding, 1×1–5×5, odd sizes,
 * batch 1. Where native kernels are active none of these may fall back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { Rng } from '../rng';
import { backendInfo, initBackend } from '../backend';
import { maxRelErr } from '../testing';
import { GROUPED_CONV_KERNELS, groupedConv2d } from './grouped-conv';
import { nativeFallbacks, resetNativeFallbacks, setNativeKernelsEnabled } from './native';
import { expectNoLeaksSync } from '../leak-check';

let active = false;
beforeAll(async () => {
  await initBackend('wasm', { log: null });
  active = backendInfo()?.native?.active === true;
});

type Pad = 'same' | 'valid' | number;

interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  pad: Pad;
  groups: number;
}

const CASES: Case[] = [
  { n: 2, h: 9, w: 8, ci: 4, co: 6, k: 3, stride: 1, pad: 'same', groups: 2 },
  { n: 1, h: 11, w: 9, ci: 8, co: 8, k: 3, stride: 2, pad: 1, groups: 4 },
  { n: 2, h: 10, w: 10, ci: 6, co: 9, k: 5, stride: 3, pad: 'valid', groups: 3 },
  { n: 2, h: 7, w: 9, ci: 4, co: 4, k: 1, stride: 2, pad: 'valid', groups: 2 },
  { n: 2, h: 8, w: 7, ci: 64, co: 64, k: 3, stride: 1, pad: 1, groups: 32 },
  { n: 1, h: 9, w: 9, ci: 64, co: 128, k: 3, stride: 2, pad: 1, groups: 32 },
  { n: 2, h: 9, w: 8, ci: 3, co: 5, k: 3, stride: 2, pad: 'same', groups: 1 },
];

function rand(rng: Rng, shape: number[]): tf.Tensor {
  const a = new Float32Array(shape.reduce((p, q) => p * q, 1));
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return tf.tensor(a, shape);
}

/** split / conv / concat in tf ops: the reference (and what groupedConv2d does where its kernels are not registered). */
function bySlices(x: tf.Tensor4D, w: tf.Tensor4D, c: Case): tf.Tensor4D {
  if (c.groups === 1) return tf.conv2d(x, w, c.stride, c.pad as 'same'); // as ops.ts
  const cog = c.co / c.groups;
  const xs = tf.split(x, c.groups, 3) as tf.Tensor4D[]; // G × [N,H,W,Ci/G]
  const ys = xs.map((xg, g) => tf.conv2d(xg, tf.slice(w, [0, 0, 0, g * cog], [-1, -1, -1, cog]) as tf.Tensor4D, c.stride, c.pad as 'same'));
  return tf.concat(ys, 3) as tf.Tensor4D; // G × [N,oH,oW,Co/G] → [N,oH,oW,Co]
}

/** Output and the gradients of Σ r ⊙ y with respect to x and w. */
function withGrads(f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D, r: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const y = f(x, w);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(r, f(a as tf.Tensor4D, b as tf.Tensor4D))))([x, w]);
    return [y, dx!, dw!].map((t) => Float32Array.from(t.dataSync() as Float32Array));
  });
}

describe('groupedConv2d', () => {
  for (const c of CASES) {
    it(`equals split / conv / concat, forward and gradients: ${c.n}×${c.h}×${c.w}×${c.ci}→${c.co} ${c.k}×${c.k}/${c.stride} pad ${c.pad} groups ${c.groups}`, () => {
      const rng = new Rng(c.ci * 100 + c.k);
      const x = rand(rng, [c.n, c.h, c.w, c.ci]) as tf.Tensor4D;
      const w = rand(rng, [c.k, c.k, c.ci / c.groups, c.co]) as tf.Tensor4D;
      const yShape = tf.tidy(() => bySlices(x, w, c).shape);
      const r = rand(rng, yShape);
      const [got, want, slicedWasm] = expectNoLeaksSync(() => {
        resetNativeFallbacks();
        const got = withGrads((a, b) => groupedConv2d(a, b, c.stride, c.pad, c.groups), x, w, r);
        // the grouped conv kernels never fall back (the loss's whole-tensor Sum stays on wasm: counted, not a conv)
        expect(Object.fromEntries([...nativeFallbacks()].filter(([k]) => !k.startsWith('Sum: trailing')))).toEqual({});
        setNativeKernelsEnabled(false);
        try {
          const want = withGrads((a, b) => bySlices(a, b, c), x, w, r);
          const slicedWasm = withGrads((a, b) => groupedConv2d(a, b, c.stride, c.pad, c.groups), x, w, r);
          return [got, want, slicedWasm] as const;
        } finally {
          setNativeKernelsEnabled(true);
        }
      }, 'the grouped conv, split / conv / concat and the wasm fallback');
      for (const [i, name] of ['y', 'dx', 'dw'].entries()) {
        expect(maxRelErr(got[i]!, want[i]!), `${name} (native ${active})`).toBeLessThan(1e-5);
        // without native kernels the op is exactly the slices formulation
        expect(slicedWasm[i], `${name}: wasm fallback`).toEqual(want[i]);
      }
      tf.dispose([x, w, r]);
    });
  }

  it('on a backend without the grouped kernels it is split / conv / concat in tf ops, forward and gradients', () => {
    const c = CASES.find((k) => k.groups === 32)!;
    const rng = new Rng(5);
    const x = rand(rng, [c.n, c.h, c.w, c.ci]) as tf.Tensor4D;
    const w = rand(rng, [c.k, c.k, c.ci / c.groups, c.co]) as tf.Tensor4D;
    const r = rand(rng, tf.tidy(() => bySlices(x, w, c).shape));
    const kernel = tf.getKernel(GROUPED_CONV_KERNELS.forward, tf.getBackend())!;
    tf.unregisterKernel(GROUPED_CONV_KERNELS.forward, tf.getBackend());
    setNativeKernelsEnabled(false);
    try {
      expect(withGrads((a, b) => groupedConv2d(a, b, c.stride, c.pad, c.groups), x, w, r)).toEqual(withGrads((a, b) => bySlices(a, b, c), x, w, r));
    } finally {
      tf.registerKernel(kernel);
      setNativeKernelsEnabled(true);
    }
    expect(tf.getKernel(GROUPED_CONV_KERNELS.forward, tf.getBackend())).toBeDefined();
    tf.dispose([x, w, r]);
  });

  it('rejects channel counts that do not fit the groups, and dilated gradients', () => {
    const x = tf.zeros([1, 5, 5, 6]) as tf.Tensor4D;
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 3, 4]) as tf.Tensor4D, 1, 'same', 4)).toThrow(/do not fit 4 groups/);
    expect(() => groupedConv2d(x, tf.zeros([3, 3, 2, 6]) as tf.Tensor4D, 1, 'same', 2)).toThrow(/do not fit 2 groups/);
    const w = tf.zeros([3, 3, 3, 4]) as tf.Tensor4D;
    expect(groupedConv2d(x, w, 1, 'same', 2, 2).shape).toEqual([1, 5, 5, 4]);
    expect(() => tf.grad((a: tf.Tensor) => tf.sum(groupedConv2d(a as tf.Tensor4D, w, 1, 'same', 2, 2)))(x)).toThrow(/dilation 1/);
  });
});
