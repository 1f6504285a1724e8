/**
 * AddN on webgpu for any number of inputs. tfjs' webgpu AddN binds every input as a storage buffer of one shader,
 * so past the device's `maxStorageBuffersPerShaderStage − 1` inputs the device refuses the pipeline (8 by default,
 * 16 on llvmpipe; a ResNet's gradient norm sums hundreds of terms) and Dawn leaves the output unwritten. This runs
 * the stock kernel on chunks, carrying the running sum as the first input of the next chunk, so each element is
 * still summed left to right in float32.
 */
import type { tf } from '../tf';
import type { KernelBackend, TensorInfo } from './compose';

interface DeviceBackend extends KernelBackend {
  readonly device: { readonly limits: { readonly maxStorageBuffersPerShaderStage: number } };
}

/** The webgpu AddN kernel wrapping `stock` (the package's own), chunked to the device's storage-buffer limit. */
export function chunkedAddN(stock: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs?: tf.NamedAttrMap }): TensorInfo => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const limit = (args.backend as DeviceBackend).device.limits.maxStorageBuffersPerShaderStage;
    const perShader = Math.max(2, limit - 1); // one binding is the output
    const run = (xs: TensorInfo[]): TensorInfo => stock({ ...args, inputs: xs as unknown as tf.NamedTensorInfoMap }) as TensorInfo;
    if (inputs.length <= perShader) return run(inputs);
    let sum = run(inputs.slice(0, perShader));
    for (let i = perShader; i < inputs.length; i += perShader - 1) {
      const next = run([sum, ...inputs.slice(i, i + perShader - 1)]);
      args.backend.disposeData(sum.dataId);
      sum = next;
    }
    return sum;
  };
}
