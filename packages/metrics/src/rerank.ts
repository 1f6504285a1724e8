/**
 * k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with k-reciprocal Encoding",
 * CVPR 2017; same steps as the authors' public re_ranking.py, with explicit k1 / k2 / lambda).
 *
 * Memory-bounded: the (nq+ng)² "original" matrix is never built — its rows are recomputed from qq / qg / gg
 * in blocks — only the top-max(k1+1, k2) neighbours of every image are kept, V is sparse (CSR + a CSC
 * inverted index), and the Jaccard distance is formed one query row at a time. Besides the inputs and the
 * [nq × ng] output, memory is O((nq+ng) · (k1 + nnz per row)).
 *
 * Numerics: `original[i][j] = full[j][i]² / max_k full[k][i]²` in float32 exactly as the authors' code
 * (float32 squares, column maxima, transpose); neighbour order ties break by index (stable); weights, V and
 * the Jaccard distance are float64; the output is float32.
 */
import { assertFiniteRows } from './finite';
import { selectTopK } from './topk';

/** Input of {@link kReciprocalRerank}. Distances must be non-negative-ish "smaller is closer" values. */
export interface RerankInput {
  /** [numQuery × numGallery] query–gallery distances. */
  readonly qg: Float32Array;
  /** [numQuery × numQuery] query–query distances. */
  readonly qq: Float32Array;
  /** [numGallery × numGallery] gallery–gallery distances. */
  readonly gg: Float32Array;
  readonly numQuery: number;
  readonly numGallery: number;
  /** k-reciprocal neighbourhood size (default 20). */
  readonly k1?: number;
  /** Local query expansion size (default 6; 1 disables it). */
  readonly k2?: number;
  /** Weight of the original distance in the final distance (default 0.3). */
  readonly lambda?: number;
}

/** Sparse row-major matrix. */
interface Csr {
  readonly ptr: Int32Array;
  readonly idx: Int32Array;
  readonly val: Float64Array;
}

const ROWS_PER_BLOCK = 64;

/** Python/NumPy `np.around` (round half to even). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Accessor of the full (nq+ng)² distance matrix [[qq, qg], [qgᵀ, gg]] without building it. */
function fullAt(inp: RerankInput): (r: number, c: number) => number {
  const { qg, qq, gg, numQuery: nq, numGallery: ng } = inp;
  return (r, c) => {
    if (r < nq) return c < nq ? qq[r * nq + c] : qg[r * ng + (c - nq)];
    return c < nq ? qg[c * ng + (r - nq)] : gg[(r - nq) * ng + (c - nq)];
  };
}

/** Rows [i0, i0+count) of the float32 squared transposed matrix: out[b·n + k] = fround(full[k][i0+b]²). */
function squaredColumns(inp: RerankInput, i0: number, count: number, out: Float64Array): void {
  const { qg, qq, gg, numQuery: nq, numGallery: ng } = inp;
  const n = nq + ng;
  for (let k = 0; k < n; k++) {
    // full[k][i] for i in the block; the source row k is contiguous in qq/qg or qgᵀ/gg
    for (let b = 0; b < count; b++) {
      const i = i0 + b;
      let v: number;
      if (k < nq) v = i < nq ? qq[k * nq + i] : qg[k * ng + (i - nq)];
      else v = i < nq ? qg[i * ng + (k - nq)] : gg[(k - nq) * ng + (i - nq)];
      out[b * n + k] = Math.fround(v * v);
    }
  }
}

/** Per-row maxima and top-K neighbours (by (original, index)) of every image. */
function neighbours(inp: RerankInput, K: number): { maxSq: Float64Array; top: Int32Array } {
  const n = inp.numQuery + inp.numGallery;
  const maxSq = new Float64Array(n);
  const top = new Int32Array(n * K);
  const buf = new Float64Array(ROWS_PER_BLOCK * n);
  const row = new Float64Array(n);
  for (let i0 = 0; i0 < n; i0 += ROWS_PER_BLOCK) {
    const count = Math.min(ROWS_PER_BLOCK, n - i0);
    squaredColumns(inp, i0, count, buf);
    for (let b = 0; b < count; b++) {
      const o = b * n;
      let m = -Infinity;
      for (let k = 0; k < n; k++) if (buf[o + k] > m) m = buf[o + k];
      for (let k = 0; k < n; k++) row[k] = Math.fround(buf[o + k] / m);
      maxSq[i0 + b] = m;
      selectTopK(row, 0, n, K, top.subarray((i0 + b) * K, (i0 + b + 1) * K));
    }
  }
  return { maxSq, top };
}

/** k-reciprocal neighbours of i among its first k+1 neighbours, in neighbour order. */
function reciprocal(top: Int32Array, K: number, i: number, k: number): number[] {
  const out: number[] = [];
  for (let a = 0; a <= k; a++) {
    const f = top[i * K + a];
    for (let b = 0; b <= k; b++) {
      if (top[f * K + b] === i) {
        out.push(f);
        break;
      }
    }
  }
  return out;
}

/** Sparse V: Gaussian-kernel weights over the expanded k-reciprocal set of every image. */
function buildV(inp: RerankInput, top: Int32Array, K: number, maxSq: Float64Array, k1: number): Csr {
  const n = inp.numQuery + inp.numGallery;
  const half = roundHalfEven(k1 / 2);
  const at = fullAt(inp);
  const ptr = new Int32Array(n + 1);
  const idxChunks: Int32Array[] = [];
  const valChunks: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const r = reciprocal(top, K, i, k1);
    const inR = new Set(r);
    const expansion = new Set(r);
    for (const c of r) {
      const rc = reciprocal(top, K, c, half);
      let common = 0;
      for (const x of rc) if (inR.has(x)) common++;
      if (common > (2 / 3) * rc.length) for (const x of rc) expansion.add(x);
    }
    const cols = Int32Array.from(expansion).sort();
    const w = new Float64Array(cols.length);
    let sum = 0;
    for (let a = 0; a < cols.length; a++) {
      const v = at(cols[a], i);
      const original = Math.fround(Math.fround(v * v) / maxSq[i]);
      w[a] = Math.exp(-original);
      sum += w[a];
    }
    for (let a = 0; a < cols.length; a++) w[a] /= sum;
    idxChunks.push(cols);
    valChunks.push(w);
    ptr[i + 1] = ptr[i] + cols.length;
  }
  return concatCsr(ptr, idxChunks, valChunks);
}

function concatCsr(ptr: Int32Array, idxChunks: Int32Array[], valChunks: Float64Array[]): Csr {
  const nnz = ptr[ptr.length - 1];
  const idx = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  for (let i = 0; i < idxChunks.length; i++) {
    idx.set(idxChunks[i], ptr[i]);
    val.set(valChunks[i], ptr[i]);
  }
  return { ptr, idx, val };
}

/** Local query expansion: row i of the result is the mean of the V rows of i's first k2 neighbours. */
function expandV(v: Csr, top: Int32Array, K: number, k2: number, n: number): Csr {
  const acc = new Float64Array(n);
  const mark = new Uint8Array(n);
  const ptr = new Int32Array(n + 1);
  const idxChunks: Int32Array[] = [];
  const valChunks: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const touched: number[] = [];
    for (let a = 0; a < k2; a++) {
      const r = top[i * K + a];
      for (let p = v.ptr[r]; p < v.ptr[r + 1]; p++) {
        const c = v.idx[p];
        if (!mark[c]) {
          mark[c] = 1;
          touched.push(c);
        }
        acc[c] += v.val[p];
      }
    }
    const cols = Int32Array.from(touched).sort();
    const vals = new Float64Array(cols.length);
    for (let a = 0; a < cols.length; a++) {
      vals[a] = acc[cols[a]] / k2;
      acc[cols[a]] = 0;
      mark[cols[a]] = 0;
    }
    idxChunks.push(cols);
    valChunks.push(vals);
    ptr[i + 1] = ptr[i] + cols.length;
  }
  return concatCsr(ptr, idxChunks, valChunks);
}

/** Column-major copy (inverted index: for each column, the rows where V is non-zero). */
function transpose(v: Csr, n: number): Csr {
  const ptr = new Int32Array(n + 1);
  for (let p = 0; p < v.idx.length; p++) ptr[v.idx[p] + 1]++;
  for (let c = 0; c < n; c++) ptr[c + 1] += ptr[c];
  const fill = ptr.slice(0, n);
  const idx = new Int32Array(v.idx.length);
  const val = new Float64Array(v.idx.length);
  for (let r = 0; r < n; r++) {
    for (let p = v.ptr[r]; p < v.ptr[r + 1]; p++) {
      const q = fill[v.idx[p]]++;
      idx[q] = r;
      val[q] = v.val[p];
    }
  }
  return { ptr, idx, val };
}

function checkInput(inp: RerankInput, k1: number, k2: number, lambda: number): void {
  const { numQuery: nq, numGallery: ng } = inp;
  if (!Number.isInteger(nq) || !Number.isInteger(ng) || nq < 1 || ng < 1) {
    throw new Error(`kReciprocalRerank: numQuery and numGallery must be positive integers, got ${nq}, ${ng}`);
  }
  if (inp.qg.length !== nq * ng) throw new Error(`kReciprocalRerank: qg length ${inp.qg.length}, expected ${nq} × ${ng}`);
  if (inp.qq.length !== nq * nq) throw new Error(`kReciprocalRerank: qq length ${inp.qq.length}, expected ${nq} × ${nq}`);
  if (inp.gg.length !== ng * ng) throw new Error(`kReciprocalRerank: gg length ${inp.gg.length}, expected ${ng} × ${ng}`);
  assertFiniteRows(inp.qg, ng, 'kReciprocalRerank: query–gallery distances (qg)', { rowNoun: 'query row', columnNoun: 'gallery column' });
  assertFiniteRows(inp.qq, nq, 'kReciprocalRerank: query–query distances (qq)', { rowNoun: 'query row', columnNoun: 'query column' });
  assertFiniteRows(inp.gg, ng, 'kReciprocalRerank: gallery–gallery distances (gg)', { rowNoun: 'gallery row', columnNoun: 'gallery column' });
  if (!Number.isInteger(k1) || k1 < 1 || k1 + 1 > nq + ng) {
    throw new Error(`kReciprocalRerank: k1 must be an integer in [1, ${nq + ng - 1}], got ${k1}`);
  }
  if (!Number.isInteger(k2) || k2 < 1 || k2 > nq + ng) throw new Error(`kReciprocalRerank: k2 must be an integer in [1, ${nq + ng}], got ${k2}`);
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`kReciprocalRerank: lambda must be in [0, 1], got ${lambda}`);
}

/**
 * Re-ranked [numQuery × numGallery] distances (float32):
 * `final = (1 − λ) · Jaccard(V_q, V_g) + λ · original`, V from k-reciprocal sets of size k1 expanded by
 * the half-size (round(k1/2)) sets, then averaged over the k2 nearest neighbours.
 * @throws when an input or output distance is NaN or ±Infinity (the message counts the rows, names the first)
 */
export function kReciprocalRerank(input: RerankInput): Float32Array {
  const k1 = input.k1 ?? 20;
  const k2 = input.k2 ?? 6;
  const lambda = input.lambda ?? 0.3;
  checkInput(input, k1, k2, lambda);
  const { numQuery: nq, numGallery: ng } = input;
  const n = nq + ng;
  const K = Math.max(k1 + 1, k2);
  const { maxSq, top } = neighbours(input, K);
  let v = buildV(input, top, K, maxSq, k1);
  if (k2 !== 1) v = expandV(v, top, K, k2, n);
  const inv = transpose(v, n);
  const out = new Float32Array(nq * ng);
  const tempMin = new Float64Array(n);
  for (let i = 0; i < nq; i++) {
    for (let p = v.ptr[i]; p < v.ptr[i + 1]; p++) {
      const c = v.idx[p];
      const vi = v.val[p];
      for (let s = inv.ptr[c]; s < inv.ptr[c + 1]; s++) {
        const w = inv.val[s];
        tempMin[inv.idx[s]] += vi < w ? vi : w;
      }
    }
    for (let j = 0; j < ng; j++) {
      const tm = tempMin[nq + j];
      const jaccard = 1 - tm / (2 - tm);
      const d = input.qg[i * ng + j];
      const original = Math.fround(Math.fround(d * d) / maxSq[i]);
      out[i * ng + j] = jaccard * (1 - lambda) + original * lambda;
    }
    tempMin.fill(0);
  }
  // finite inputs can still give a non-finite result: all distances of an image 0 (max 0), or squares past float32
  assertFiniteRows(out, ng, 'kReciprocalRerank: re-ranked distances (of finite inputs: all-zero or float32-overflowing distances)', {
    rowNoun: 'query row',
    columnNoun: 'gallery column',
  });
  return out;
}
