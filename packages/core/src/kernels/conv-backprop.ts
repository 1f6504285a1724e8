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

/** Conv2DBackpropFilter as a dilated forward conv. */
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
    return withKernelScope(backendName, args.backend, (s) => {
      const dilated = zeroInsert(s, dy, sh, sw);
      const cropped = cropNegative(s, dilated, { top, bottom, left, right });
      const rotated = s.run('Reverse', { x: filter }, { dims: [0, 1] }); // W[kh−1−i, kw−1−j, ci, co]
      const swapped = s.transpose(rotated, [0, 1, 3, 2]); // [kh,kw,Ci,Co] → [kh,kw,Co,Ci]
      return s.conv2d(cropped.x, swapped, cropped.pads); // [N,H,W,Ci]
    });
  };
}
