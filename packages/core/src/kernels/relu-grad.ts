/**
 * ReLU's gradient as one kernel. tfjs' stock gradient is `mul(dy, cast(step(x), 'float32'))`: two activation-sized
 * passes (Step, then Multiply) and a Step tensor per ReLU. `ClipSenetReluGrad` computes dy · step(x) in one pass with
 * the same bits (dy · 1, dy · 0 keeping the sign of zero, NaN where x is NaN). The gradient registered for Relu uses it
 * on backends that register the kernel (wasm, cpu; oneDNN's addon on wasm) and keeps the stock formula elsewhere
 * (tensorflow, webgpu) and for non-float32 tensors.
 */
import { tf } from '../tf';
import { type KernelBackend, type TensorInfo, withKernelScope } from './compose';

export const RELU_GRAD_KERNEL = 'ClipSenetReluGrad';

function useKernel(dy: tf.Tensor, x: tf.Tensor): boolean {
  return dy.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend()) != null;
}

function reluGrad(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (!useKernel(dy, x)) return tf.mul(dy, tf.cast(tf.step(x), 'float32'));
  return tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x } as unknown as tf.NamedTensorMap) as tf.Tensor;
}

/** Relu's gradient through the fused kernel. */
export const reluGradFused: tf.GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => reluGrad(dy as tf.Tensor, x) };
  },
};

/** The fused kernel's own gradient (second order): linear in dy, zero in x — as the stock formula's. */
export const reluGradKernelGradient: tf.GradConfig = {
  kernelName: RELU_GRAD_KERNEL,
  inputsToSave: ['x'],
  gradFunc: (ddx: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x] = saved as [tf.Tensor];
    return { dy: () => reluGrad(ddx as tf.Tensor, x), x: () => tf.zerosLike(x) };
  },
};

/** The kernel as one JS pass (cpu, and wasm without the addon): out = dy · (x > 0 ? 1 : x ≤ 0 ? 0 : NaN). */
export function reluGradByLoop(backendName: string) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend }): TensorInfo => {
    const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
    if (dy.shape.join() !== x.shape.join()) throw new Error(`${RELU_GRAD_KERNEL}: dy ${JSON.stringify(dy.shape)} and x ${JSON.stringify(x.shape)} differ`);
    return withKernelScope(backendName, args.backend, (s) =>
      s.compute([dy, x], [...dy.shape], ([g, v], out) => {
        for (let i = 0; i < out.length; i++) {
          const xi = v![i]!;
          out[i] = g![i]! * (xi > 0 ? 1 : xi <= 0 ? 0 : Number.NaN);
        }
      }),
    );
  };
}
