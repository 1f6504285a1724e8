/**
 * The addon itself, against naive float64 loops written here (independent of tfjs and oneDNN): grouped conv forward,
 * backward data and backward weights over strides, dilations, asymmetric padding and odd sizes, matmul with both
 * transpose flags and batch broadcasting, the plain loops (broadcasting add / sub / multiply, middle-axis sums,
 * batch-norm forward, max-pool gradient), on ArrayBuffer and SharedArrayBuffer memory. Where the addon was not
 * built, the load reason must say what is missing and how to get it — and with CLIP_SENET_REQUIRE_NATIVE=1 (CI),
 * an absent addon is a failure.
 */
import { describe, expect, it } from 'vitest';
import { ACTIVATION_CODES, BINARY_OPS, BROADCAST_MODES, UNARY_OPS, loadNative, type NativeBinding } from './index';

const load = loadNative();
const required = process.env.CLIP_SENET_REQUIRE_NATIVE === '1';

/** Deterministic values in [−1, 1) (a linear congruential sequence; no Math.random). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

interface Conv {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pb: number;
  pl: number;
  pr: number;
  g: number;
}

function outSize(c: Conv): [number, number] {
  return [
    Math.floor((c.h + c.pt + c.pb - ((c.kh - 1) * c.dh + 1)) / c.sh) + 1,
    Math.floor((c.w + c.pl + c.pr - ((c.kw - 1) * c.dw + 1)) / c.sw) + 1,
  ];
}

function descriptor(c: Conv): Int32Array {
  const [oh, ow] = outSize(c);
  return Int32Array.from([c.n, c.h, c.w, c.ci, oh, ow, c.co, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, c.pt, c.pb, c.pl, c.pr, c.g]);
}

/** Visits every (output position, tap, group channel pair) of a grouped NHWC conv with a [kh,kw,ci/g,co] filter. */
function eachTap(c: Conv, visit: (xi: number, wi: number, yi: number) => void): void {
  const [oh, ow] = outSize(c);
  const cig = c.ci / c.g;
  const cog = c.co / c.g;
  for (let n = 0; n < c.n; n++)
    for (let y = 0; y < oh; y++)
      for (let z = 0; z < ow; z++)
        for (let i = 0; i < c.kh; i++)
          for (let j = 0; j < c.kw; j++) {
            const hi = y * c.sh - c.pt + i * c.dh;
            const wi = z * c.sw - c.pl + j * c.dw;
            if (hi < 0 || hi >= c.h || wi < 0 || wi >= c.w) continue;
            for (let g = 0; g < c.g; g++)
              for (let a = 0; a < cig; a++)
                for (let b = 0; b < cog; b++) {
                  const co = g * cog + b;
                  visit(((n * c.h + hi) * c.w + wi) * c.ci + g * cig + a, ((i * c.kw + j) * cig + a) * c.co + co, ((n * oh + y) * ow + z) * c.co + co);
                }
          }
}

/** Lays arrays out back to back in one heap (16-byte aligned) and returns their byte offsets. */
function layout(sizes: number[], shared: boolean): { heap: Uint8Array; f32: Float32Array; offsets: number[] } {
  const offsets: number[] = [];
  let at = 64; // nothing at offset 0, like a real heap
  for (const s of sizes) {
    offsets.push(at);
    at += Math.ceil((s * 4) / 16) * 16;
  }
  const buffer = shared ? new SharedArrayBuffer(at + 64) : new ArrayBuffer(at + 64);
  return { heap: new Uint8Array(buffer), f32: new Float32Array(buffer), offsets };
}

function expectClose(got: Float32Array, want: Float64Array, label: string): void {
  expect(got.length).toBe(want.length);
  let scale = 1;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst / scale, label).toBeLessThan(2e-5);
}

const CONVS: Array<Partial<Conv> & Pick<Conv, 'kh' | 'sh'>> = [
  { kh: 3, sh: 1, pt: 1, pb: 1, pl: 1, pr: 1 },
  { kh: 3, sh: 2, pt: 0, pb: 1, pl: 0, pr: 1, h: 10, w: 10 },
  { kh: 1, sh: 1 },
  { kh: 1, sh: 2 },
  { kh: 5, sh: 3, pt: 2, pb: 0, pl: 1, pr: 2 },
  { kh: 7, sh: 2, pt: 3, pb: 3, pl: 3, pr: 3, h: 15, w: 13 },
  { kh: 3, sh: 1, dh: 2, dw: 2, pt: 2, pb: 2, pl: 2, pr: 2 },
  { kh: 3, sh: 1, g: 2, pt: 1, pb: 1, pl: 1, pr: 1 },
  { kh: 3, sh: 2, g: 4, ci: 8, co: 8, pt: 1, pb: 1, pl: 1, pr: 1 },
  { kh: 3, sh: 1, g: 32, ci: 32, co: 64, n: 1, h: 6, w: 5, pt: 1, pb: 1, pl: 1, pr: 1 },
  { kh: 2, sh: 1, kw: 4, sw: 3, pt: 0, pb: 1, pl: 2, pr: 0 },
];

function fullConv(p: (typeof CONVS)[number]): Conv {
  return { n: 2, h: 9, w: 11, ci: 4, co: 6, kw: p.kh, sw: p.sh, dh: 1, dw: 1, pt: 0, pb: 0, pl: 0, pr: 0, g: 1, ...p };
}

function convLabel(c: Conv): string {
  return `${c.n}×${c.h}×${c.w}×${c.ci}→${c.co}, ${c.kh}×${c.kw}/${c.sh},${c.sw} dil ${c.dh},${c.dw} pad ${c.pt},${c.pb},${c.pl},${c.pr} groups ${c.g}`;
}

function convCases(b: NativeBinding): void {
  for (const p of CONVS) {
    const c = fullConv(p);
    const [oh, ow] = outSize(c);
    const xs = c.n * c.h * c.w * c.ci;
    const ws = c.kh * c.kw * (c.ci / c.g) * c.co;
    const ys = c.n * oh * ow * c.co;
    it(`conv forward / backward data / backward weights match loops: ${convLabel(c)}`, () => {
      for (const shared of [false, true]) {
        const { heap, f32, offsets } = layout([xs, ws, ys, c.co, xs, ws], shared);
        const [xo, wo, yo, bo, dxo, dwo] = offsets as [number, number, number, number, number, number];
        const x = values(xs, 1);
        const w = values(ws, 2);
        const dy = values(ys, 3);
        const bias = values(c.co, 4);
        f32.set(x, xo / 4);
        f32.set(w, wo / 4);
        f32.set(bias, bo / 4);
        const y = new Float64Array(ys);
        eachTap(c, (xi, wi, yi) => (y[yi]! += x[xi]! * w[wi]!));
        b.conv2dForward(heap, descriptor(c), xo, wo, -1, yo, ACTIVATION_CODES.linear, 0);
        expectClose(f32.subarray(yo / 4, yo / 4 + ys), y, 'forward');
        // bias + relu post-op
        const yr = y.map((v, i) => Math.max(0, v + bias[i % c.co]!));
        b.conv2dForward(heap, descriptor(c), xo, wo, bo, yo, ACTIVATION_CODES.relu, 0);
        expectClose(f32.subarray(yo / 4, yo / 4 + ys), yr, 'forward + bias + relu');
        f32.set(dy, yo / 4);
        const dx = new Float64Array(xs);
        const dw = new Float64Array(ws);
        eachTap(c, (xi, wi, yi) => {
          dx[xi]! += dy[yi]! * w[wi]!;
          dw[wi]! += dy[yi]! * x[xi]!;
        });
        b.conv2dBackwardData(heap, descriptor(c), yo, wo, dxo);
        expectClose(f32.subarray(dxo / 4, dxo / 4 + xs), dx, 'backward data');
        b.conv2dBackwardWeights(heap, descriptor(c), xo, yo, dwo);
        expectClose(f32.subarray(dwo / 4, dwo / 4 + ws), dw, 'backward weights');
      }
    });
  }
}

function matmulCases(b: NativeBinding): void {
  const shapes = [
    { ba: 1, bb: 1, m: 5, n: 7, k: 3 },
    { ba: 3, bb: 3, m: 4, n: 6, k: 9 },
    { ba: 1, bb: 4, m: 2, n: 5, k: 3 },
    { ba: 4, bb: 1, m: 33, n: 17, k: 65 },
  ];
  for (const s of shapes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`matMul [${s.ba},${s.m},${s.k}]${ta ? 'ᵀ' : ''} · [${s.bb},${s.k},${s.n}]${tb ? 'ᵀ' : ''} matches loops`, () => {
          const bc = Math.max(s.ba, s.bb);
          const { heap, f32, offsets } = layout([s.ba * s.m * s.k, s.bb * s.k * s.n, bc * s.m * s.n], true);
          const [ao, bo, co] = offsets as [number, number, number];
          const a = values(s.ba * s.m * s.k, 5);
          const bv = values(s.bb * s.k * s.n, 6);
          f32.set(a, ao / 4);
          f32.set(bv, bo / 4);
          const want = new Float64Array(bc * s.m * s.n);
          for (let q = 0; q < bc; q++) {
            const qa = s.ba === 1 ? 0 : q;
            const qb = s.bb === 1 ? 0 : q;
            for (let i = 0; i < s.m; i++)
              for (let j = 0; j < s.n; j++) {
                let acc = 0;
                for (let l = 0; l < s.k; l++) {
                  const av = a[qa * s.m * s.k + (ta ? l * s.m + i : i * s.k + l)]!;
                  const bw = bv[qb * s.k * s.n + (tb ? j * s.k + l : l * s.n + j)]!;
                  acc += av * bw;
                }
                want[(q * s.m + i) * s.n + j] = acc;
              }
          }
          b.matMul(heap, Int32Array.from([s.ba, s.bb, s.m, s.n, s.k, ta ? 1 : 0, tb ? 1 : 0]), ao, bo, co);
          expectClose(f32.subarray(co / 4, co / 4 + want.length), want, 'matmul');
        });
      }
    }
  }
}

/** Places float arrays one after another (16-byte aligned) in a fresh heap; returns their byte offsets. */
function place(shared: boolean, ...arrays: Array<Float32Array | number>): { heap: Uint8Array; f32: Float32Array; at: number[] } {
  const at: number[] = [];
  let bytes = 64; // nothing at offset 0
  for (const a of arrays) {
    at.push(bytes);
    bytes += Math.ceil(((typeof a === 'number' ? a : a.length) * 4) / 16) * 16;
  }
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const f32 = new Float32Array(buffer);
  arrays.forEach((a, i) => {
    if (typeof a !== 'number') f32.set(a, at[i]! / 4);
  });
  return { heap: new Uint8Array(buffer), f32, at };
}

function elementwiseCases(b: NativeBinding): void {
  const modes = Object.entries(BROADCAST_MODES);
  for (const [opName, op] of Object.entries(BINARY_OPS)) {
    for (const [outer, inner] of [
      [1, 1],
      [7, 13],
      [3, 40001],
      [5000, 9],
    ] as const) {
      it(`binary ${opName} [${outer}, ${inner}], every mode pair`, () => {
        for (const [ma, modeA] of modes) {
          for (const [mb, modeB] of modes) {
            const size = (m: number) => (m === BROADCAST_MODES.full ? outer * inner : m === BROADCAST_MODES.row ? inner : m === BROADCAST_MODES.column ? outer : 1);
            const av = values(size(modeA), 1 + op);
            const bv = values(size(modeB), 2 + modeA);
            const { heap, f32, at } = place(modeA === 2, av, bv, outer * inner);
            b.binary(heap, Int32Array.from([op, outer, inner, modeA, modeB]), at[0]!, at[1]!, at[2]!);
            const pick = (v: Float32Array, m: number, o: number, j: number) => v[m === BROADCAST_MODES.full ? o * inner + j : m === BROADCAST_MODES.row ? j : m === BROADCAST_MODES.column ? o : 0]!;
            const want = new Float32Array(outer * inner);
            for (let o = 0; o < outer; o++)
              for (let j = 0; j < inner; j++) {
                const x = pick(av, modeA, o, j);
                const z = pick(bv, modeB, o, j);
                want[o * inner + j] = op === BINARY_OPS.Add ? x + z : op === BINARY_OPS.Sub ? x - z : op === BINARY_OPS.Multiply ? x * z : op === BINARY_OPS.RealDiv ? x / z : x * (z > 0 ? 1 : z <= 0 ? 0 : Number.NaN);
              }
            expect(f32.subarray(at[2]! / 4, at[2]! / 4 + want.length), `${ma} ∘ ${mb}`).toEqual(want);
          }
        }
      });
    }
  }

  for (const [pre, mid, post] of [
    [1, 1, 1],
    [1, 1000, 7],
    [3, 257, 32],
    [2, 9, 1],
  ] as const) {
    it(`reduceMiddle [${pre}, ${mid}, ${post}]`, () => {
      const x = values(pre * mid * post, 7);
      const { heap, f32, at } = place(pre === 3, x, pre * post);
      b.reduceMiddle(heap, Int32Array.from([pre, mid, post]), at[0]!, at[1]!, 0.5);
      const want = new Float64Array(pre * post);
      for (let p = 0; p < pre; p++) for (let m = 0; m < mid; m++) for (let q = 0; q < post; q++) want[p * post + q]! += 0.5 * x[(p * mid + m) * post + q]!;
      expectClose(f32.subarray(at[1]! / 4, at[1]! / 4 + want.length), want, 'reduceMiddle');
    });
  }

  for (const [rows, ch, withOffset, withScale] of [
    [1, 1, true, true],
    [37, 5, false, true],
    [2000, 32, true, false],
  ] as const) {
    it(`batchNormForward [${rows}, ${ch}], offset ${withOffset}, scale ${withScale}`, () => {
      const x = values(rows * ch, 3);
      const mean = values(ch, 4);
      const variance = values(ch, 5).map((v) => v * v + 0.2);
      const offset = values(ch, 6);
      const scale = values(ch, 8);
      const { heap, f32, at } = place(false, x, mean, variance, offset, scale, rows * ch);
      b.batchNormForward(heap, Int32Array.from([rows, ch, withOffset ? 1 : 0, withScale ? 1 : 0]), at[0]!, at[1]!, at[2]!, at[3]!, at[4]!, at[5]!, 1e-3);
      const want = new Float64Array(rows * ch);
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < ch; c++) want[r * ch + c] = ((x[r * ch + c]! - mean[c]!) * (withScale ? scale[c]! : 1)) / Math.sqrt(variance[c]! + 1e-3) + (withOffset ? offset[c]! : 0);
      expectClose(f32.subarray(at[5]! / 4, at[5]! / 4 + want.length), want, 'batchNormForward');
    });
  }

  for (const [n, h, w, c, k, s, pt, pl] of [
    [1, 5, 5, 1, 2, 2, 0, 0],
    [2, 9, 7, 3, 3, 2, 1, 1],
    [3, 8, 8, 4, 3, 1, 1, 0],
    [2, 9, 9, 21, 3, 2, 1, 1], // a full block of 16 channels and a partial one
  ] as const) {
    it(`maxPoolGrad ${n}×${h}×${w}×${c}, ${k}×${k}/${s}, pad ${pt},${pl} (first maximum of ties)`, () => {
      const oh = Math.floor((h + 2 * pt - k) / s) + 1;
      const ow = Math.floor((w + 2 * pl - k) / s) + 1;
      const x = values(n * h * w * c, 9).map((v) => Math.round(v * 2) / 2); // ties
      const dy = values(n * oh * ow * c, 10);
      const { heap, f32, at } = place(n === 3, x, dy, n * h * w * c);
      f32.fill(Number.NaN, at[2]! / 4, at[2]! / 4 + n * h * w * c); // the kernel must clear dx
      b.maxPoolGrad(heap, Int32Array.from([n, h, w, c, oh, ow, k, k, s, s, pt, pl]), at[1]!, at[0]!, at[2]!);
      const want = new Float64Array(n * h * w * c);
      for (let bi = 0; bi < n; bi++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++)
            for (let ch = 0; ch < c; ch++) {
              let best = -Infinity;
              let where = -1;
              for (let di = 0; di < k; di++)
                for (let dj = 0; dj < k; dj++) {
                  const yy = i * s - pt + di;
                  const xx = j * s - pl + dj;
                  if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                  const idx = ((bi * h + yy) * w + xx) * c + ch;
                  if (where < 0 || x[idx]! > best) {
                    best = x[idx]!;
                    where = idx;
                  }
                }
              want[where]! += dy[((bi * oh + i) * ow + j) * c + ch]!;
            }
      expectClose(f32.subarray(at[2]! / 4, at[2]! / 4 + want.length), want, 'maxPoolGrad');
    });
  }

  const slices: Array<[number[], number[], number[]]> = [
    [[7], [2], [3]],
    [[4, 66, 66, 5], [0, 1, 1, 0], [4, 64, 64, 5]], // a pad's gradient
    [[3, 4, 5], [1, 0, 0], [2, 4, 5]], // one contiguous run
    [[2, 3, 4, 5, 6], [1, 1, 2, 0, 3], [1, 2, 2, 5, 3]],
  ];
  for (const [shape, begin, size] of slices) {
    it(`slice ${JSON.stringify(shape)} from ${JSON.stringify(begin)} size ${JSON.stringify(size)}`, () => {
      const total = shape.reduce((p, q) => p * q, 1);
      const x = values(total, 11);
      const outSize = size.reduce((p, q) => p * q, 1);
      const { heap, f32, at } = place(shape.length === 4, x, outSize);
      b.slice(heap, Int32Array.from([shape.length, ...shape, ...begin, ...size]), at[0]!, at[1]!, 4);
      const want = new Float32Array(outSize);
      const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, q) => p * q, 1));
      for (let o = 0; o < outSize; o++) {
        let rem = o;
        let src = 0;
        for (let i = shape.length - 1; i >= 0; i--) {
          src += (begin[i]! + (rem % size[i]!)) * strides[i]!;
          rem = Math.floor(rem / size[i]!);
        }
        want[o] = x[src]!;
      }
      expect(f32.subarray(at[1]! / 4, at[1]! / 4 + outSize)).toEqual(want);
    });
  }

  for (const [name, op] of Object.entries(UNARY_OPS)) {
    it(`unary ${name} (zeros, NaN, infinities, a parallel-sized array)`, () => {
      for (const count of [1, 7, 70001]) {
        const x = values(count, 12 + op);
        if (count > 4) x.set([0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
        const { heap, f32, at } = place(count === 7, x, count);
        b.unary(heap, op, count, at[0]!, at[1]!, 0.25);
        const want = x.map((v) => (op === UNARY_OPS.Relu ? (v < 0 ? 0 : v) : op === UNARY_OPS.Step ? (Number.isNaN(v) ? v : v > 0 ? 1 : 0.25) : v * v));
        expect(f32.subarray(at[1]! / 4, at[1]! / 4 + count)).toEqual(want);
      }
    });
  }

  it('the plain loops refuse bad descriptors and tensors outside the heap view', () => {
    const heap = new Uint8Array(256);
    expect(() => b.binary(heap, Int32Array.from([0, 10, 10, 0, 0]), 0, 0, 0)).toThrow(/outside the heap/);
    expect(() => b.binary(heap, Int32Array.from([5, 1, 1, 0, 0]), 0, 0, 0)).toThrow(/bad binary descriptor/);
    expect(() => b.reduceMiddle(heap, Int32Array.from([1, 100, 1]), 0, 0, 1)).toThrow(/outside the heap/);
    expect(() => b.batchNormForward(heap, Int32Array.from([100, 1, 0, 0]), 0, 0, 0, 0, 0, 0, 1e-3)).toThrow(/outside the heap/);
    expect(() => b.maxPoolGrad(heap, Int32Array.from([1, 10, 10, 1, 5, 5, 2, 2, 2, 2, 0, 0]), 0, 0, 0)).toThrow(/outside the heap/);
    expect(() => b.slice(heap, Int32Array.from([1, 100, 0, 100]), 0, 0, 4)).toThrow(/outside the heap/);
    expect(() => b.slice(heap, Int32Array.from([1, 10, 5, 6]), 0, 0, 4)).toThrow(/bad slice descriptor/);
    expect(() => b.unary(heap, 0, 100, 0, 0, 0)).toThrow(/outside the heap/);
    expect(() => b.unary(heap, 9, 1, 0, 0, 0)).toThrow(/bad unary/);
  });
}

if (load.ok) {
  describe('the oneDNN addon', () => {
    it('reports its version, ISA and thread count, and takes a thread count', () => {
      expect(load.info.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(load.info.isa).toMatch(/^(sse41|avx|avx2|avx2_vnni|avx512_\w+|other)$/);
      expect(load.binding.setThreads(1)).toBe(1);
      expect(load.binding.info().threads).toBe(1);
      expect(() => load.binding.setThreads(0)).toThrow(/threads/);
    });

    it('refuses tensors outside the heap view instead of touching foreign memory', () => {
      const c = fullConv({ kh: 3, sh: 1 });
      const heap = new Uint8Array(256);
      expect(() => load.binding.conv2dForward(heap, descriptor(c), 0, 0, -1, 0, 0, 0)).toThrow(/outside the heap/);
      expect(() => load.binding.matMul(heap, Int32Array.from([2, 3, 2, 2, 2, 0, 0]), 0, 0, 0)).toThrow(/batches/);
    });

    convCases(load.binding);
    matmulCases(load.binding);
    elementwiseCases(load.binding);

    it('caches one primitive per shape and direction, and clears them', () => {
      const before = load.binding.info().cachedPrimitives;
      expect(before).toBeGreaterThan(0);
      load.binding.clearCaches();
      expect(load.binding.info().cachedPrimitives).toBe(0);
    });
  });
} else {
  describe('without the oneDNN addon', () => {
    it('says in one line why it is absent and how to get it (and fails where CLIP_SENET_REQUIRE_NATIVE=1)', () => {
      expect(required, `CLIP_SENET_REQUIRE_NATIVE=1 but the addon is unavailable: ${load.reason}`).toBe(false);
      expect(load.reason).not.toContain('\n');
      expect(load.reason).toMatch(/apt-get install g\+\+ libdnnl-dev|npm run build -w @clip-senet\/native|npm ci|CLIP_SENET_NATIVE_BUILD=0|Node headers|unsupported platform/);
    });
  });
}
