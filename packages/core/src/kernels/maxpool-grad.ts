/**
 * MaxPoolGrad as one JS pass: each output position routes its gradient to the first maximum of its
 * window (row-major scan order, as tfjs' cpu kernel and PyTorch do). wasm's MaxPoolGrad is a generic
 * loop (~0.4 s for a ResNet stem at batch 32); this is ~N·oH·oW·C·kh·kw comparisons.
 */
import { tf } from '../tf';
import { type KernelBackend, type TensorInfo, withKernelScope } from './compose';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Wraps MaxPoolGrad for a backend (float32 NHWC, no dilation). */
export function firstMaxPoolGrad(backendName: string) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const attrs = args.attrs as unknown as MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const padT = info.padInfo.top;
    const padL = info.padInfo.left;
    return withKernelScope(backendName, args.backend, (s) =>
      s.compute([dy, input], [n, h, w, c], ([g, x], out) => {
        out.fill(0);
        for (let b = 0; b < n; b++) {
          for (let i = 0; i < oh; i++) {
            const h0 = i * sh - padT;
            for (let j = 0; j < ow; j++) {
              const w0 = j * sw - padL;
              const gBase = ((b * oh + i) * ow + j) * c;
              for (let ch = 0; ch < c; ch++) {
                let best = -Infinity;
                let at = -1;
                for (let di = 0; di < kh; di++) {
                  const y = h0 + di;
                  if (y < 0 || y >= h) continue;
                  for (let dj = 0; dj < kw; dj++) {
                    const xx = w0 + dj;
                    if (xx < 0 || xx >= w) continue;
                    const idx = ((b * h + y) * w + xx) * c + ch;
                    const v = x![idx]!;
                    if (v > best || at < 0) {
                      best = v;
                      at = idx;
                    }
                  }
                }
                if (at >= 0) out[at]! += g![gBase + ch]!;
              }
            }
          }
        }
      }),
    );
  };
}
