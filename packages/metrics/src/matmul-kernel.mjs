// Distance kernel shared by the main thread (distance.ts) and the worker pool (distance-worker.mjs).
// Plain JavaScript so worker_threads can load it under tsx, vitest or plain node alike; types live in
// matmul-kernel.d.mts. Cache-blocked, 4 × 4 register-tiled inner products; each (query, gallery) pair is
// summed in float64 over k = 0 … dim−1 in order whatever the tiling, so every partition of the rows gives
// bit-identical float32 results.

const ROW_BLOCK = 32; // gallery rows kept hot in cache while a query tile sweeps them
const QUERY_BLOCK = 32;

let dotsScratch = new Float64Array(0);

/** A float64 scratch buffer of at least n entries, reused across calls (one per thread). */
function scratch(n) {
  if (dotsScratch.length < n) dotsScratch = new Float64Array(n);
  return dotsScratch;
}

/** Squared L2 norm of every row of a row-major [n × dim] Float32Array, in float64. */
export function squaredNorms(features, dim) {
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

function dot(a, ao, b, bo, dim) {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[ao + k] * b[bo + k];
  return s;
}

// Inner products of query rows [q0, q1) with gallery rows [g0, g1) into out (row (q − q0) at offset × ng).
function dotTile(q, g, dim, q0, q1, g0, g1, out, ng) {
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

/**
 * First column computed for a row in `upperOnly` mode (the row rounded down to a gallery block; any value
 * ≤ row would do). Columns left of it are filled by {@link mirrorLower}.
 */
export function firstUpperColumn(row) {
  return Math.floor(row / ROW_BLOCK) * ROW_BLOCK;
}

/**
 * Complete a self-distance matrix [n × n] whose rows were filled in `upperOnly` mode: out[i][j] = out[j][i]
 * for j < firstUpperColumn(i). Bit-identical to computing those entries (products and sums commute).
 */
export function mirrorLower(out, n) {
  for (let i = 0; i < n; i++) {
    const end = firstUpperColumn(i);
    for (let j = 0; j < end; j++) out[i * n + j] = out[j * n + i];
  }
}

/**
 * Distances of query rows [start, start + count) to every gallery row, into out ([count × ng] float32).
 * cosine: 1 − dot / (|q| |g|) (1 when a norm is 0); euclidean: max(0, |q|² + |g|² − 2 dot).
 * upperOnly (query === gallery): skip columns below firstUpperColumn(row); complete with mirrorLower.
 */
export function fillDistanceBlock(query, gallery, dim, metric, qNorm, gNorm, start, count, out, upperOnly = false) {
  const ng = gNorm.length;
  const dots = scratch(Math.min(count, QUERY_BLOCK) * ng);
  for (let qb = start; qb < start + count; qb += QUERY_BLOCK) {
    const qe = Math.min(qb + QUERY_BLOCK, start + count);
    const g0 = upperOnly ? firstUpperColumn(qb) : 0;
    for (let gb = g0; gb < ng; gb += ROW_BLOCK) dotTile(query, gallery, dim, qb, qe, gb, Math.min(gb + ROW_BLOCK, ng), dots, ng);
    for (let i = qb; i < qe; i++) {
      const src = (i - qb) * ng;
      const dst = (i - start) * ng;
      const qn = qNorm[i];
      const j0 = upperOnly ? firstUpperColumn(i) : 0;
      if (metric === 'cosine') {
        const qs = Math.sqrt(qn);
        for (let j = j0; j < ng; j++) {
          const den = qs * Math.sqrt(gNorm[j]);
          out[dst + j] = den > 0 ? 1 - dots[src + j] / den : 1;
        }
      } else {
        for (let j = j0; j < ng; j++) {
          const d = qn + gNorm[j] - 2 * dots[src + j];
          out[dst + j] = d > 0 ? d : 0;
        }
      }
    }
  }
}
