/**
 * Conv2D gradients expressed as forward convolutions, so they run at the speed of the backend's
 * (XNNPACK-backed, for wasm) forward Conv2D instead of tfjs' missing (wasm) or naive (cpu) kernels.
 *
 * Notation (NHWC, tfjs filter layout [kh, kw, Ci, Co]):
 *   y[n, oh, ow, co] = Σ x[n, oh·s − padT + i, ow·s − padL + j, ci] · W[i, j, ci, co]
 *
 * Weight gradient:  dW[i, j, ci, co] = Σ_{n, oh, ow} x[n, oh·s − padT + i, ow·s − padL + j, ci] · dy[n, oh, ow, co]
 *   = forward conv of x' = xᵀ[Ci, H, W, N] with filter dy' = dyᵀ[oH, oW, N, Co], stride 1, dilation s,
 *     padding (padT, padL) → output [Ci, kh, kw, Co] → transpose to [kh, kw, Ci, Co].
 * Input gradient:   dx = forward conv, stride 1, of the zero-inserted (stride s) dy padded by
 *     (kh − 1 − padT, kw − 1 − padL), with the 180°-rotated filter with Ci/Co swapped.
 * Padding that would be negative becomes a crop, so every padding mode ('same', 'valid', explicit)
 * and every stride/size combination is exact.
 *
 * Strided dx uses the polyphase form instead of zero insertion when the strides are equal: output
 * pixels of each phase (h mod s, w mod s) see only the filter taps of matching phase, so one stride-1
 * conv of the unexpanded dy with a filter holding every phase's taps, [Lh, Lw, Co, s²·Ci], followed by
 * DepthToSpace(s), computes dx with no multiplications by inserted zeros (3×3, s=2: 16 instead of 36
 * taps per output position).
 *
 * 1×1 convolutions without padding (every bottleneck and downsample projection) are plain matrix
 * products and take a GEMM path instead: dW = xₛᵀ·dy and dx = zero-insert(dy·Wᵀ), where xₛ is x
 * subsampled by the stride.
 */
import { tf } from '../tf';
import { type KernelBackend, type KernelScope, type TensorInfo, withKernelScope } from './compose';

interface ConvBackpropAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function assertChannelsLast(attrs: ConvBackpropAttrs, kernel: string): void {
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel}: only NHWC (channelsLast) is supported, got ${attrs.dataFormat}`);
  }
}

/** Crops (negative amount) or zero-pads (positive amount) H and W of a NHWC tensor; returns the
 * remaining non-negative padding to hand to the convolution itself. */
function cropNegative(
  s: KernelScope,
  x: TensorInfo,
  pads: { top: number; bottom: number; left: number; right: number },
): { x: TensorInfo; pads: { top: number; bottom: number; left: number; right: number } } {
  const cropT = Math.max(0, -pads.top);
  const cropB = Math.max(0, -pads.bottom);
  const cropL = Math.max(0, -pads.left);
  const cropR = Math.max(0, -pads.right);
  let out = x;
  if (cropT + cropB + cropL + cropR > 0) {
    const [n, h, w, c] = x.shape;
    out = s.slice(x, [0, cropT, cropL, 0], [n!, h! - cropT - cropB, w! - cropL - cropR, c!]);
  }
  return {
    x: out,
    pads: {
      top: Math.max(0, pads.top),
      bottom: Math.max(0, pads.bottom),
      left: Math.max(0, pads.left),
      right: Math.max(0, pads.right),
    },
  };
}

/** True for a 1×1 filter with no padding on any side. */
function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && p.top === 0 && p.bottom === 0 && p.left === 0 && p.right === 0;
}

/** x subsampled by the stride: [N,H,W,C] → [N,⌈H/sh⌉,⌈W/sw⌉,C] (one JS pass; wasm's StridedSlice
 * is a generic element loop). */
function subsample(s: KernelScope, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const oh = Math.ceil(h / sh);
  const ow = Math.ceil(w / sw);
  return s.compute([x], [n, oh, ow, c], ([src], out) => {
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        const row = (b * h + i * sh) * w;
        for (let j = 0; j < ow; j++, o += c) out.set(src!.subarray((row + j * sw) * c, (row + j * sw) * c + c), o);
      }
    }
  });
}

/** The adjoint of `subsample`: [N,oH,oW,C] placed at every (sh, sw)-th position of a zero [N,H,W,C]. */
function scatterStrided(s: KernelScope, g: TensorInfo, sh: number, sw: number, h: number, w: number): TensorInfo {
  const [n, oh, ow, c] = g.shape as [number, number, number, number];
  return s.compute([g], [n, h, w, c], ([src], out) => {
    out.fill(0);
    let o = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        const row = (b * h + i * sh) * w;
        for (let j = 0; j < ow; j++, o += c) out.set(src!.subarray(o, o + c), (row + j * sw) * c);
      }
    }
  });
}

/** DepthToSpace(s) then crop: [N,A,B,s²·C] → [N,H,W,C] with out[n,a·s+rh,b·s+rw,c] =
 * in[n,a,b,(rh·s+rw)·C+c] (one JS pass; wasm's DepthToSpace is a generic element loop). */
function depthToSpaceCrop(s: KernelScope, x: TensorInfo, stride: number, h: number, w: number): TensorInfo {
  const [n, a, b, sc] = x.shape as [number, number, number, number];
  const c = sc / (stride * stride);
  return s.compute([x], [n, h, w, c], ([src], out) => {
    for (let bn = 0; bn < n; bn++) {
      for (let y = 0; y < h; y++) {
        const ay = Math.floor(y / stride);
        const rh = y - ay * stride;
        for (let xx = 0; xx < w; xx++) {
          const bx = Math.floor(xx / stride);
          const rw = xx - bx * stride;
          const from = ((bn * a + ay) * b + bx) * sc + (rh * stride + rw) * c;
          out.set(src!.subarray(from, from + c), ((bn * h + y) * w + xx) * c);
        }
      }
    }
  });
}

/** Conv2DBackpropFilter as a dilated forward conv (GEMM for 1×1). */
export function conv2dBackpropFilterAsConv(backendName: string) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as ConvBackpropAttrs & { filterShape: [number, number, number, number] };
    assertChannelsLast(attrs, 'Conv2DBackpropFilter');
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const [, h, w] = x.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const padT = info.padInfo.top;
    const padL = info.padInfo.left;
    // Extent of input the dilated "filter" (dy) sweeps: output must be exactly kh × kw.
    const padB = (oh - 1) * sh + kh - padT - h;
    const padR = (ow - 1) * sw + kw - padL - w;
    if (isPointwise(info)) {
      return withKernelScope(backendName, args.backend, (s) => {
        const ci = x.shape[3]!;
        const co = dy.shape[3]!;
        const p = dy.shape[0]! * oh * ow;
        const xs = s.reshape(subsample(s, x, sh, sw), [1, p, ci]); // [N,oH,oW,Ci] → [1,P,Ci]
        const g = s.reshape(dy, [1, p, co]); // [N,oH,oW,Co] → [1,P,Co]
        const dw = s.run('BatchMatMul', { a: xs, b: g }, { transposeA: true, transposeB: false }); // [1,Ci,Co]
        return s.reshape(dw, [1, 1, ci, co]);
      });
    }
    return withKernelScope(backendName, args.backend, (s) => {
      const xT = s.transpose(x, [3, 1, 2, 0]); // [N,H,W,Ci] → [Ci,H,W,N]
      const dyT = s.transpose(dy, [1, 2, 0, 3]); // [N,oH,oW,Co] → [oH,oW,N,Co]
      const cropped = cropNegative(s, xT, { top: padT, bottom: padB, left: padL, right: padR });
      const out = s.conv2d(cropped.x, dyT, cropped.pads, [sh, sw]); // [Ci,kh',kw',Co], kh' ≥ kh
      const [ci, outH, outW, co] = out.shape as [number, number, number, number];
      const exact = outH === kh && outW === kw ? out : s.slice(out, [0, 0, 0, 0], [ci, kh, kw, co]);
      return s.transpose(exact, [1, 2, 0, 3]); // [Ci,kh,kw,Co] → [kh,kw,Ci,Co]
    });
  };
}

/** Inserts (stride − 1) zeros between rows and columns of a NHWC tensor: [N,oH,oW,C] → [N,(oH−1)s+1,(oW−1)s+1,C]. */
function zeroInsert(s: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  let t = dy;
  if (sh > 1) {
    t = s.reshape(t, [n, oh, 1, ow * c]); // [N,oH,oW,C] → [N,oH,1,oW·C]
    t = s.pad(t, [
      [0, 0],
      [0, 0],
      [0, sh - 1],
      [0, 0],
    ]); // → [N,oH,sh,oW·C]
    t = s.reshape(t, [n, oh * sh, ow, c]); // → [N,oH·sh,oW,C]
  }
  const rows = (oh - 1) * sh + 1;
  if (sw > 1) {
    t = s.reshape(t, [n * oh * sh, ow, 1, c]); // → [N·H',oW,1,C]
    t = s.pad(t, [
      [0, 0],
      [0, 0],
      [0, sw - 1],
      [0, 0],
    ]); // → [N·H',oW,sw,C]
    t = s.reshape(t, [n, oh * sh, ow * sw, c]); // → [N,H',oW·sw,C]
  }
  return s.slice(t, [0, 0, 0, 0], [n, rows, (ow - 1) * sw + 1, c]);
}

/** One spatial dimension of the polyphase decomposition: for each phase r, its taps (filter index i,
 * dy offset e): out_r[a] = Σ dy[a + e] · W[i]. */
interface PhaseTaps {
  taps: Array<Array<{ i: number; e: number }>>;
  eMin: number;
  eMax: number;
}

function phaseTaps(k: number, stride: number, padBefore: number): PhaseTaps {
  const taps: PhaseTaps['taps'] = [];
  let eMin = Infinity;
  let eMax = -Infinity;
  for (let r = 0; r < stride; r++) {
    const c = (((r + padBefore) % stride) + stride) % stride;
    const d = (r + padBefore - c) / stride;
    const list: Array<{ i: number; e: number }> = [];
    for (let j = 0; stride * j + c < k; j++) {
      const e = d - j;
      list.push({ i: stride * j + c, e });
      eMin = Math.min(eMin, e);
      eMax = Math.max(eMax, e);
    }
    taps.push(list);
  }
  return { taps, eMin, eMax };
}

/** Shape of the polyphase filter: [Lh, Lw, Co, s²·Ci]. */
function polyphaseShape(ci: number, co: number, s: number, ph: PhaseTaps, pw: PhaseTaps): number[] {
  return [ph.eMax - ph.eMin + 1, pw.eMax - pw.eMin + 1, co, s * s * ci];
}

/** Write the polyphase filter [Lh, Lw, Co, s²·Ci] (channel = (rh·s + rw)·Ci + ci, DepthToSpace order) into `values`. */
function polyphaseFilter(w: Float32Array, values: Float32Array, kh: number, kw: number, ci: number, co: number, s: number, ph: PhaseTaps, pw: PhaseTaps): void {
  const lw = pw.eMax - pw.eMin + 1;
  const outC = s * s * ci;
  values.fill(0); // taps a phase does not have stay zero
  for (let rh = 0; rh < s; rh++) {
    for (let rw = 0; rw < s; rw++) {
      const phase = rh * s + rw;
      for (const th of ph.taps[rh]!) {
        for (const tw of pw.taps[rw]!) {
          const row = (th.e - ph.eMin) * lw + (tw.e - pw.eMin);
          for (let a = 0; a < ci; a++) {
            const src = ((th.i * kw + tw.i) * ci + a) * co;
            const dst = row * co * outC + phase * ci + a;
            for (let b = 0; b < co; b++) values[dst + b * outC] = w[src + b]!;
          }
        }
      }
    }
  }
}

/** Strided dx by polyphase decomposition (equal strides > 1). */
function polyphaseBackpropInput(
  s: KernelScope,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: [number, number, number, number],
  stride: number,
  padT: number,
  padL: number,
): TensorInfo {
  const [, h, w, ci] = inputShape;
  const [kh, kw, , co] = filter.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  const ph = phaseTaps(kh, stride, padT);
  const pw = phaseTaps(kw, stride, padL);
  const a = Math.ceil(h / stride);
  const b = Math.ceil(w / stride);
  const polyFilter = s.compute([filter], polyphaseShape(ci, co, stride, ph, pw), ([w], out) => polyphaseFilter(w!, out, kh, kw, ci, co, stride, ph, pw));
  const cropped = cropNegative(s, dy, {
    top: -ph.eMin,
    bottom: a - 1 + ph.eMax - (oh - 1),
    left: -pw.eMin,
    right: b - 1 + pw.eMax - (ow - 1),
  });
  const phases = s.conv2d(cropped.x, polyFilter, cropped.pads); // [N,A,B,s²·Ci]
  return depthToSpaceCrop(s, phases, stride, h, w); // [N,A·s,B·s,Ci] cropped to [N,H,W,Ci]
}

/**
 * W[kh−1−i, kw−1−j, ci, co] laid out [kh, kw, Co, Ci] (spatially flipped, channels swapped) in one JS pass over
 * the filter. wasm's Reverse is a generic element loop: Reverse + Transpose took ≈ 41 ms for a 3×3×256×256
 * filter, a per-step cost independent of the batch (≈ 1 ms this way).
 */
function rotatedSwappedFilter(s: KernelScope, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  return s.compute([filter], [kh, kw, co, ci], ([w], out) => {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const src = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
        const dst = (i * kw + j) * co * ci;
        for (let b = 0; b < co; b++) {
          const row = dst + b * ci;
          for (let a = 0; a < ci; a++) out[row + a] = w![src + a * co + b]!;
        }
      }
    }
  });
}

/** Conv2DBackpropInput as a stride-1 forward conv over the zero-inserted dy. */
export function conv2dBackpropInputAsConv(backendName: string) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as ConvBackpropAttrs & { inputShape: [number, number, number, number] };
    assertChannelsLast(attrs, 'Conv2DBackpropInput');
    const info = tf.backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const [, h, w] = attrs.inputShape;
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const top = kh - 1 - info.padInfo.top;
    const left = kw - 1 - info.padInfo.left;
    const bottom = h + kh - 1 - top - ((oh - 1) * sh + 1);
    const right = w + kw - 1 - left - ((ow - 1) * sw + 1);
    if (isPointwise(info)) {
      return withKernelScope(backendName, args.backend, (s) => {
        const [n, , , ci] = attrs.inputShape;
        const co = dy.shape[3]!;
        const g = s.reshape(dy, [1, n * oh * ow, co]); // [N,oH,oW,Co] → [1,P,Co]
        const wt = s.reshape(filter, [1, ci, co]); // [1,1,Ci,Co] → [1,Ci,Co]
        const gx = s.reshape(s.run('BatchMatMul', { a: g, b: wt }, { transposeA: false, transposeB: true }), [n, oh, ow, ci]);
        if (sh === 1 && sw === 1) return gx;
        return scatterStrided(s, gx, sh, sw, h, w); // [N,oH,oW,Ci] → [N,H,W,Ci], zeros between
      });
    }
    if (sh === sw && sh > 1) {
      return withKernelScope(backendName, args.backend, (s) =>
        polyphaseBackpropInput(s, dy, filter, attrs.inputShape, sh, info.padInfo.top, info.padInfo.left),
      );
    }
    return withKernelScope(backendName, args.backend, (s) => {
      const dilated = zeroInsert(s, dy, sh, sw);
      const cropped = cropNegative(s, dilated, { top, bottom, left, right });
      return s.conv2d(cropped.x, rotatedSwappedFilter(s, filter), cropped.pads); // [N,H,W,Ci]
    });
  };
}
