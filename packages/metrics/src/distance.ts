/**
 * Query × gallery distances for re-ID ranking (PROTOCOLS.md "Metrics": cosine = 1 − cos of L2-normalised
 * features, or squared euclidean; ranking ascending).
 *
 * The inner products come from a cache-blocked, 4 × 4 register-tiled matmul over row-major Float32Array
 * features (matmul-kernel.mjs, shared with the worker pool of parallel-distance.ts). Every product and sum is carried in float64 (JS numbers) in a fixed order — k = 0 … dim−1 for
 * each (query, gallery) pair, whatever the tiling — and only the final distance is rounded to float32, so
 * results are deterministic and independent of block sizes.
 */

import { assertFiniteRows } from './finite';
import { fillDistanceBlock as fillBlock, mirrorLower, squaredNorms } from './matmul-kernel.mjs';

export { squaredNorms };

/** Distance between feature vectors; both rank ascending. */
export type DistanceMetric = 'cosine' | 'euclidean';

/** One block of query rows of the distance matrix. */
export interface DistanceBlock {
  /** Index of the first query row in this block. */
  readonly start: number;
  /** Number of query rows in this block. */
  readonly count: number;
  /** Row-major [count × numGallery] distances. */
  readonly distances: Float32Array;
}

/**
 * An inner-product provider: row-major [aRows × bRows] = a · bᵀ for row-major a [aRows × dim] and
 * b [bRows × dim]. Pass one (e.g. `tfGemm` from `@clip-senet/core`, XNNPACK-backed) to compute the
 * products on a tensor backend; the default is this package's float64-accumulating TS kernel.
 * A float32 GEMM changes distances at float32 rounding level (ranking ties may then resolve
 * differently); results stay deterministic for a given provider and backend.
 */
export type Gemm = (a: Float32Array, aRows: number, b: Float32Array, bRows: number, dim: number) => Float32Array;

/** Options of {@link computeDistances} and {@link computeSelfDistances}. */
export interface DistanceOptions {
  /** Inner-product provider (default: the TS kernel). */
  readonly gemm?: Gemm;
}

/** Options of {@link distanceBlocks}. */
export interface DistanceBlockOptions extends DistanceOptions {
  /** Query rows per yielded block (default 64). */
  readonly blockSize?: number;
}

/** Distances of query rows [start, start + count) from precomputed inner products `dots` [count × ng]. */
function distancesFromDots(dots: Float32Array, metric: DistanceMetric, qNorm: Float64Array, gNorm: Float64Array, start: number, count: number, out: Float32Array): void {
  const ng = gNorm.length;
  for (let i = 0; i < count; i++) {
    const qn = qNorm[start + i]!;
    const row = i * ng;
    if (metric === 'cosine') {
      const qs = Math.sqrt(qn);
      for (let j = 0; j < ng; j++) {
        const den = qs * Math.sqrt(gNorm[j]!);
        out[row + j] = den > 0 ? 1 - dots[row + j]! / den : 1;
      }
    } else {
      for (let j = 0; j < ng; j++) {
        const d = qn + gNorm[j]! - 2 * dots[row + j]!;
        out[row + j] = d > 0 ? d : 0;
      }
    }
  }
}

/** Fill `out` with query rows [start, start + count), with the TS kernel or an injected GEMM. */
function fillRows(query: Float32Array, gallery: Float32Array, dim: number, metric: DistanceMetric, qNorm: Float64Array, gNorm: Float64Array, start: number, count: number, out: Float32Array, gemm?: Gemm): void {
  if (!gemm) {
    fillBlock(query, gallery, dim, metric, qNorm, gNorm, start, count, out);
    return;
  }
  const ng = gNorm.length;
  const dots = gemm(query.subarray(start * dim, (start + count) * dim), count, gallery, ng, dim);
  if (dots.length !== count * ng) throw new Error(`gemm returned ${dots.length} values, expected ${count} × ${ng}`);
  distancesFromDots(dots, metric, qNorm, gNorm, start, count, out);
}

/**
 * Validate shapes and values (every feature finite: the kernel would turn a NaN row into distance 1 / 0);
 * returns the row counts. `fn` names the caller in the error; a self-distance call passes the same array twice.
 */
export function checkShapes(query: Float32Array, gallery: Float32Array, dim: number, fn = 'computeDistances'): { nq: number; ng: number } {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`${fn}: dim must be a positive integer, got ${dim}`);
  if (query.length % dim !== 0) throw new Error(`${fn}: query length ${query.length} is not a multiple of dim ${dim}`);
  if (gallery.length % dim !== 0) {
    throw new Error(`${fn}: gallery length ${gallery.length} is not a multiple of dim ${dim}`);
  }
  if (query === gallery) assertFiniteRows(query, dim, `${fn}: features`);
  else {
    assertFiniteRows(query, dim, `${fn}: query features`);
    assertFiniteRows(gallery, dim, `${fn}: gallery features`);
  }
  return { nq: query.length / dim, ng: gallery.length / dim };
}

/**
 * Full [nq × ng] distance matrix (row-major float32).
 *
 * @param query row-major [nq × dim] features
 * @param gallery row-major [ng × dim] features
 * @param metric `cosine` (1 − cos; a zero vector has cos 0) or `euclidean` (squared, clamped at 0)
 * @throws when a feature is NaN or ±Infinity (the message counts the bad rows and names the first)
 */
export function computeDistances(query: Float32Array, gallery: Float32Array, dim: number, metric: DistanceMetric, options: DistanceOptions = {}): Float32Array {
  const { nq, ng } = checkShapes(query, gallery, dim);
  const out = new Float32Array(nq * ng);
  fillRows(query, gallery, dim, metric, squaredNorms(query, dim), squaredNorms(gallery, dim), 0, nq, out, options.gemm);
  return out;
}

/**
 * [n × n] distances of a set to itself (qq, gg for re-ranking): computes the upper block triangle and
 * mirrors it — half the work, bit-identical to `computeDistances(x, x, dim, metric)`.
 */
export function computeSelfDistances(features: Float32Array, dim: number, metric: DistanceMetric, options: DistanceOptions = {}): Float32Array {
  if (options.gemm) return computeDistances(features, features, dim, metric, options);
  const { nq: n } = checkShapes(features, features, dim, 'computeSelfDistances');
  const out = new Float32Array(n * n);
  const norms = squaredNorms(features, dim);
  fillBlock(features, features, dim, metric, norms, norms, 0, n, out, true);
  mirrorLower(out, n);
  return out;
}

/**
 * Yield the distance matrix one block of query rows at a time, so callers (the streaming evaluator, the
 * VeRi-Wild Large protocol) never hold all nq × ng distances. Values are identical to
 * {@link computeDistances}.
 */
export function* distanceBlocks(
  query: Float32Array,
  gallery: Float32Array,
  dim: number,
  metric: DistanceMetric,
  options: DistanceBlockOptions = {},
): Generator<DistanceBlock> {
  const { nq, ng } = checkShapes(query, gallery, dim, 'distanceBlocks');
  const blockSize = options.blockSize ?? 64;
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new Error(`distanceBlocks: blockSize must be a positive integer, got ${blockSize}`);
  const qNorm = squaredNorms(query, dim);
  const gNorm = squaredNorms(gallery, dim);
  for (let start = 0; start < nq; start += blockSize) {
    const count = Math.min(blockSize, nq - start);
    const distances = new Float32Array(count * ng);
    fillRows(query, gallery, dim, metric, qNorm, gNorm, start, count, distances, options.gemm);
    yield { start, count, distances };
  }
}
