/**
 * The fused training kernels on the native addon (packages/native/src/fused.cc), registered on wasm by
 * `registerNativeKernels` next to the oneDNN ones (native.ts):
 *
 * | kernel                       | native when                                  | otherwise (counted fallback)   |
 * |------------------------------|----------------------------------------------|--------------------------------|
 * | ClipSenetBatchNormTrain      | float32; gamma, beta of C values (last axis)  | the JS loops (batchnorm-train) |
 * | ClipSenetBatchNormTrainGrad  | float32, the forward's shapes                 | the JS loops                   |
 * | ClipSenetAdamUpdate          | float32 p, m, v, g of one shape               | the JS loop (adam-update.ts)   |
 *
 * The ops (`batchNormTrain`, `adamUpdate`) only call the kernels where they are registered; elsewhere they compose
 * tf ops.
 */
import type { NativeBinding } from '@clip-senet/native';
import { tf } from '../tf';
import type { TensorInfo } from './compose';
import { ADAM_UPDATE_KERNEL, adamUpdateByLoop } from './adam-update';
import { BATCH_NORM_TRAIN_KERNELS, type BatchNormTrainAttrs, batchNormTrainBackwardByLoop, batchNormTrainForwardByLoop } from './batchnorm-train';
import { type Fallback, type KernelArgs, type WasmHeapBackend, fallBack, nativeEnabled, offsetOf, runInPlaceMany } from './native-common';

type Wrapped = (args: KernelArgs) => TensorInfo | TensorInfo[];

const f32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

function batchNormTrainForward(binding: NativeBinding, fallback: Fallback): Wrapped {
  const kernel = BATCH_NORM_TRAIN_KERNELS.forward;
  return (args) => {
    if (!nativeEnabled()) return fallback(args);
    const { x, gamma, beta } = args.inputs as Record<'x' | 'gamma' | 'beta', TensorInfo>;
    const { epsilon, relu } = args.attrs as unknown as BatchNormTrainAttrs;
    const c = x.shape[x.shape.length - 1] ?? 0;
    const size = tf.util.sizeFromShape(x.shape);
    if (!f32(x, gamma, beta) || x.shape.length < 2 || size === 0) return fallBack(kernel, 'dtype, rank or empty tensor', fallback, args);
    if (gamma.shape.join() !== `${c}` || beta.shape.join() !== `${c}`) return fallBack(kernel, 'gamma / beta shape', fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const desc = Int32Array.from([size / c, c, relu ? 1 : 0]);
    const out = runInPlaceMany(backend, [[...x.shape], [c], [c]], (heap, [y, mean, variance]) =>
      binding.batchNormTrainForward(heap, desc, offsetOf(backend, x), offsetOf(backend, gamma), offsetOf(backend, beta), y!, mean!, variance!, epsilon),
    );
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function batchNormTrainBackward(binding: NativeBinding, fallback: Fallback): Wrapped {
  const kernel = BATCH_NORM_TRAIN_KERNELS.backward;
  return (args) => {
    if (!nativeEnabled()) return fallback(args);
    const ins = args.inputs as Record<'dy' | 'x' | 'y' | 'gamma' | 'mean' | 'variance' | 'dmean' | 'dvariance', TensorInfo>;
    const { epsilon, relu } = args.attrs as unknown as BatchNormTrainAttrs;
    const { dy, x, y, gamma, mean, variance, dmean, dvariance } = ins;
    const c = x.shape[x.shape.length - 1] ?? 0;
    const size = tf.util.sizeFromShape(x.shape);
    const vectors = [gamma, mean, variance, dmean, dvariance];
    if (!f32(dy, x, y, ...vectors) || x.shape.length < 2 || size === 0) return fallBack(kernel, 'dtype, rank or empty tensor', fallback, args);
    if (dy.shape.join() !== x.shape.join() || y.shape.join() !== x.shape.join() || vectors.some((t) => t.shape.join() !== `${c}`)) return fallBack(kernel, 'shapes', fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const desc = Int32Array.from([size / c, c, relu ? 1 : 0]);
    const o = (t: TensorInfo) => offsetOf(backend, t);
    const out = runInPlaceMany(backend, [[...x.shape], [c], [c]], (heap, [dx, dgamma, dbeta]) =>
      binding.batchNormTrainBackward(heap, desc, o(dy), o(x), o(y), o(gamma), o(mean), o(variance), o(dmean), o(dvariance), dx!, dgamma!, dbeta!, epsilon),
    );
    return typeof out === 'string' ? fallBack(kernel, out, fallback, args) : out;
  };
}

function adamUpdate(binding: NativeBinding, fallback: Fallback): Wrapped {
  return (args) => {
    if (!nativeEnabled()) return fallback(args);
    const { p, m, v, g } = args.inputs as Record<'p' | 'm' | 'v' | 'g', TensorInfo>;
    const hyper = Float32Array.from((args.attrs as unknown as { hyper: number[] }).hyper);
    const count = tf.util.sizeFromShape(p.shape);
    if (!f32(p, m, v, g) || count === 0 || [m, v, g].some((t) => t.shape.join() !== p.shape.join())) return fallBack(ADAM_UPDATE_KERNEL, 'dtype or shapes', fallback, args);
    if (hyper.length !== 9) return fallBack(ADAM_UPDATE_KERNEL, 'hyper-parameters', fallback, args);
    const backend = args.backend as WasmHeapBackend;
    const out = runInPlaceMany(backend, [[...p.shape], [...p.shape], [...p.shape]], (heap, [po, mo, vo]) =>
      binding.adamUpdate(heap, count, offsetOf(backend, p), offsetOf(backend, m), offsetOf(backend, v), offsetOf(backend, g), po!, mo!, vo!, hyper),
    );
    return typeof out === 'string' ? fallBack(ADAM_UPDATE_KERNEL, out, fallback, args) : out;
  };
}

/** The fused kernels: name → [JS-loop fallback, native wrapper maker]. */
export const FUSED_NATIVE_KERNELS: ReadonlyArray<readonly [string, Fallback, (binding: NativeBinding, fallback: Fallback) => Wrapped]> = [
  [BATCH_NORM_TRAIN_KERNELS.forward, batchNormTrainForwardByLoop, batchNormTrainForward],
  [BATCH_NORM_TRAIN_KERNELS.backward, batchNormTrainBackwardByLoop, batchNormTrainBackward],
  [ADAM_UPDATE_KERNEL, adamUpdateByLoop, adamUpdate],
];
