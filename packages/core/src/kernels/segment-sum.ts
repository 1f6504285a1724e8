/**
 * UnsortedSegmentSum (the gradient of `gather`, e.g. of a token-embedding lookup) as one JS pass over wasm memory:
 * row i of x is added to output row segmentIds[i]; ids outside [0, numSegments) are dropped, as in TensorFlow.
 * wasm has no such kernel and the cpu one builds a mask per segment (O(segments · rows · width)), so a text tower's
 * embedding gradient cost more than the rest of its step. Cases outside float32 x with 1-D ids fall back to `fallback`.
 */
import type { tf } from '../tf';
import { type KernelBackend, type TensorInfo, withKernelScope } from './compose';

/** Wraps UnsortedSegmentSum for a backend; `fallback` serves non-float32 or multi-dimensional-id cases. */
export function rowSegmentSum(backendName: string, fallback: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo | TensorInfo[] => {
    const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const numSegments = (args.attrs as unknown as { numSegments: number }).numSegments;
    if (x.dtype !== 'float32' || segmentIds.shape.length !== 1 || x.shape.length < 1 || segmentIds.shape[0] !== x.shape[0]) {
      return fallback({ inputs: args.inputs, backend: args.backend, attrs: args.attrs });
    }
    const rows = x.shape[0]!;
    const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const ids = Int32Array.from(args.backend.readSync(segmentIds.dataId) as ArrayLike<number>); // a copy: safe across allocation
    return withKernelScope(backendName, args.backend, (s) =>
      s.compute([x], [numSegments, ...x.shape.slice(1)], ([xv], out) => {
        out.fill(0);
        for (let i = 0; i < rows; i++) {
          const seg = ids[i]!;
          if (seg < 0 || seg >= numSegments) continue;
          const src = i * width;
          const dst = seg * width;
          for (let k = 0; k < width; k++) out[dst + k]! += xv![src + k]!;
        }
      }),
    );
  };
}
