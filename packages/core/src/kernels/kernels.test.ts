/**
 * The training-kernel fixes against two references: naive nested-loop gradients written here
 * (independent of tfjs) and tfjs' stock cpu kernels (captured before any cpu patching).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { Rng } from '../rng';
import { initBackend } from '../backend';
import { registerTrainingKernels } from './index';
import { KernelScope, type KernelBackend, type TensorInfo } from './compose';
import { expectNoLeaksSync } from '../leak-check';

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  stride: number;
  /** Width stride when it differs from the height stride (exercises the zero-insertion path). */
  strideW?: number;
  pad: 'same' | 'valid' | number;
  /** Too slow for the stock cpu kernels: compared with the naive reference only. */
  large?: boolean;
}

const CASES: ConvCase[] = [
  { n: 2, h: 9, w: 9, ci: 3, co: 4, k: 3, stride: 1, pad: 'same' },
  { n: 2, h: 9, w: 7, ci: 3, co: 5, k: 3, stride: 2, pad: 'same' },
  { n: 1, h: 8, w: 8, ci: 4, co: 3, k: 3, stride: 2, pad: 'same' },
  { n: 2, h: 11, w: 10, ci: 2, co: 3, k: 3, stride: 1, pad: 'valid' },
  { n: 2, h: 11, w: 10, ci: 2, co: 3, k: 3, stride: 2, pad: 'valid' },
  { n: 2, h: 6, w: 5, ci: 5, co: 7, k: 1, stride: 1, pad: 'valid' },
  { n: 2, h: 7, w: 9, ci: 5, co: 6, k: 1, stride: 2, pad: 'same' },
  { n: 1, h: 17, w: 15, ci: 3, co: 4, k: 7, stride: 2, pad: 'same' },
  { n: 1, h: 13, w: 13, ci: 3, co: 2, k: 7, stride: 1, pad: 'valid' },
  { n: 2, h: 9, w: 8, ci: 3, co: 4, k: 3, stride: 2, pad: 1 },
  { n: 1, h: 15, w: 15, ci: 3, co: 4, k: 7, stride: 2, pad: 3 },
  { n: 2, h: 9, w: 10, ci: 3, co: 4, k: 3, stride: 1, strideW: 2, pad: 'same' },
  { n: 1, h: 12, w: 11, ci: 4, co: 3, k: 5, stride: 3, pad: 'valid' },
  { n: 2, h: 8, w: 8, ci: 6, co: 5, k: 1, stride: 2, pad: 'valid' },
  { n: 4, h: 96, w: 96, ci: 8, co: 16, k: 3, stride: 2, pad: 'same', large: true },
];

function randArray(rng: Rng, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

/** Padding actually applied (top, left) and output size, straight from the definitions. */
function geometry(c: ConvCase): { oh: number; ow: number; padT: number; padL: number } {
  const out = (size: number, stride: number): { o: number; before: number } => {
    if (c.pad === 'valid') return { o: Math.ceil((size - c.k + 1) / stride), before: 0 };
    if (c.pad === 'same') {
      const o = Math.ceil(size / stride);
      const total = Math.max(0, (o - 1) * stride + c.k - size);
      return { o, before: Math.floor(total / 2) };
    }
    return { o: Math.floor((size + 2 * c.pad - c.k) / stride) + 1, before: c.pad };
  };
  const hh = out(c.h, c.stride);
  const ww = out(c.w, c.strideW ?? c.stride);
  return { oh: hh.o, ow: ww.o, padT: hh.before, padL: ww.before };
}

/** Naive dW and dx for y = conv2d(x, W), given dy. */
function naiveGrads(c: ConvCase, x: Float32Array, wt: Float32Array, dy: Float32Array) {
  const { oh, ow, padT, padL } = geometry(c);
  const dw = new Float64Array(c.k * c.k * c.ci * c.co);
  const dx = new Float64Array(c.n * c.h * c.w * c.ci);
  for (let n = 0; n < c.n; n++)
    for (let y = 0; y < oh; y++)
      for (let z = 0; z < ow; z++)
        for (let i = 0; i < c.k; i++)
          for (let j = 0; j < c.k; j++) {
            const hi = y * c.stride - padT + i;
            const wi = z * (c.strideW ?? c.stride) - padL + j;
            if (hi < 0 || hi >= c.h || wi < 0 || wi >= c.w) continue;
            for (let a = 0; a < c.ci; a++)
              for (let b = 0; b < c.co; b++) {
                const g = dy[((n * oh + y) * ow + z) * c.co + b]!;
                dw[((i * c.k + j) * c.ci + a) * c.co + b] += x[((n * c.h + hi) * c.w + wi) * c.ci + a]! * g;
                dx[((n * c.h + hi) * c.w + wi) * c.ci + a] += wt[((i * c.k + j) * c.ci + a) * c.co + b]! * g;
              }
          }
  return { dw, dx, oh, ow };
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let scale = 1e-6;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return err / scale;
}

function tfConvGrads(c: ConvCase, x: Float32Array, wt: Float32Array, dy: Float32Array) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [c.n, c.h, c.w, c.ci]);
    const wtt = tf.tensor4d(wt, [c.k, c.k, c.ci, c.co]);
    const { oh, ow } = geometry(c);
    const dyt = tf.tensor4d(dy, [c.n, oh, ow, c.co]);
    const pad = typeof c.pad === 'number' ? ([[0, 0], [c.pad, c.pad], [c.pad, c.pad], [0, 0]] as tf.backend_util.ExplicitPadding) : c.pad;
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [c.stride, c.strideW ?? c.stride], pad);
    const [gx, gw] = tf.grads(f)([xt, wtt], dyt);
    return { dx: Float32Array.from(gx!.dataSync()), dw: Float32Array.from(gw!.dataSync()) };
  });
}

function makeCase(c: ConvCase, seed: number) {
  const rng = new Rng(seed);
  const { oh, ow } = geometry(c);
  return {
    x: randArray(rng, c.n * c.h * c.w * c.ci),
    wt: randArray(rng, c.k * c.k * c.ci * c.co),
    dy: randArray(rng, c.n * oh * ow * c.co),
  };
}

const label = (c: ConvCase) => `k${c.k} s${c.stride}${c.strideW ? `×${c.strideW}` : ''} pad=${c.pad} ${c.h}×${c.w} ci${c.ci} co${c.co}`;

describe('conv2d gradients', () => {
  const stock = new Map<string, { dx: Float32Array; dw: Float32Array }>();

  beforeAll(async () => {
    // Stock cpu gradients first (nothing patched for cpu yet in this worker).
    await tf.setBackend('cpu');
    CASES.forEach((c, i) => {
      if (c.large) return;
      const { x, wt, dy } = makeCase(c, 100 + i);
      stock.set(label(c), tfConvGrads(c, x, wt, dy));
    });
    expect(await initBackend('wasm', { log: null })).toBe('wasm');
  });

  for (const [i, c] of CASES.entries()) {
    it(`wasm matches naive and stock cpu: ${label(c)}`, async () => {
      await tf.setBackend('wasm');
      const { x, wt, dy } = makeCase(c, 100 + i);
      const want = naiveGrads(c, x, wt, dy);
      const dataIdsBefore = tf.engine().backend.numDataIds();
      const got = expectNoLeaksSync(() => tfConvGrads(c, x, wt, dy), 'the conv gradients');
      expect(tf.engine().backend.numDataIds()).toBe(dataIdsBefore);
      expect(maxRelErr(got.dw, want.dw)).toBeLessThan(1e-5);
      expect(maxRelErr(got.dx, want.dx)).toBeLessThan(1e-5);
      const ref = stock.get(label(c));
      if (c.large) return;
      expect(maxRelErr(got.dw, ref!.dw)).toBeLessThan(1e-5);
      expect(maxRelErr(got.dx, ref!.dx)).toBeLessThan(1e-5);
    });
  }

  it('patched cpu kernels match the naive reference on every case', async () => {
    registerTrainingKernels('cpu');
    await tf.setBackend('cpu');
    for (const [i, c] of CASES.entries()) {
      const { x, wt, dy } = makeCase(c, 100 + i);
      const want = naiveGrads(c, x, wt, dy);
      const dataIdsBefore = tf.engine().backend.numDataIds();
      const got = tfConvGrads(c, x, wt, dy);
      expect(tf.engine().backend.numDataIds()).toBe(dataIdsBefore);
      expect(maxRelErr(got.dw, want.dw), label(c)).toBeLessThan(1e-5);
      expect(maxRelErr(got.dx, want.dx), label(c)).toBeLessThan(1e-5);
    }
    await tf.setBackend('wasm');
  });
});

describe('other training kernels on wasm', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: null });
    await tf.setBackend('wasm');
  });

  it('matMul with transpose flags equals explicit transposes (and its gradient)', () => {
    const rng = new Rng(7);
    const a = randArray(rng, 2 * 5 * 3);
    const b = randArray(rng, 2 * 4 * 5);
    tf.tidy(() => {
      const at = tf.tensor3d(a, [2, 5, 3]);
      const bt = tf.tensor3d(b, [2, 4, 5]);
      const flagged = tf.matMul(at, bt, true, true).dataSync();
      // reference: plain loops
      const want = new Float64Array(2 * 3 * 4);
      for (let n = 0; n < 2; n++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 4; j++) {
            let s = 0;
            for (let k = 0; k < 5; k++) s += a[(n * 5 + k) * 3 + i]! * b[(n * 4 + j) * 5 + k]!;
            want[(n * 3 + i) * 4 + j] = s;
          }
      expect(maxRelErr(flagged, want)).toBeLessThan(1e-6);
      const g = tf.grad((m: tf.Tensor) => tf.sum(tf.square(tf.matMul(m as tf.Tensor3D, bt, true, true))))(at).dataSync();
      expect(g.length).toBe(30);
      expect(Array.from(g).every(Number.isFinite)).toBe(true);
    });
  });

  it('bridged kernels: gather gradient (UnsortedSegmentSum) and depthwise backprops', () => {
    tf.tidy(() => {
      const table = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([0, 2, 2], 'int32'))))(table);
      expect(Array.from(g.dataSync())).toEqual([1, 1, 0, 0, 2, 2]);
      const rng = new Rng(3);
      const x = tf.tensor4d(randArray(rng, 1 * 5 * 5 * 2), [1, 5, 5, 2]);
      const f = tf.tensor4d(randArray(rng, 3 * 3 * 2 * 1), [3, 3, 2, 1]);
      const [gx, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, f]);
      expect(gx!.shape).toEqual([1, 5, 5, 2]);
      expect(gf!.shape).toEqual([3, 3, 2, 1]);
      expect(Array.from(gf!.dataSync()).every(Number.isFinite)).toBe(true);
    });
  });

  it('Tile-free batch-norm gradient equals the gradient of the same formula from primitives', () => {
    const rng = new Rng(11);
    const xv = randArray(rng, 2 * 3 * 3 * 4);
    const sv = randArray(rng, 4);
    const ov = randArray(rng, 4);
    const wv = randArray(rng, 2 * 3 * 3 * 4);
    tf.tidy(() => {
      // A random linear read-out: sum(y²) would be (nearly) constant under normalisation.
      const readout = tf.tensor4d(wv, [2, 3, 3, 4]);
      const x = tf.tensor4d(xv, [2, 3, 3, 4]);
      const scale = tf.tensor1d(sv);
      const offset = tf.tensor1d(ov);
      const fused = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        return tf.sum(tf.mul(tf.batchNorm(a as tf.Tensor4D, mean, variance, o as tf.Tensor1D, s as tf.Tensor1D, 1e-5), readout));
      };
      const manual = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, [0, 1, 2]);
        const y = tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), s), o);
        return tf.sum(tf.mul(y, readout));
      };
      const g1 = tf.grads(fused)([x, scale, offset]);
      const g2 = tf.grads(manual)([x, scale, offset]);
      for (let i = 0; i < 3; i++) expect(maxRelErr(g1[i]!.dataSync(), g2[i]!.dataSync())).toBeLessThan(1e-4);
    });
  });
});

describe('reductions, Tile, Identity and Mean gradient on wasm', () => {
  beforeAll(async () => {
    await initBackend('wasm', { log: null });
    await tf.setBackend('wasm');
  });

  /** Naive sum over `axes` of a row-major array. */
  function naiveReduce(data: Float32Array, shape: number[], axes: number[], mean: boolean): number[] {
    const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
    const idx = new Array<number>(shape.length).fill(0);
    for (let flat = 0; flat < data.length; flat++) {
      let rem = flat;
      for (let d = shape.length - 1; d >= 0; d--) {
        idx[d] = rem % shape[d]!;
        rem = Math.floor(rem / shape[d]!);
      }
      let o = 0;
      for (let d = 0; d < shape.length; d++) o = o * outShape[d]! + (axes.includes(d) ? 0 : idx[d]!);
      out[o]! += data[flat]!;
    }
    const n = axes.reduce((a, d) => a * shape[d]!, 1);
    return Array.from(out, (v) => (mean ? v / n : v));
  }

  const reduceCases: Array<{ shape: number[]; axes: number[] }> = [
    { shape: [4, 5, 3, 6], axes: [0, 1, 2] },
    { shape: [4, 5, 3, 6], axes: [1, 2] },
    { shape: [4, 5, 3, 6], axes: [0] },
    { shape: [4, 5, 3, 6], axes: [3] },
    { shape: [4, 5, 3, 6], axes: [0, 2] },
    { shape: [7, 9], axes: [0] },
  ];
  for (const c of reduceCases) {
    it(`sum/mean over ${JSON.stringify(c.axes)} of ${JSON.stringify(c.shape)} (keepDims both ways)`, () => {
      const rng = new Rng(5);
      const data = randArray(rng, c.shape.reduce((a, b) => a * b, 1));
      const before = tf.engine().backend.numDataIds();
      tf.tidy(() => {
        const x = tf.tensor(data, c.shape);
        for (const keepDims of [false, true]) {
          const s = tf.sum(x, c.axes, keepDims);
          const m = tf.mean(x, c.axes, keepDims);
          const kept = c.shape.map((d, i) => (c.axes.includes(i) ? 1 : d));
          expect(s.shape).toEqual(keepDims ? kept : kept.filter((_, i) => !c.axes.includes(i)));
          expect(maxRelErr(s.dataSync(), naiveReduce(data, c.shape, c.axes, false))).toBeLessThan(1e-5);
          expect(maxRelErr(m.dataSync(), naiveReduce(data, c.shape, c.axes, true))).toBeLessThan(1e-5);
        }
      });
      expect(tf.engine().backend.numDataIds()).toBe(before);
    });
  }

  it('int32 sum still uses the exact integer kernel', () => {
    tf.tidy(() => {
      const s = tf.sum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0);
      expect(s.dtype).toBe('int32');
      expect(Array.from(s.dataSync())).toEqual([9, 12]);
    });
  });

  it('Tile equals the naive definition for broadcast-like and general reps, float32 and int32', () => {
    const naiveTile = (data: ArrayLike<number>, shape: number[], reps: number[]): number[] => {
      const outShape = shape.map((d, i) => d * reps[i]!);
      const total = outShape.reduce((a, b) => a * b, 1);
      const out: number[] = [];
      for (let flat = 0; flat < total; flat++) {
        let rem = flat;
        let src = 0;
        let stride = 1;
        for (let d = shape.length - 1; d >= 0; d--) {
          const i = rem % outShape[d]!;
          rem = Math.floor(rem / outShape[d]!);
          src += (i % shape[d]!) * stride;
          stride *= shape[d]!;
        }
        out.push(data[src]!);
      }
      return out;
    };
    const cases: Array<{ shape: number[]; reps: number[] }> = [
      { shape: [1, 1, 1, 4], reps: [2, 3, 2, 1] },
      { shape: [2, 3], reps: [2, 3] },
      { shape: [3], reps: [4] },
      { shape: [2, 1, 3], reps: [1, 5, 2] },
    ];
    for (const c of cases) {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => i + 1);
      for (const dtype of ['float32', 'int32'] as const) {
        tf.tidy(() => {
          const t = tf.tile(tf.tensor(values, c.shape, dtype), c.reps);
          expect(t.dtype).toBe(dtype);
          expect(Array.from(t.dataSync())).toEqual(naiveTile(values, c.shape, c.reps));
        });
      }
    }
  });

  it('Identity shares the buffer safely: a clone outlives its source; variables stay independent', () => {
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    const v = tf.variable(b);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([7, 8, 9]);
    b.dispose();
    v.dispose();
  });

  it('a Cast to the dtype a tensor has shares its buffer (it outlives its source; no buffer added); real casts convert', () => {
    const a = tf.tensor1d([1.5, -2, 3]);
    const buffers = tf.engine().backend.numDataIds();
    const b = tf.cast(a, 'float32');
    expect(tf.engine().backend.numDataIds()).toBe(buffers); // shared, not copied
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1.5, -2, 3]);
    const i = tf.cast(b, 'int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    const j = tf.cast(i, 'int32');
    i.dispose();
    expect(Array.from(j.dataSync())).toEqual([1, -2, 3]);
    tf.dispose([b, j]);
  });

  it('Mean gradient equals dy / n broadcast', () => {
    tf.tidy(() => {
      const x = tf.tensor3d(randArray(new Rng(9), 2 * 3 * 4), [2, 3, 4]);
      const w = tf.tensor2d(randArray(new Rng(10), 2 * 4), [2, 4]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, 1), w)))(x);
      const wv = w.dataSync();
      const want: number[] = [];
      for (let n = 0; n < 2; n++) for (let h = 0; h < 3; h++) for (let c = 0; c < 4; c++) want.push(wv[n * 4 + c]! / 3);
      expect(maxRelErr(g.dataSync(), want)).toBeLessThan(1e-6);
    });
  });

  it('Mean gradient builds its zeros with the backend\'s Fill kernel, not as a JS array uploaded per call', async () => {
    const x = tf.tensor3d(randArray(new Rng(11), 2 * 3 * 4), [2, 3, 4]);
    const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mean(t, 1)))(x));
    const fills = info.kernels.filter((k) => k.name === 'Fill').map((k) => k.outputShapes[0]);
    expect(fills).toContainEqual([2, 3, 4]);
    x.dispose();
  });
});

describe('KernelScope.compute', () => {
  it('takes input views only after allocating the output (allocation may grow and detach wasm memory)', () => {
    // A fake heap backend whose every allocation "grows" memory: the old buffer is detached, exactly
    // what emscripten's memory growth does to existing typed-array views.
    let heap = new ArrayBuffer(64);
    const offsets = new Map<object, { offset: number; size: number }>();
    let top = 0;
    const backend = {
      makeOutput(shape: number[], dtype: string): TensorInfo {
        const size = shape.reduce((a, b) => a * b, 1);
        const grown = new ArrayBuffer(heap.byteLength + size * 4);
        new Uint8Array(grown).set(new Uint8Array(heap));
        structuredClone(heap, { transfer: [heap] }); // detach the old buffer
        heap = grown;
        const dataId = {};
        offsets.set(dataId, { offset: top, size });
        top += size * 4;
        return { dataId, shape, dtype } as TensorInfo;
      },
      typedArrayFromHeap(t: TensorInfo) {
        const { offset, size } = offsets.get(t.dataId as object)!;
        return new Float32Array(heap, offset, size);
      },
      disposeData() {},
    } as unknown as KernelBackend;
    const input = (backend as unknown as { makeOutput: (s: number[], d: string) => TensorInfo }).makeOutput([4], 'float32');
    (backend as unknown as { typedArrayFromHeap: (t: TensorInfo) => Float32Array }).typedArrayFromHeap(input).set([1, 2, 3, 4]);
    const scope = new KernelScope('fake', backend);
    const out = scope.compute([input], [4], ([src], dst) => {
      for (let i = 0; i < 4; i++) dst[i] = src![i]! * 10;
    });
    expect(Array.from((backend as unknown as { typedArrayFromHeap: (t: TensorInfo) => Float32Array }).typedArrayFromHeap(out))).toEqual([10, 20, 30, 40]);
  });
});

describe('MaxPoolGrad', () => {
  it('routes each gradient to the first maximum of its window (same/valid, stride 2, ties)', async () => {
    await initBackend('wasm', { log: null });
    await tf.setBackend('wasm');
    const rng = new Rng(21);
    // Values on a coarse grid so windows contain ties.
    const xv = Float32Array.from({ length: 2 * 7 * 6 * 3 }, () => rng.int(4));
    for (const pad of ['same', 'valid'] as const) {
      tf.tidy(() => {
        const x = tf.tensor4d(xv, [2, 7, 6, 3]);
        const y = tf.maxPool(x, 3, 2, pad);
        const dyv = Float32Array.from({ length: y.size }, () => rng.normal());
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 3, 2, pad), tf.tensor(dyv, y.shape))))(x);
        // naive reference
        const [, oh, ow] = y.shape;
        const padT = pad === 'same' ? Math.floor(Math.max(0, (oh - 1) * 2 + 3 - 7) / 2) : 0;
        const padL = pad === 'same' ? Math.floor(Math.max(0, (ow - 1) * 2 + 3 - 6) / 2) : 0;
        const want = new Float64Array(xv.length);
        for (let b = 0; b < 2; b++)
          for (let i = 0; i < oh; i++)
            for (let j = 0; j < ow; j++)
              for (let c = 0; c < 3; c++) {
                let best = -Infinity;
                let at = -1;
                for (let di = 0; di < 3; di++)
                  for (let dj = 0; dj < 3; dj++) {
                    const yy = i * 2 - padT + di;
                    const xx = j * 2 - padL + dj;
                    if (yy < 0 || yy >= 7 || xx < 0 || xx >= 6) continue;
                    const idx = ((b * 7 + yy) * 6 + xx) * 3 + c;
                    if (xv[idx]! > best) {
                      best = xv[idx]!;
                      at = idx;
                    }
                  }
                want[at]! += dyv[((b * oh + i) * ow + j) * 3 + c]!;
              }
        expect(maxRelErr(g.dataSync(), want)).toBeLessThan(1e-6);
      });
    }
  });
});

describe('tfGemm', () => {
  it('computes a·bᵀ like plain loops and rejects bad sizes', async () => {
    const { tfGemm } = await import('../gemm');
    await initBackend('wasm', { log: null });
    const rng = new Rng(4);
    const a = randArray(rng, 5 * 7);
    const b = randArray(rng, 3 * 7);
    const got = expectNoLeaksSync(() => tfGemm(a, 5, b, 3, 7), 'tfGemm');
    const want: number[] = [];
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 7; k++) s += a[i * 7 + k]! * b[j * 7 + k]!;
        want.push(s);
      }
    expect(maxRelErr(got, want)).toBeLessThan(1e-6);
    expect(() => tfGemm(a, 5, b, 4, 7)).toThrow(/tfGemm: expected/);
  });

  it('returns outputs larger than 2^24 values (VeRi-776 query × gallery)', async () => {
    const { tfGemm } = await import('../gemm');
    const out = tfGemm(new Float32Array(1678 * 4).fill(0.5), 1678, new Float32Array(11579 * 4).fill(0.25), 11579, 4);
    expect(out.length).toBe(1678 * 11579);
    expect(out[out.length - 1]).toBe(0.5);
  });
});

describe('UnsortedSegmentSum (gather gradient)', () => {
  it('adds rows into their segments, drops out-of-range ids, matches a naive loop and leaks nothing', async () => {
    await initBackend('wasm', { log: null });
    await tf.setBackend('wasm');
    const rng = new Rng(31);
    const rows = 40;
    const numSegments = 9;
    const xv = randArray(rng, rows * 3 * 2);
    const ids = Int32Array.from({ length: rows }, () => rng.int(numSegments + 3) - 1); // includes −1 and ≥ numSegments
    const want = new Float64Array(numSegments * 6);
    for (let i = 0; i < rows; i++) if (ids[i]! >= 0 && ids[i]! < numSegments) for (let k = 0; k < 6; k++) want[ids[i]! * 6 + k]! += xv[i * 6 + k]!;
    expectNoLeaksSync(() => tf.tidy(() => {
      const got = tf.unsortedSegmentSum(tf.tensor3d(xv, [rows, 3, 2]), tf.tensor1d(ids, 'int32'), numSegments);
      expect(got.shape).toEqual([numSegments, 3, 2]);
      expect(maxRelErr(got.dataSync(), want)).toBeLessThan(1e-6);
      // int32 values take the bridged cpu kernel
      const ints = tf.unsortedSegmentSum(tf.tensor1d([1, 2, 3, 4], 'int32'), tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
      expect(Array.from(ints.dataSync())).toEqual([4, 6]);
      // the embedding-lookup gradient
      const table = tf.tensor2d(randArray(rng, 5 * 4), [5, 4]);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.tensor1d([4, 0, 4, 2], 'int32'))))(table);
      expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2]);
    }), 'UnsortedSegmentSum and the gather gradient');
  });
});
