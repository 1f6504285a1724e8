/**
 * Copy-free and copy-cheap data movement for wasm.
 *
 * - Identity: tensors are immutable in tfjs (variables swap their data id on assign), so an identity
 *   can share the input's buffer by reference count — the cpu backend already does exactly this;
 *   wasm memcpy'd every `clone`/same-dtype `cast` (BatchNorm statistics, ReLU and Cast gradients); a same-dtype
 *   Cast shares the same way.
 * - Tile (and BroadcastTo, which lowers to it): wasm's Tile is a generic element loop (timings in
 *   reports/bench/kernels.md). Tiling is a broadcast: out = zeros(tiled shape) + x viewed with a length-1
 *   axis before every repeated axis, which XNNPACK's broadcasting Add does at memory speed.
 */
import type { tf } from '../tf';
import { type KernelBackend, type TensorInfo, withKernelScope } from './compose';

interface RefCountingBackend extends KernelBackend {
  incRef(dataId: tf.DataId): void;
}

/** Identity that shares the input buffer (reference-counted). */
export function sharedIdentity(args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend }): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  (args.backend as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/**
 * Cast to the dtype the tensor already has shares its buffer like Identity (ReLU's gradient casts its float32 Step to
 * float32: a full copy per ReLU on wasm); real conversions use the original kernel.
 */
export function sameDtypeCast(original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (dtype === x.dtype && (dtype === 'float32' || dtype === 'int32' || dtype === 'bool')) return sharedIdentity(args);
    return original(args) as TensorInfo;
  };
}

const MAX_BROADCAST_RANK = 6; // XNNPACK's binary-op rank limit

/** Tile as a broadcasting add (float32/int32); other cases use the original kernel. */
export function broadcastTile(backendName: string, original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { x } = args.inputs as { x: TensorInfo };
    const { reps } = args.attrs as unknown as { reps: number[] };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return original(args) as TensorInfo;
    const viewShape: number[] = []; // x with a 1 inserted before each repeated, non-unit axis
    const bigShape: number[] = []; // the broadcast target
    x.shape.forEach((d, i) => {
      const r = reps[i]!;
      if (r === 1) {
        viewShape.push(d);
        bigShape.push(d);
      } else if (d === 1) {
        viewShape.push(1);
        bigShape.push(r);
      } else {
        viewShape.push(1, d);
        bigShape.push(r, d);
      }
    });
    if (bigShape.length > MAX_BROADCAST_RANK) return original(args) as TensorInfo;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    return withKernelScope(backendName, args.backend, (s) => {
      const zeros = s.run('Fill', {}, { shape: bigShape, value: 0, dtype: x.dtype });
      const view = s.reshape(x, viewShape);
      const sum = s.run('Add', { a: zeros, b: view });
      return s.reshape(sum, outShape); // [.., r, d, ..] → [.., r·d, ..]
    });
  };
}
