/** Types of matmul-kernel.mjs (see there). */
export declare function squaredNorms(features: Float32Array, dim: number): Float64Array;
export declare function fillDistanceBlock(
  query: Float32Array,
  gallery: Float32Array,
  dim: number,
  metric: 'cosine' | 'euclidean',
  qNorm: Float64Array,
  gNorm: Float64Array,
  start: number,
  count: number,
  out: Float32Array,
  upperOnly?: boolean,
): void;
export declare function firstUpperColumn(row: number): number;
export declare function mirrorLower(out: Float32Array, n: number): void;
