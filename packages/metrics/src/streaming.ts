/**
 * Streaming ranking evaluator: CMC / mAP / mINP over query blocks of the distance matrix, for galleries whose
 * full matrix does not fit in memory (VeRi-Wild Large: 10,000 × 128,517 float32 = 5.1 GB; PROTOCOLS.md).
 *
 * Memory: O(nq + ng) besides the caller's block. Per-query values are stored and summed in query order at
 * `result()`, so the figures are bit-identical whatever the block size or the order blocks arrive in, and
 * identical to {@link evaluateRanking} on the dense matrix.
 */
import { findNonFiniteRows, nonFiniteMessage } from './finite';
import { createScoreScratch, scoreQuery } from './query-score';
import type { ApMode, QueryLabels } from './query-score';

/** Per-query official good/junk gallery indices (e.g. VeRi-776 gt_index.txt / jk_index.txt, 0-based). */
export interface GoodJunkLists {
  readonly good: readonly ArrayLike<number>[];
  readonly junk: readonly ArrayLike<number>[];
}

/** Labels and protocol switches shared by the dense and streaming evaluators. */
export interface RankingEvaluatorOptions {
  readonly numQuery: number;
  readonly numGallery: number;
  readonly queryIds: ArrayLike<number>;
  readonly galleryIds: ArrayLike<number>;
  /** Required when `excludeSameCamera` is true. */
  readonly queryCams?: ArrayLike<number>;
  readonly galleryCams?: ArrayLike<number>;
  /** Length of the CMC curve (clipped to numGallery); default 50. */
  readonly maxRank?: number;
  /** Remove same-id same-camera gallery entries as junk (VeRi-776, VeRi-Wild); default true. */
  readonly excludeSameCamera?: boolean;
  /** AP integration; default 'non-interpolated'. */
  readonly ap?: ApMode;
  /** Official per-query good/junk lists; when given they replace the id/camera rule. */
  readonly goodJunk?: GoodJunkLists;
  /** Where the query rows come from (e.g. their list file); named in the "no valid query" error. */
  readonly querySource?: string;
  /** Where the gallery rows come from; named in the "no valid query" error. */
  readonly gallerySource?: string;
}

/** Aggregated ranking metrics over the valid queries. */
export interface RankingResult {
  /** cmc[k] = fraction of valid queries whose first match is within the top k+1. */
  readonly cmc: Float64Array;
  readonly mAP: number;
  readonly mINP: number;
  readonly numValidQueries: number;
  /** Queries with no positive left after junk removal (not counted in the means). */
  readonly numSkippedQueries: number;
  /** AP integration that produced `mAP`. */
  readonly ap: ApMode;
  /** AP per query (NaN for skipped queries). */
  readonly apPerQuery: Float64Array;
}

/** A block of query rows: `distances` is row-major [count × numGallery]. */
export interface QueryBlockInput {
  readonly start: number;
  readonly count: number;
  readonly distances: Float32Array;
}

/** Incremental evaluator returned by {@link createRankingEvaluator}. */
export interface RankingEvaluator {
  /**
   * Score query rows [start, start + count); each query must be added exactly once. Throws when a distance is
   * NaN or ±Infinity (counting the bad rows of the block and naming the first query row and gallery column).
   */
  addQueryBlock(block: QueryBlockInput): void;
  /** Number of queries added so far. */
  readonly numAdded: number;
  /** Aggregate; throws if a query is missing or none is valid (saying which list is empty or has no match). */
  result(): RankingResult;
}

function checkLength(name: string, arr: ArrayLike<number> | undefined, n: number): void {
  if (arr === undefined) throw new Error(`ranking: ${name} is required`);
  if (arr.length !== n) throw new Error(`ranking: ${name} has length ${arr.length}, expected ${n}`);
}

function validate(o: RankingEvaluatorOptions): void {
  for (const [k, v] of [['numQuery', o.numQuery], ['numGallery', o.numGallery]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`ranking: ${k} must be a non-negative integer, got ${v}`);
  }
  checkLength('queryIds', o.queryIds, o.numQuery);
  checkLength('galleryIds', o.galleryIds, o.numGallery);
  if ((o.excludeSameCamera ?? true) && o.goodJunk === undefined) {
    checkLength('queryCams (excludeSameCamera is on)', o.queryCams, o.numQuery);
    checkLength('galleryCams (excludeSameCamera is on)', o.galleryCams, o.numGallery);
  }
  if (o.goodJunk !== undefined) {
    if (o.goodJunk.good.length !== o.numQuery || o.goodJunk.junk.length !== o.numQuery) {
      throw new Error(`ranking: goodJunk lists must have one entry per query (${o.numQuery})`);
    }
  }
  const maxRank = o.maxRank ?? 50;
  if (!Number.isInteger(maxRank) || maxRank <= 0) throw new Error(`ranking: maxRank must be a positive integer, got ${maxRank}`);
}

/** Dense int32 codes 0… for the gallery identities (cheaper to compare in the hot loop than arbitrary numbers). */
function encodeIds(ids: ArrayLike<number>): { codes: Int32Array; codeOf: Map<number, number> } {
  const codeOf = new Map<number, number>();
  const codes = new Int32Array(ids.length);
  for (let g = 0; g < ids.length; g++) {
    let c = codeOf.get(ids[g]);
    if (c === undefined) codeOf.set(ids[g], (c = codeOf.size));
    codes[g] = c;
  }
  return { codes, codeOf };
}

/** Gallery indices of every identity, ascending (one O(ng) pass instead of one per query). */
function galleryIndexById(ids: Int32Array): Map<number, Int32Array> {
  const count = new Map<number, number>();
  for (const id of ids) count.set(id, (count.get(id) ?? 0) + 1);
  const lists = new Map<number, Int32Array>();
  for (const [id, c] of count) lists.set(id, new Int32Array(c));
  const fill = new Map<number, number>();
  ids.forEach((id, g) => {
    const k = fill.get(id) ?? 0;
    lists.get(id)![k] = g;
    fill.set(id, k + 1);
  });
  return lists;
}

/** Builds the labels of query q; reuses its buffers across queries. */
function createLabeler(o: RankingEvaluatorOptions): (q: number) => QueryLabels {
  const ng = o.numGallery;
  const { codes: gIds, codeOf } = encodeIds(o.galleryIds);
  let positives = new Int32Array(64);
  /** Make room for n positives before filling (the previous contents are not kept). */
  const reserve = (n: number): void => {
    if (positives.length < n) positives = new Int32Array(Math.max(n, 2 * positives.length));
  };
  if (o.goodJunk !== undefined) {
    const { good, junk } = o.goodJunk;
    const label = new Int8Array(ng); // 0 negative, 1 good, 2 junk
    const key = new Int32Array(ng); // 1 = not a negative
    let last = -1;
    return (q) => {
      if (last >= 0) {
        for (const g of Array.from(good[last])) label[g] = key[g] = 0;
        for (const g of Array.from(junk[last])) label[g] = key[g] = 0;
      }
      last = q;
      for (const g of Array.from(good[q])) {
        if (!Number.isInteger(g) || g < 0 || g >= ng) throw new Error(`ranking: good index ${g} of query ${q} out of range`);
        label[g] = key[g] = 1;
      }
      for (const g of Array.from(junk[q])) {
        if (!Number.isInteger(g) || g < 0 || g >= ng) throw new Error(`ranking: junk index ${g} of query ${q} out of range`);
        label[g] = 2; // junk wins over good
        key[g] = 1;
      }
      reserve(good[q].length);
      let n = 0;
      for (const g of Array.from(good[q])) if (label[g] === 1) {
        label[g] = 3; // de-duplicate
        positives[n++] = g;
      }
      for (let i = 0; i < n; i++) label[positives[i]] = 1;
      return { positives, numPositives: n, key, target: 1 };
    };
  }
  const exclude = o.excludeSameCamera ?? true;
  const gCams = o.galleryCams;
  const byId = galleryIndexById(gIds);
  const none = new Int32Array(0);
  return (q) => {
    const qid = codeOf.get(o.queryIds[q]) ?? -1; // -1: identity absent from the gallery
    const qcam = exclude ? o.queryCams![q] : 0;
    const same = byId.get(qid) ?? none;
    reserve(same.length);
    let n = 0;
    for (const g of same) if (!exclude || gCams![g] !== qcam) positives[n++] = g;
    return { positives, numPositives: n, key: gIds, target: qid };
  };
}

/** The "no valid query" error: which list is empty, or that no query has a positive under the junk rule. */
function noValidQueryMessage(o: RankingEvaluatorOptions): string {
  const q = o.querySource !== undefined ? ` (${o.querySource})` : '';
  const g = o.gallerySource !== undefined ? ` (${o.gallerySource})` : '';
  if (o.numQuery === 0) return `ranking: no valid query: the query list${q} is empty`;
  if (o.numGallery === 0) return `ranking: no valid query: the gallery list${g} is empty, so none of the ${o.numQuery} queries${q} can match`;
  const rule =
    o.goodJunk !== undefined
      ? 'has a good gallery index that is not also junk (official good/junk lists)'
      : (o.excludeSameCamera ?? true)
        ? 'has a same-id image from another camera (same-id same-camera images are junk)'
        : 'has a same-id image';
  return `ranking: no valid query: none of the ${o.numQuery} queries in the query list${q} ${rule} in the ${o.numGallery}-image gallery list${g}`;
}

/**
 * Create a streaming evaluator. Feed it {@link distanceBlocks} output (or any row blocks) and call
 * `result()` once every query has been added.
 */
export function createRankingEvaluator(options: RankingEvaluatorOptions): RankingEvaluator {
  validate(options);
  const nq = options.numQuery;
  const ng = options.numGallery;
  const apMode: ApMode = options.ap ?? 'non-interpolated';
  const cmcLen = Math.min(options.maxRank ?? 50, ng);
  const ap = new Float64Array(nq).fill(Number.NaN);
  const inp = new Float64Array(nq).fill(Number.NaN);
  const firstHit = new Int32Array(nq).fill(-1);
  const seen = new Uint8Array(nq);
  const labelsOf = createLabeler(options);
  const scratch = createScoreScratch();
  let numAdded = 0;
  return {
    get numAdded() {
      return numAdded;
    },
    addQueryBlock({ start, count, distances }) {
      if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > nq) {
        throw new Error(`addQueryBlock: rows [${start}, ${start + count}) outside [0, ${nq})`);
      }
      if (distances.length !== count * ng) {
        throw new Error(`addQueryBlock: distances length ${distances.length}, expected ${count} × ${ng}`);
      }
      const bad = ng > 0 ? findNonFiniteRows(distances, ng) : undefined;
      if (bad) {
        const what = count === nq ? 'ranking: distances' : `ranking: distances of query rows [${start}, ${start + count}) of ${nq}`;
        throw new Error(nonFiniteMessage(what, bad, { rowOffset: start, rowNoun: 'query row', columnNoun: 'gallery column' }));
      }
      for (let r = 0; r < count; r++) {
        const q = start + r;
        if (seen[q]) throw new Error(`addQueryBlock: query ${q} added twice`);
        seen[q] = 1;
        numAdded++;
        const s = scoreQuery(distances, r * ng, ng, labelsOf(q), apMode, scratch);
        if (s === null) continue;
        ap[q] = s.ap;
        inp[q] = s.inp;
        firstHit[q] = s.firstHit;
      }
    },
    result() {
      if (numAdded !== nq) throw new Error(`ranking: ${nq - numAdded} of ${nq} queries were never added`);
      const hits = new Float64Array(cmcLen);
      let apSum = 0;
      let inpSum = 0;
      let valid = 0;
      for (let q = 0; q < nq; q++) {
        if (firstHit[q] < 0) continue;
        valid++;
        apSum += ap[q];
        inpSum += inp[q];
        if (firstHit[q] < cmcLen) hits[firstHit[q]] += 1;
      }
      if (valid === 0) throw new Error(noValidQueryMessage(options));
      const cmc = new Float64Array(cmcLen);
      let cum = 0;
      for (let k = 0; k < cmcLen; k++) {
        cum += hits[k];
        cmc[k] = cum / valid;
      }
      return {
        cmc,
        mAP: apSum / valid,
        mINP: inpSum / valid,
        numValidQueries: valid,
        numSkippedQueries: nq - valid,
        ap: apMode,
        apPerQuery: ap.slice(),
      };
    },
  };
}
