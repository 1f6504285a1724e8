/**
 * Query × gallery distances for re-ID ranking (PROTOCOLS.md "Metrics": cosine = 1 − cos of L2-normalised
 * features, or squared euclidean; ranking ascending).
 *
 * The inner products come from a cache-blocked, 4 × 4 register-tiled matmul over row-major Float32Array
 * features. Every product and sum is carried in float64 (JS numbers) in a fixed order — k = 0 … dim−1 for
 * each (query, gallery) pair, whatever the tiling — and only the final distance is rounded to float32, so
 * results are deterministic and independent of block sizes.
 */

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

/** Options of {@link distanceBlocks}. */
export interface DistanceBlockOptions {
  /** Query rows per yielded block (default 64). */
  readonly blockSize?: number;
}

const ROW_BLOCK = 32; // gallery rows kept hot in cache while a query tile sweeps them
const QUERY_BLOCK = 32;

function checkShapes(query: Float32Array, gallery: Float32Array, dim: number): { nq: number; ng: number } {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`computeDistances: dim must be a positive integer, got ${dim}`);
  if (query.length % dim !== 0) throw new Error(`computeDistances: query length ${query.length} is not a multiple of dim ${dim}`);
  if (gallery.length % dim !== 0) {
    throw new Error(`computeDistances: gallery length ${gallery.length} is not a multiple of dim ${dim}`);
  }
  return { nq: query.length / dim, ng: gallery.length / dim };
}

/** Squared L2 norm of every row, in float64. */
export function squaredNorms(features: Float32Array, dim: number): Float64Array {
  const n = features.length / dim;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let k = 0; k < dim; k++) {
      const v = features[o + k];
      s += v * v;
    }
    out[i] = s;
  }
  return out;
}

/**
 * Inner products of query rows [q0, q1) with gallery rows [g0, g1), added into `out` (row-major with row
 * stride `ng`, row q at offset (q − q0) × ng). 4 × 4 tiles; remainders fall back to 1 × 4 / 1 × 1.
 */
function dotTile(
  q: Float32Array,
  g: Float32Array,
  dim: number,
  q0: number,
  q1: number,
  g0: number,
  g1: number,
  out: Float64Array,
  ng: number,
): void {
  let i = q0;
  for (; i + 4 <= q1; i += 4) {
    const a0 = i * dim;
    const a1 = a0 + dim;
    const a2 = a1 + dim;
    const a3 = a2 + dim;
    let j = g0;
    for (; j + 4 <= g1; j += 4) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < dim; k++) {
        const x0 = q[a0 + k], x1 = q[a1 + k], x2 = q[a2 + k], x3 = q[a3 + k];
        const y0 = g[b0 + k], y1 = g[b1 + k], y2 = g[b2 + k], y3 = g[b3 + k];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      const r0 = (i - q0) * ng + j;
      const r1 = r0 + ng;
      const r2 = r1 + ng;
      const r3 = r2 + ng;
      out[r0] = s00; out[r0 + 1] = s01; out[r0 + 2] = s02; out[r0 + 3] = s03;
      out[r1] = s10; out[r1 + 1] = s11; out[r1 + 2] = s12; out[r1 + 3] = s13;
      out[r2] = s20; out[r2 + 1] = s21; out[r2 + 2] = s22; out[r2 + 3] = s23;
      out[r3] = s30; out[r3 + 1] = s31; out[r3 + 2] = s32; out[r3 + 3] = s33;
    }
    for (; j < g1; j++) {
      for (let r = 0; r < 4; r++) out[(i + r - q0) * ng + j] = dot(q, (i + r) * dim, g, j * dim, dim);
    }
  }
  for (; i < q1; i++) {
    for (let j = g0; j < g1; j++) out[(i - q0) * ng + j] = dot(q, i * dim, g, j * dim, dim);
  }
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** Fill `out` ([count × ng] float32) with distances of query rows [start, start + count). */
function fillBlock(
  query: Float32Array,
  gallery: Float32Array,
  dim: number,
  metric: DistanceMetric,
  qNorm: Float64Array,
  gNorm: Float64Array,
  start: number,
  count: number,
  out: Float32Array,
): void {
  const ng = gNorm.length;
  const dots = new Float64Array(Math.min(count, QUERY_BLOCK) * ng);
  for (let qb = start; qb < start + count; qb += QUERY_BLOCK) {
    const qe = Math.min(qb + QUERY_BLOCK, start + count);
    for (let gb = 0; gb < ng; gb += ROW_BLOCK) dotTile(query, gallery, dim, qb, qe, gb, Math.min(gb + ROW_BLOCK, ng), dots, ng);
    for (let i = qb; i < qe; i++) {
      const src = (i - qb) * ng;
      const dst = (i - start) * ng;
      const qn = qNorm[i];
      if (metric === 'cosine') {
        const qs = Math.sqrt(qn);
        for (let j = 0; j < ng; j++) {
          const den = qs * Math.sqrt(gNorm[j]);
          out[dst + j] = den > 0 ? 1 - dots[src + j] / den : 1;
        }
      } else {
        for (let j = 0; j < ng; j++) {
          const d = qn + gNorm[j] - 2 * dots[src + j];
          out[dst + j] = d > 0 ? d : 0;
        }
      }
    }
  }
}

/**
 * Full [nq × ng] distance matrix (row-major float32).
 *
 * @param query row-major [nq × dim] features
 * @param gallery row-major [ng × dim] features
 * @param metric `cosine` (1 − cos; a zero vector has cos 0) or `euclidean` (squared, clamped at 0)
 */
export function computeDistances(query: Float32Array, gallery: Float32Array, dim: number, metric: DistanceMetric): Float32Array {
  const { nq, ng } = checkShapes(query, gallery, dim);
  const out = new Float32Array(nq * ng);
  fillBlock(query, gallery, dim, metric, squaredNorms(query, dim), squaredNorms(gallery, dim), 0, nq, out);
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
  const { nq, ng } = checkShapes(query, gallery, dim);
  const blockSize = options.blockSize ?? 64;
  if (!Number.isInteger(blockSize) || blockSize <= 0) throw new Error(`distanceBlocks: blockSize must be a positive integer, got ${blockSize}`);
  const qNorm = squaredNorms(query, dim);
  const gNorm = squaredNorms(gallery, dim);
  for (let start = 0; start < nq; start += blockSize) {
    const count = Math.min(blockSize, nq - start);
    const distances = new Float32Array(count * ng);
    fillBlock(query, gallery, dim, metric, qNorm, gNorm, start, count, distances);
    yield { start, count, distances };
  }
}
