/**
 * Alpha query expansion (αQE; Radenović, Tolias, Chum, "Fine-tuning CNN Image Retrieval with No Human
 * Annotation", TPAMI 2018, Sec. 4.3): every query is replaced by the L2-normalised sum of itself and its k
 * nearest gallery features (cosine), each weighted by max(0, cos)^α. Optionally the gallery is expanded the
 * same way against itself (database-side augmentation; each gallery image is then its own first neighbour).
 */
import { distanceBlocks, type Gemm } from './distance';
import { assertFiniteRows } from './finite';
import { selectTopK } from './topk';

/** Input of {@link alphaQueryExpansion}. */
export interface AqeInput {
  /** Row-major [nq × dim]. */
  readonly query: Float32Array;
  /** Row-major [ng × dim]. */
  readonly gallery: Float32Array;
  readonly dim: number;
  /** Neighbours per query (default 5, clipped to the gallery size). */
  readonly k?: number;
  /** Weight exponent (default 3). */
  readonly alpha?: number;
  /** Also expand the gallery against itself (default false). */
  readonly expandGallery?: boolean;
  /** Inner-product provider for the neighbour search (default: the TS kernel); see {@link Gemm}. */
  readonly gemm?: Gemm;
}

/** Expanded features: the query always L2-normalised; the gallery too when expanded, else a copy of the input. */
export interface AqeResult {
  readonly query: Float32Array;
  readonly gallery: Float32Array;
}

function normalisedRow(x: Float32Array, r: number, dim: number, out: Float64Array, scale: number): void {
  let s = 0;
  for (let d = 0; d < dim; d++) s += x[r * dim + d] * x[r * dim + d];
  const inv = s > 0 ? scale / Math.sqrt(s) : 0;
  for (let d = 0; d < dim; d++) out[d] += x[r * dim + d] * inv;
}

function expand(x: Float32Array, gallery: Float32Array, dim: number, k: number, alpha: number, gemm?: Gemm): Float32Array {
  const ng = gallery.length / dim;
  const out = new Float32Array(x.length);
  const nn = new Int32Array(k);
  const acc = new Float64Array(dim);
  for (const block of distanceBlocks(x, gallery, dim, 'cosine', { gemm })) {
    for (let b = 0; b < block.count; b++) {
      const r = block.start + b;
      acc.fill(0);
      normalisedRow(x, r, dim, acc, 1);
      selectTopK(block.distances, b * ng, ng, k, nn);
      for (let a = 0; a < k; a++) {
        const sim = 1 - block.distances[b * ng + nn[a]];
        normalisedRow(gallery, nn[a], dim, acc, Math.pow(Math.max(0, sim), alpha));
      }
      let s = 0;
      for (let d = 0; d < dim; d++) s += acc[d] * acc[d];
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let d = 0; d < dim; d++) out[r * dim + d] = acc[d] * inv;
    }
  }
  return out;
}

/**
 * Row-wise L2-normalised copy of row-major [n × dim] features (a zero row stays zero), each row summed in float64
 * and rounded to float32 once. This is how the protocols put the gallery on the unit sphere next to the expanded
 * queries (PROTOCOLS.md; see the metrics README "Alpha query expansion").
 */
export function l2NormaliseRows(features: Float32Array, dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim <= 0 || features.length % dim !== 0) {
    throw new Error(`l2NormaliseRows: features length ${features.length} is not a multiple of dim ${dim}`);
  }
  const out = new Float32Array(features.length);
  const acc = new Float64Array(dim);
  for (let r = 0; r < features.length / dim; r++) {
    acc.fill(0);
    normalisedRow(features, r, dim, acc, 1);
    out.set(acc, r * dim);
  }
  return out;
}

/**
 * αQE over query (and optionally gallery) features; returns new arrays, inputs untouched. The expanded rows are
 * unit vectors; an un-expanded gallery is returned as given (see {@link l2NormaliseRows}).
 * @throws when a feature is NaN or ±Infinity (the message names the split, counts its bad rows, names the first)
 */
export function alphaQueryExpansion(input: AqeInput): AqeResult {
  const { query, gallery, dim } = input;
  const alpha = input.alpha ?? 3;
  if (!Number.isInteger(dim) || dim <= 0 || query.length % dim !== 0 || gallery.length % dim !== 0) {
    throw new Error(`alphaQueryExpansion: feature lengths ${query.length}, ${gallery.length} do not match dim ${dim}`);
  }
  const ng = gallery.length / dim;
  const k = Math.min(input.k ?? 5, ng);
  if (!Number.isInteger(k) || k < 0) throw new Error(`alphaQueryExpansion: k must be a non-negative integer, got ${input.k}`);
  if (!Number.isFinite(alpha)) throw new Error(`alphaQueryExpansion: alpha must be finite, got ${alpha}`);
  assertFiniteRows(query, dim, 'alphaQueryExpansion: query features');
  assertFiniteRows(gallery, dim, 'alphaQueryExpansion: gallery features');
  return {
    query: expand(query, gallery, dim, k, alpha, input.gemm),
    gallery: input.expandGallery ? expand(gallery, gallery, dim, k, alpha, input.gemm) : gallery.slice(),
  };
}
