/**
 * Grouped 2-D convolution as one op (ResNeXt's grouped 3×3, issue 13): `groupedConv2d(x, w, strides, pad, groups)`
 * with the PyTorch `groups` semantics on NHWC and tfjs filters `[kh, kw, Ci/G, Co]` (output channels by group).
 * tfjs has no grouped conv, so the op is three custom kernels plus a gradient:
 *
 * | kernel                        | wasm with @clip-senet/native           | otherwise (wasm, cpu)               |
 * |-------------------------------|----------------------------------------|-------------------------------------|
 * | GroupedConv2D                 | one grouped oneDNN primitive (native.ts) | G slices → Conv2D each → Concat    |
 * | GroupedConv2DBackpropInput    | one grouped oneDNN primitive            | G × Conv2DBackpropInput → Concat    |
 * | GroupedConv2DBackpropFilter   | one grouped oneDNN primitive            | G × Conv2DBackpropFilter → Concat   |
 *
 * The fallbacks compute exactly what split / conv / concat computes (what backbones' ops.ts does today), so numbers
 * do not change where the addon is absent. Gradients need dilation 1, as tfjs' own conv2d gradient does.
 */
import { tf } from '../tf';
import { type KernelBackend, type KernelScope, type TensorInfo, withKernelScope } from './compose';

/** Custom kernel names (shared by the fallbacks here and the native versions in native.ts). */
export const GROUPED_CONV_KERNELS = {
  forward: 'GroupedConv2D',
  backpropInput: 'GroupedConv2DBackpropInput',
  backpropFilter: 'GroupedConv2DBackpropFilter',
} as const;

/** Attributes of the grouped conv kernels. */
export interface GroupedConvAttrs {
  strides: [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations: [number, number];
  groups: number;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap };

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * y = conv(x, w) with `groups` groups: channel group g of x (Ci/G channels) convolved with output channels
 * [g·Co/G, (g+1)·Co/G) of w. x [N, H, W, Ci], w [kh, kw, Ci/G, Co]. groups = 1 is `tf.conv2d`; on a backend
 * without the grouped kernels it is split / conv / concat in tf ops.
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  strides: number | [number, number],
  pad: GroupedConvAttrs['pad'],
  groups: number,
  dilations: number | [number, number] = 1,
): tf.Tensor4D {
  const [, , , ci] = x.shape;
  const [, , cig, co] = w.shape;
  if (!Number.isInteger(groups) || groups < 1 || ci % groups !== 0 || co % groups !== 0 || cig !== ci / groups) {
    throw new Error(`groupedConv2d: ${ci} input / ${co} output channels and filter [${w.shape.join(', ')}] do not fit ${groups} groups`);
  }
  if (groups === 1) return tf.conv2d(x, w, strides, pad as 'same', 'NHWC', dilations);
  if (tf.getKernel(GROUPED_CONV_KERNELS.forward, tf.getBackend()) === undefined) {
    // a backend without the kernels (e.g. tfjs-node): the same arithmetic as tf ops, differentiated by tfjs
    const coutG = co / groups;
    const ys = tf.split(x, groups, 3).map((xg, g) => // G × [N, H, W, Ci/G] → G × [N, oH, oW, Co/G]
      tf.conv2d(xg as tf.Tensor4D, tf.slice(w, [0, 0, 0, g * coutG], [-1, -1, -1, coutG]), strides, pad as 'same', 'NHWC', dilations));
    return tf.concat(ys, 3); // → [N, oH, oW, Co]
  }
  const attrs: GroupedConvAttrs = { strides: pair(strides), pad, dilations: pair(dilations), groups };
  return tf.engine().runKernel(GROUPED_CONV_KERNELS.forward, { x, filter: w }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

function channelSlice(s: KernelScope, t: TensorInfo, from: number, count: number): TensorInfo {
  const [a, b, c] = t.shape as [number, number, number, number];
  return s.slice(t, [0, 0, 0, from], [a, b, c, count]);
}

function concatChannels(s: KernelScope, parts: TensorInfo[]): TensorInfo {
  return s.run('Concat', parts as unknown as Record<string, TensorInfo>, { axis: 3 });
}

/** Split / conv / concat forward (any backend with Conv2D, Slice, Concat). */
export function groupedConvForwardBySlices(backendName: string) {
  return (args: KernelArgs): TensorInfo => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as GroupedConvAttrs;
    const cig = x.shape[3]! / a.groups;
    const cog = filter.shape[3]! / a.groups;
    return withKernelScope(backendName, args.backend, (s) => {
      const ys = Array.from({ length: a.groups }, (_, g) =>
        s.run('Conv2D', { x: channelSlice(s, x, g * cig, cig), filter: channelSlice(s, filter, g * cog, cog) }, { strides: a.strides, pad: a.pad, dilations: a.dilations, dataFormat: 'NHWC' }),
      );
      return concatChannels(s, ys); // G × [N,oH,oW,Co/G] → [N,oH,oW,Co]
    });
  };
}

/** Per-group Conv2DBackpropInput, concatenated over input channels. */
export function groupedConvBackpropInputBySlices(backendName: string) {
  return (args: KernelArgs): TensorInfo => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as GroupedConvAttrs & { inputShape: [number, number, number, number] };
    const [n, h, w, ci] = a.inputShape;
    const cig = ci / a.groups;
    const cog = filter.shape[3]! / a.groups;
    return withKernelScope(backendName, args.backend, (s) => {
      const dxs = Array.from({ length: a.groups }, (_, g) =>
        s.run('Conv2DBackpropInput', { dy: channelSlice(s, dy, g * cog, cog), filter: channelSlice(s, filter, g * cog, cog) }, { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', inputShape: [n, h, w, cig] }),
      );
      return concatChannels(s, dxs); // G × [N,H,W,Ci/G] → [N,H,W,Ci]
    });
  };
}

/** Per-group Conv2DBackpropFilter, concatenated over output channels. */
export function groupedConvBackpropFilterBySlices(backendName: string) {
  return (args: KernelArgs): TensorInfo => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as GroupedConvAttrs & { filterShape: [number, number, number, number] };
    const [kh, kw, cig, co] = a.filterShape;
    const cog = co / a.groups;
    return withKernelScope(backendName, args.backend, (s) => {
      const dws = Array.from({ length: a.groups }, (_, g) =>
        s.run('Conv2DBackpropFilter', { x: channelSlice(s, x, g * cig, cig), dy: channelSlice(s, dy, g * cog, cog) }, { strides: a.strides, pad: a.pad, dataFormat: 'NHWC', filterShape: [kh, kw, cig, cog] }),
      );
      return concatChannels(s, dws); // G × [kh,kw,Ci/G,Co/G] → [kh,kw,Ci/G,Co]
    });
  };
}

/** The gradient of GroupedConv2D (registered once, for every backend). */
export const groupedConvGradient: tf.GradConfig = {
  kernelName: GROUPED_CONV_KERNELS.forward,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const a = attrs as unknown as GroupedConvAttrs;
    if (a.dilations[0] !== 1 || a.dilations[1] !== 1) throw new Error('groupedConv2d: gradients need dilation 1 (as tf.conv2d)');
    return {
      x: () => tf.engine().runKernel(GROUPED_CONV_KERNELS.backpropInput, { dy: dy as tf.Tensor, filter }, { ...a, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
      filter: () => tf.engine().runKernel(GROUPED_CONV_KERNELS.backpropFilter, { x, dy: dy as tf.Tensor }, { ...a, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
  },
};
