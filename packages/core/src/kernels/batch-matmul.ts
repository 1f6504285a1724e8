/**
 * Flag-free BatchMatMul: the wasm backend's matmul is an order of magnitude slower (reports/bench/kernels.md) when `transposeA`/`transposeB`
 * are set (every matMul gradient sets one). Materialising the transpose with the (fast) Transpose
 * kernel and calling the original kernel without flags is far cheaper.
 */
import type { tf } from '../tf';
import { type KernelBackend, type TensorInfo, withKernelScope } from './compose';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** Wraps a backend's BatchMatMul kernel so it never sees transpose flags. */
export function flagFreeBatchMatMul(backendName: string, original: tf.KernelFunc) {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return original(args) as TensorInfo;
    return withKernelScope(backendName, args.backend, (s) => {
      const a2 = transposeA ? s.transpose(a, swapLastTwo(a.shape.length)) : a;
      const b2 = transposeB ? s.transpose(b, swapLastTwo(b.shape.length)) : b;
      const out = original({ inputs: { a: a2, b: b2 }, backend: args.backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as TensorInfo;
      return out;
    });
  };
}
