/**
 * Bridges for kernels the wasm backend lacks (UnsortedSegmentSum — the gather gradient —, depthwise
 * conv backprops, Einsum, …): copy inputs to the cpu backend, run its kernel, copy the outputs back.
 * Correct by construction (it *is* the cpu kernel); only used for kernels that are off the hot path.
 */
import { tf } from '../tf';
import type { KernelBackend, TensorInfo } from './compose';

/** Kernels never bridged: complex-number and string kernels have no wasm representation. */
const NOT_BRIDGEABLE = new Set(['Complex', 'ComplexAbs', 'Real', 'Imag', 'FFT', 'IFFT', 'RFFT', 'IRFFT', 'StringNGrams', 'StringSplit', 'StringToHashBucketFast', 'StaticRegexReplace']);

interface WasmLikeBackend extends KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): tf.TypedArray;
}

function bridgeKernel(name: string, cpu: KernelBackend, cpuKernel: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo | TensorInfo[] => {
    const target = args.backend as WasmLikeBackend;
    const cpuInputs: tf.NamedTensorInfoMap = {};
    const created: TensorInfo[] = [];
    try {
      for (const [key, info] of Object.entries(args.inputs)) {
        if (info == null) continue;
        const values = target.readSync(info.dataId) as tf.TypedArray;
        const dataId = cpu.write(values, info.shape, info.dtype);
        const cpuInfo: TensorInfo = { dataId, shape: info.shape, dtype: info.dtype };
        created.push(cpuInfo);
        cpuInputs[key] = cpuInfo;
      }
      const result = cpuKernel({ inputs: cpuInputs, backend: cpu, attrs: args.attrs });
      const outs = Array.isArray(result) ? result : [result];
      const converted = outs.map((o) => {
        const values = cpu.readSync(o.dataId) as tf.TypedArray;
        cpu.disposeData(o.dataId);
        const out = target.makeOutput(o.shape, o.dtype);
        target.typedArrayFromHeap(out).set(values);
        return out;
      });
      return Array.isArray(result) ? converted : converted[0]!;
    } catch (err) {
      throw new Error(`cpu bridge for kernel '${name}' failed: ${(err as Error).message}`);
    } finally {
      for (const c of created) cpu.disposeData(c.dataId);
    }
  };
}

/**
 * Registers, for `backendName`, a bridge for every kernel that the cpu backend has and it lacks.
 * Returns the names bridged.
 */
export function registerCpuBridges(backendName: string): string[] {
  const cpu = tf.findBackend('cpu');
  if (cpu == null) throw new Error('registerCpuBridges: the cpu backend is not registered');
  const have = new Set(tf.getKernelsForBackend(backendName).map((k) => k.kernelName));
  const bridged: string[] = [];
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (have.has(k.kernelName) || NOT_BRIDGEABLE.has(k.kernelName)) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName, kernelFunc: bridgeKernel(k.kernelName, cpu, k.kernelFunc) as tf.KernelFunc });
    bridged.push(k.kernelName);
  }
  return bridged.sort();
}
