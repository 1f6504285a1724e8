/**
 * Partial selection: the k smallest entries of a row by (value, index) — the package-wide tie rule — in
 * ascending order, in O(n + k · (insertions)) without sorting the row.
 */

/**
 * Write into `out` (length k) the indices (relative to `off`) of the k smallest of `row[off … off+n)`,
 * ordered by (value, index) ascending. NaN values rank last.
 */
export function selectTopK(row: Float64Array | Float32Array, off: number, n: number, k: number, out: Int32Array): void {
  if (!Number.isInteger(k) || k < 0 || k > n) throw new Error(`selectTopK: k must be an integer in [0, ${n}], got ${k}`);
  if (out.length < k) throw new Error(`selectTopK: output length ${out.length} < k ${k}`);
  if (k === 0) return;
  const vals = new Float64Array(k);
  let size = 0;
  for (let j = 0; j < n; j++) {
    let v = row[off + j];
    if (v !== v) v = Infinity;
    // j is larger than every index kept so far, so an equal value never displaces a kept entry
    if (size === k && !(v < vals[k - 1])) continue;
    let p = size < k ? size : k - 1;
    while (p > 0 && vals[p - 1] > v) {
      vals[p] = vals[p - 1];
      out[p] = out[p - 1];
      p--;
    }
    vals[p] = v;
    out[p] = j;
    if (size < k) size++;
  }
}
