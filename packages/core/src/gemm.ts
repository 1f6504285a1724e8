/**
 * `tfGemm`: a · bᵀ for row-major Float32Arrays on the active tf backend (XNNPACK on wasm, multi-threaded;
 * libtensorflow when native). Matches the `Gemm` provider type of `@clip-senet/metrics` (which stays
 * tf-free), e.g. `computeDistances(q, g, dim, 'cosine', { gemm: tfGemm })`.
 */
import { tf } from './tf';

/**
 * Row-major [aRows × bRows] = a [aRows × dim] · b [bRows × dim]ᵀ in float32. Synchronous, like the `Gemm` type:
 * on webgpu (which cannot read back synchronously in Node) it refuses up front, naming the alternatives.
 */
export function tfGemm(a: Float32Array, aRows: number, b: Float32Array, bRows: number, dim: number): Float32Array {
  if (a.length !== aRows * dim || b.length !== bRows * dim) {
    throw new Error(`tfGemm: expected a ${aRows}×${dim} and b ${bRows}×${dim}, got ${a.length} and ${b.length} values`);
  }
  if (tf.getBackend() === 'webgpu') {
    throw new Error("tfGemm: the webgpu backend cannot return a product synchronously; leave `gemm` unset (metrics' own kernel) or use it on wasm / cpu");
  }
  // Read the result outside tidy: tidy walks whatever it returns, and a large typed array is not a tensor.
  const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [aRows, dim]), tf.tensor2d(b, [bRows, dim]), false, true));
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}
