/**
 * Exact per-query ranking statistics without sorting the gallery row (PROTOCOLS.md "Metrics").
 *
 * The gallery is ranked by (distance, gallery index) ascending; junk entries are removed. AP, CMC and mINP
 * depend only on the filtered rank of every positive, and the filtered rank of the i-th positive (0-based,
 * positives sorted by the same key) is i + #{negatives whose key is smaller}. So only the positives are
 * sorted; each negative that precedes the last positive is located among them through a bucket table over the
 * positives' distance range (then a search inside its bucket) and counted. This is O(ng + P log P) per query
 * in practice, exact, and needs no per-row index array.
 */

/** How AP is integrated over the ranking. */
export type ApMode = 'non-interpolated' | 'trapezoid';

/** Statistics of one valid query. */
export interface QueryScore {
  /** 0-based filtered rank of the first positive. */
  readonly firstHit: number;
  /** Average precision (see {@link ApMode}). */
  readonly ap: number;
  /** Inverse negative penalty: #positives / (1-based rank of the hardest positive). */
  readonly inp: number;
}

/** Reusable scratch buffers for {@link scoreQuery}. */
export interface ScoreScratch {
  hist: Int32Array;
  posD: Float64Array;
  start: Int32Array;
}

/** Fresh scratch buffers (grown on demand). */
export function createScoreScratch(): ScoreScratch {
  return { hist: new Int32Array(65), posD: new Float64Array(64), start: new Int32Array(257) };
}

/**
 * Classification of one query's gallery: `positives` are the (non-junk) matches; gallery index g is a
 * negative (a non-match that counts in the ranking) iff `key[g] !== target` — junk shares the target key.
 */
export interface QueryLabels {
  readonly positives: Int32Array;
  readonly numPositives: number;
  readonly key: Int32Array;
  readonly target: number;
}

/** Bucket of distance d: floor((d − first) · scale) clamped to [0, bins − 1]; monotone in d. */
function bucketOf(d: number, first: number, scale: number, bins: number): number {
  const x = (d - first) * scale;
  return x < 1 ? 0 : x >= bins ? bins - 1 : x | 0; // bins ≤ 4096: `| 0` is floor here
}

function precedes(row: Float32Array, off: number, a: number, b: number): boolean {
  const da = row[off + a];
  const db = row[off + b];
  return da < db || (da === db && a < b);
}

/**
 * Score one query from its distance row `row[off … off + ng)` and its labels. Returns null when the query
 * has no positive (it is skipped). Throws on NaN distances (they have no rank).
 */
export function scoreQuery(
  row: Float32Array,
  off: number,
  ng: number,
  labels: QueryLabels,
  apMode: ApMode,
  scratch: ScoreScratch,
): QueryScore | null {
  const numPos = labels.numPositives;
  if (numPos === 0) return null;
  const pos = labels.positives.subarray(0, numPos);
  for (let i = 0; i < numPos; i++) {
    if (Number.isNaN(row[off + pos[i]])) throw new Error(`ranking: NaN distance at gallery index ${pos[i]}`);
  }
  pos.sort((a, b) => (precedes(row, off, a, b) ? -1 : precedes(row, off, b, a) ? 1 : 0));
  if (scratch.hist.length < numPos + 1) scratch.hist = new Int32Array(2 * numPos + 1);
  if (scratch.posD.length < numPos) scratch.posD = new Float64Array(2 * numPos);
  const hist = scratch.hist;
  const posD = scratch.posD;
  hist.fill(0, 0, numPos + 1);
  for (let i = 0; i < numPos; i++) posD[i] = row[off + pos[i]];

  const { key, target } = labels;
  const lastIdx = pos[numPos - 1];
  const lastD = posD[numPos - 1];
  // Bucket table over [first, last] positive distance: the positives of bucket b are [start[b], start[b+1]).
  // bucketOf is monotone in d, so a negative only needs searching among the positives of its own bucket.
  const firstD = posD[0];
  const bins = Math.min(4096, 4 * numPos);
  const scale = lastD > firstD ? bins / (lastD - firstD) : 0;
  if (scratch.start.length < bins + 1) scratch.start = new Int32Array(2 * bins + 1);
  const start = scratch.start;
  start.fill(0, 0, bins + 1);
  for (let i = 0; i < numPos; i++) start[bucketOf(posD[i], firstD, scale, bins) + 1] += 1;
  for (let b = 0; b < bins; b++) start[b + 1] += start[b];
  for (let g = 0; g < ng; g++) {
    const d = row[off + g];
    if (d > lastD || (d === lastD && g >= lastIdx)) continue;
    if (d !== d) throw new Error(`ranking: NaN distance at gallery index ${g}`);
    if (key[g] === target) continue;
    const x = (d - firstD) * scale; // bucketOf(d), inlined by hand (hot loop)
    const b = x < 1 ? 0 : x >= bins ? bins - 1 : x | 0;
    let lo = start[b];
    let hi = start[b + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const dp = posD[mid];
      if (dp < d || (dp === d && pos[mid] < g)) lo = mid + 1;
      else hi = mid;
    }
    hist[lo] += 1;
  }
  let negBefore = 0;
  let apSum = 0;
  let rank = 0;
  for (let i = 0; i < numPos; i++) {
    negBefore += hist[i];
    rank = i + negBefore; // 0-based filtered rank of the (i+1)-th hit
    const precision = (i + 1) / (rank + 1);
    if (apMode === 'non-interpolated') apSum += precision;
    else apSum += ((rank === 0 ? 1 : i / rank) + precision) / 2;
  }
  return { firstHit: hist[0], ap: apSum / numPos, inp: numPos / (rank + 1) };
}
