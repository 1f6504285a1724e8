/**
 * Dataset evaluation protocols (PROTOCOLS.md): VeRi-776, VehicleID and VeRi-Wild. A protocol owns the whole
 * pipeline from features to metrics, so the protocol id it stamps on every result states exactly what was
 * done: `<dataset>/<re-ranking>[/<aqe>]/<distance>/<ap>`, e.g. `veri776/no-rr/cosine/non-interp` or
 * `veri776/rr(k1=20,k2=6,lambda=0.3)/aqe(k=5,alpha=3)/cosine/trapezoid`. αQE works on the unit sphere (query
 * and gallery L2-normalised before the configured distance), so every protocol is invariant to the features' scale.
 */
import { VEHICLEID_EVAL_SIZES, VEHICLEID_FACTS, VERIWILD_FACTS, VERIWILD_TEST_SIZES, vehicleIdDraw, type VehicleIdEvalSize, type VeriWildTestSize } from '@clip-senet/core/base';
import { alphaQueryExpansion, l2NormaliseRows } from './aqe';
import { computeDistances, computeSelfDistances, distanceBlocks } from './distance';
import type { DistanceBlock, DistanceMetric, Gemm } from './distance';
import { assertFiniteRows } from './finite';
import type { DistancePool } from './parallel-distance';
import type { ApMode } from './query-score';
import { evaluateRanking } from './ranking';
import { kReciprocalRerank } from './rerank';
import { createRankingEvaluator } from './streaming';
import type { GoodJunkLists, RankingResult } from './streaming';

/** Features with their labels; `features` is row-major [n × dim]. */
export interface LabelledFeatures {
  readonly features: Float32Array;
  readonly ids: ArrayLike<number>;
  /** Camera ids (required where same-camera matches are junk). */
  readonly cams?: ArrayLike<number>;
  /** Where the rows come from (e.g. the list file); named in errors about an empty or non-finite split. */
  readonly source?: string;
}

/** k-reciprocal re-ranking parameters (defaults 20 / 6 / 0.3). */
export interface RerankParams {
  readonly k1?: number;
  readonly k2?: number;
  readonly lambda?: number;
}

/** Alpha query expansion parameters (defaults k = 5, alpha = 3, query side only). */
export interface AqeParams {
  readonly k?: number;
  readonly alpha?: number;
  readonly expandGallery?: boolean;
}

/** A ranking result stamped with the protocol that produced it. */
export interface ProtocolResult extends RankingResult {
  readonly protocolId: string;
}

const AP_TAG: Record<ApMode, string> = { 'non-interpolated': 'non-interp', trapezoid: 'trapezoid' };

/** Build a protocol id string (see the module header). */
export function protocolId(dataset: string, metric: DistanceMetric, ap: ApMode, rerank?: RerankParams | false, aqe?: AqeParams | false): string {
  const parts = [dataset];
  if (rerank) parts.push(`rr(k1=${rerank.k1 ?? 20},k2=${rerank.k2 ?? 6},lambda=${rerank.lambda ?? 0.3})`);
  else parts.push('no-rr');
  if (aqe) parts.push(`aqe(k=${aqe.k ?? 5},alpha=${aqe.alpha ?? 3}${aqe.expandGallery ? ',gallery' : ''})`);
  parts.push(metric, AP_TAG[ap]);
  return parts.join('/');
}

/**
 * Rows of one split, checked: the length is a multiple of dim, the split is not empty and every feature is
 * finite. Errors name the protocol, the split and its source.
 */
function splitRows(protocol: string, split: 'query' | 'gallery' | 'test', f: LabelledFeatures, dim: number): number {
  const source = f.source !== undefined ? ` (${f.source})` : '';
  if (!Number.isInteger(dim) || dim <= 0 || f.features.length % dim !== 0) {
    throw new Error(`${protocol}: ${split} features${source}: length ${f.features.length} is not a multiple of dim ${dim}`);
  }
  const n = f.features.length / dim;
  if (n === 0) throw new Error(`${protocol}: no valid query: the ${split} list${source} is empty`);
  assertFiniteRows(f.features, dim, `${protocol}: ${split} features${source}`);
  return n;
}

/** Where the evaluator's "no valid query" error says the rows come from. */
function sources(query: LabelledFeatures, gallery: LabelledFeatures): { querySource?: string; gallerySource?: string } {
  return { ...(query.source !== undefined ? { querySource: query.source } : {}), ...(gallery.source !== undefined ? { gallerySource: gallery.source } : {}) };
}

/**
 * αQE as the protocols apply it: the expanded queries are unit vectors, so the gallery is put on the unit sphere
 * too (expanded, or L2-normalised) before the configured distance — distances and metrics then do not depend on
 * the features' scale. Cosine ignores row norms, so there the un-expanded gallery is passed as given (normalising
 * it would only change float32 rounding).
 */
function expandForProtocol(q: Float32Array, g: Float32Array, dim: number, metric: DistanceMetric, aqe: AqeParams, gemm?: Gemm): { q: Float32Array; g: Float32Array } {
  const expanded = alphaQueryExpansion({ query: q, gallery: g, dim, ...aqe, gemm });
  const unitGallery = aqe.expandGallery || metric === 'cosine' ? expanded.gallery : l2NormaliseRows(g, dim);
  return { q: expanded.query, g: unitGallery };
}

/** Options of {@link veri776}. */
export interface Veri776Options {
  /** Inner-product provider for the distances (default: the TS kernel); see {@link Gemm}. */
  readonly gemm?: Gemm;
  readonly metric?: DistanceMetric;
  readonly ap?: ApMode;
  readonly maxRank?: number;
  readonly rerank?: RerankParams | false;
  readonly aqe?: AqeParams | false;
  /** Official gt_index / jk_index lists (0-based); replace the same-id same-camera junk rule. */
  readonly goodJunk?: GoodJunkLists;
}

/** Input of a query/gallery protocol. */
export interface QueryGalleryInput {
  readonly query: LabelledFeatures;
  readonly gallery: LabelledFeatures;
  readonly dim: number;
}

/** How gallery image `g` counts for query `q` under a protocol: a true match, junk (left out of the ranking), or neither. */
export type Relevance = 'good' | 'junk' | 'other';
/** The labels a relevance rule reads. */
export interface RelevanceLabels {
  readonly query: Pick<LabelledFeatures, 'ids' | 'cams'>;
  readonly gallery: Pick<LabelledFeatures, 'ids' | 'cams'>;
}
/** A protocol's good/junk rule, as its evaluation applies it; ranked lists and figures read it from the protocol. */
export type RelevanceRule = (labels: RelevanceLabels, q: number, g: number) => Relevance;

/** VeRi-776 / VeRi-Wild: the query's identity from another camera is good, from the same camera junk. */
export const cameraJunkRule: RelevanceRule = ({ query, gallery }, q, g) => {
  if (gallery.ids[g] !== query.ids[q]) return 'other';
  if (!query.cams || !gallery.cams) throw new Error('the same-camera junk rule needs camera ids for the query and gallery');
  return gallery.cams[g] === query.cams[q] ? 'junk' : 'good';
};

/** VehicleID: the query's identity is good, nothing is junk (no camera ids). */
export const identityRule: RelevanceRule = ({ query, gallery }, q, g) => (gallery.ids[g] === query.ids[q] ? 'good' : 'other');

/** The official VeRi-776 good/junk lists (gt_index / jk_index), 0-based per query. */
export function listRule(lists: GoodJunkLists): RelevanceRule {
  const sets = new Map<number, { good: Set<number>; junk: Set<number> }>();
  return (_labels, q, g) => {
    let s = sets.get(q);
    if (!s) sets.set(q, (s = { good: new Set(Array.from(lists.good[q] ?? [])), junk: new Set(Array.from(lists.junk[q] ?? [])) }));
    return s.good.has(g) ? 'good' : s.junk.has(g) ? 'junk' : 'other';
  };
}

/** A protocol evaluated on one query/gallery split. */
export interface QueryGalleryProtocol {
  readonly id: string;
  /** The feature distance the ranking starts from (before query expansion or re-ranking, where the id names them). */
  readonly metric: DistanceMetric;
  /** The good/junk rule `evaluate` applies. */
  readonly relevance: RelevanceRule;
  evaluate(input: QueryGalleryInput): ProtocolResult;
}

/**
 * Parse a VeRi-776 `gt_index.txt` / `jk_index.txt`: line q lists the 1-based indices (into `name_test.txt`)
 * of query q's good / junk gallery images, separated by whitespace. Returns 0-based lists for `goodJunk`.
 */
export function parseVeri776IndexFile(text: string, numGallery?: number): Int32Array[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.map((line, q) => {
    const tokens = line.trim() === '' ? [] : line.trim().split(/\s+/);
    return Int32Array.from(tokens, (t) => {
      const v = Number(t);
      if (!Number.isInteger(v) || v < 1 || (numGallery !== undefined && v > numGallery)) {
        throw new Error(`parseVeri776IndexFile: line ${q + 1}: bad gallery index '${t}'`);
      }
      return v - 1;
    });
  });
}

/**
 * VeRi-776: 1,678 queries × 11,579 gallery images; same-id same-camera gallery images are junk (or the
 * official good/junk lists); optional αQE and k-reciprocal re-ranking; dense evaluation.
 */
export function veri776(options: Veri776Options = {}): QueryGalleryProtocol {
  const metric = options.metric ?? 'cosine';
  const ap = options.ap ?? 'non-interpolated';
  const id = protocolId(options.goodJunk ? 'veri776-gtjk' : 'veri776', metric, ap, options.rerank, options.aqe);
  return {
    id,
    metric,
    relevance: options.goodJunk ? listRule(options.goodJunk) : cameraJunkRule,
    evaluate({ query, gallery, dim }) {
      const nq = splitRows('veri776', 'query', query, dim);
      const ng = splitRows('veri776', 'gallery', gallery, dim);
      let q = query.features;
      let g = gallery.features;
      if (options.aqe) ({ q, g } = expandForProtocol(q, g, dim, metric, options.aqe, options.gemm));
      const gemmOption = { gemm: options.gemm };
      let distmat = computeDistances(q, g, dim, metric, gemmOption);
      if (options.rerank) {
        const qq = computeSelfDistances(q, dim, metric, gemmOption);
        const gg = computeSelfDistances(g, dim, metric, gemmOption);
        distmat = kReciprocalRerank({ qg: distmat, qq, gg, numQuery: nq, numGallery: ng, ...options.rerank });
      }
      const result = evaluateRanking({
        distmat,
        numQuery: nq,
        numGallery: ng,
        queryIds: query.ids,
        galleryIds: gallery.ids,
        queryCams: query.cams,
        galleryCams: gallery.cams,
        maxRank: options.maxRank,
        ap,
        ...(options.goodJunk ? { goodJunk: options.goodJunk } : {}),
        ...sources(query, gallery),
      });
      return { ...result, protocolId: id };
    },
  };
}

/** Published VeRi-Wild test-split sizes (PROTOCOLS.md; core's dataset facts). */
export const VERI_WILD_COUNTS = VERIWILD_FACTS.tests;

/** Options of {@link veriWild}. */
export interface VeriWildOptions {
  readonly testSize: VeriWildTestSize;
  /** Inner-product provider for the distances (default: the TS kernel); see {@link Gemm}. */
  readonly gemm?: Gemm;

  readonly metric?: DistanceMetric;
  readonly ap?: ApMode;
  readonly maxRank?: number;
  readonly aqe?: AqeParams | false;
  /** Query rows per distance block (default 64: 64 × 128,517 float32 = 33 MB). */
  readonly blockSize?: number;
}

/** VeRi-Wild result: also says whether the split sizes match the published counts. */
export interface VeriWildResult extends ProtocolResult {
  readonly countsMatchPublished: boolean;
}

/** The VeRi-Wild protocol object returned by {@link veriWild}. */
export interface VeriWildProtocol {
  readonly id: string;
  readonly metric: DistanceMetric;
  readonly relevance: RelevanceRule;
  evaluate(input: QueryGalleryInput): VeriWildResult;
  /** Same result (bit-identical), distances computed on a worker pool. */
  evaluateParallel(input: QueryGalleryInput, pool: DistancePool): Promise<VeriWildResult>;
}

/**
 * VeRi-Wild Small / Medium / Large: same-id same-camera junk as VeRi-776, evaluated by streaming query
 * blocks (never the full matrix: Large's would be 5.1 GB). Re-ranking is not offered at this scale.
 */
export function veriWild(options: VeriWildOptions): VeriWildProtocol {
  const published = VERI_WILD_COUNTS[options.testSize];
  if (published === undefined) throw new Error(`veriWild: testSize must be one of ${VERIWILD_TEST_SIZES.join(', ')}, got ${options.testSize}`);
  const metric = options.metric ?? 'cosine';
  const ap = options.ap ?? 'non-interpolated';
  const id = protocolId(`veriwild-${published.name}`, metric, ap, false, options.aqe);
  const prepare = ({ query, gallery, dim }: QueryGalleryInput) => {
    const nq = splitRows('veriWild', 'query', query, dim);
    const ng = splitRows('veriWild', 'gallery', gallery, dim);
    let q = query.features;
    let g = gallery.features;
    if (options.aqe) ({ q, g } = expandForProtocol(q, g, dim, metric, options.aqe, options.gemm));
    const evaluator = createRankingEvaluator({
      numQuery: nq,
      numGallery: ng,
      queryIds: query.ids,
      galleryIds: gallery.ids,
      queryCams: query.cams,
      galleryCams: gallery.cams,
      maxRank: options.maxRank,
      ap,
      ...sources(query, gallery),
    });
    const finish = (): VeriWildResult => ({
      ...evaluator.result(),
      protocolId: id,
      countsMatchPublished: nq === published.query && ng === published.gallery,
    });
    return { q, g, dim, evaluator, finish, blockOptions: { blockSize: options.blockSize ?? 64, gemm: options.gemm } };
  };
  return {
    id,
    metric,
    relevance: cameraJunkRule,
    evaluate(input) {
      const { q, g, dim, evaluator, finish, blockOptions } = prepare(input);
      for (const block of distanceBlocks(q, g, dim, metric, blockOptions)) evaluator.addQueryBlock(block);
      return finish();
    },
    async evaluateParallel(input, pool) {
      if (options.gemm) throw new Error('veriWild.evaluateParallel: the worker pool computes distances with the TS kernel; use evaluate() with a gemm provider instead');
      const { q, g, dim, evaluator, finish, blockOptions } = prepare(input);
      const blocks: AsyncIterable<DistanceBlock> = pool.distanceBlocks(q, g, dim, metric, blockOptions);
      for await (const block of blocks) evaluator.addQueryBlock(block);
      return finish();
    },
  };
}

/** One VehicleID draw: indices into the test set. */
export interface VehicleIdDraw {
  readonly seed: number;
  readonly query: Int32Array;
  readonly gallery: Int32Array;
}

/**
 * The VehicleID draw: identities in ascending id order, each identity's images in input order; one image,
 * chosen with `new Rng(seed).int(count)`, goes to the gallery and the rest to the query set (core's `vehicleIdDraw`). This is the
 * rule of `vehicleIdQueryGallery` in @clip-senet/datasets when the test set is given in path order.
 */
export function drawVehicleIdSplit(ids: ArrayLike<number>, seed: number): VehicleIdDraw {
  const { query, gallery } = vehicleIdDraw(ids, seed);
  return { seed, query: Int32Array.from(query), gallery: Int32Array.from(gallery) };
}

/** Mean and population standard deviation (÷ n) over VehicleID draws — not the seed statistics of the reports (sample std, ÷ n − 1). */
export interface DrawStats {
  readonly mean: number;
  readonly std: number;
}

/** VehicleID result: every draw plus mean ± std of Rank-1, Rank-5, mAP (= MRR here) and mINP. */
export interface VehicleIdResult {
  readonly protocolId: string;
  readonly draws: readonly (RankingResult & { readonly seed: number })[];
  readonly rank1: DrawStats;
  readonly rank5: DrawStats;
  readonly mAP: DrawStats;
  readonly mINP: DrawStats;
}

/** Options of {@link vehicleId}. */
export interface VehicleIdOptions {
  readonly testSize: VehicleIdEvalSize;
  /** Inner-product provider for the distances (default: the TS kernel); see {@link Gemm}. */
  readonly gemm?: Gemm;

  /** Number of draws (default 10); draw r uses seed `seed + r`. */
  readonly repeats?: number;
  readonly seed?: number;
  readonly metric?: DistanceMetric;
  readonly maxRank?: number;
}

function meanStd(xs: readonly number[]): DrawStats {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / xs.length) };
}

/** The VehicleID protocol object returned by {@link vehicleId}. */
export interface VehicleIdProtocol {
  readonly id: string;
  readonly metric: DistanceMetric;
  /** Within one draw: {@link identityRule}. */
  readonly relevance: RelevanceRule;
  evaluate(input: { readonly test: LabelledFeatures; readonly dim: number }): VehicleIdResult;
}

/**
 * VehicleID (800 / 1600 / 2400): per draw, one random image per identity forms the gallery and the rest the
 * query set; no camera ids, no junk; `repeats` seeded draws reported as mean ± std. Re-ranking is not
 * offered (one gallery image per identity).
 */
export function vehicleId(options: VehicleIdOptions): VehicleIdProtocol {
  if (!(VEHICLEID_EVAL_SIZES as readonly number[]).includes(options.testSize)) throw new Error(`vehicleId: testSize must be ${VEHICLEID_EVAL_SIZES.join(', ')}, got ${options.testSize}`);
  const repeats = options.repeats ?? VEHICLEID_FACTS.draws;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`vehicleId: repeats must be a positive integer, got ${repeats}`);
  const metric = options.metric ?? 'cosine';
  const id = `${protocolId(`vehicleid-${options.testSize}`, metric, 'non-interpolated')}/draws=${repeats},seeds=${seed}..${seed + repeats - 1}`;
  return {
    id,
    metric,
    relevance: identityRule,
    evaluate({ test, dim }) {
      const n = splitRows('vehicleId', 'test', test, dim);
      if (test.ids.length !== n) throw new Error(`vehicleId: ${test.ids.length} ids for ${n} feature rows`);
      const draws: (RankingResult & { seed: number })[] = [];
      for (let r = 0; r < repeats; r++) {
        const draw = drawVehicleIdSplit(test.ids, seed + r);
        const pick = (rows: Int32Array): Float32Array => {
          const out = new Float32Array(rows.length * dim);
          rows.forEach((row, i) => out.set(test.features.subarray(row * dim, (row + 1) * dim), i * dim));
          return out;
        };
        const evaluator = createRankingEvaluator({
          numQuery: draw.query.length,
          numGallery: draw.gallery.length,
          queryIds: Int32Array.from(draw.query, (i) => test.ids[i]),
          galleryIds: Int32Array.from(draw.gallery, (i) => test.ids[i]),
          excludeSameCamera: false,
          maxRank: options.maxRank,
        });
        for (const block of distanceBlocks(pick(draw.query), pick(draw.gallery), dim, metric, { blockSize: 256, gemm: options.gemm })) {
          evaluator.addQueryBlock(block);
        }
        draws.push({ ...evaluator.result(), seed: seed + r });
      }
      return {
        protocolId: id,
        draws,
        rank1: meanStd(draws.map((d) => d.cmc[0])),
        rank5: meanStd(draws.map((d) => d.cmc[Math.min(4, d.cmc.length - 1)])),
        mAP: meanStd(draws.map((d) => d.mAP)),
        mINP: meanStd(draws.map((d) => d.mINP)),
      };
    },
  };
}
