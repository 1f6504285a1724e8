/**
 * @clip-senet/metrics — exact re-ID evaluation over typed arrays (no tf): distances, CMC / mAP / mINP
 * (dense and streaming), dataset protocols, k-reciprocal re-ranking and alpha query expansion.
 */

// the metric names every result carries
export { RETRIEVAL_METRICS } from './metric-names';
export type { RetrievalMetric, RetrievalMetrics } from './metric-names';

// distances
export { computeDistances, computeSelfDistances, distanceBlocks, squaredNorms } from './distance';
export type { DistanceMetric, DistanceBlock, DistanceBlockOptions, DistanceOptions, Gemm } from './distance';
export { createDistancePool } from './parallel-distance';
export type { DistancePool, DistancePoolOptions } from './parallel-distance';

// ranking metrics
export { evaluateRanking } from './ranking';
export type { EvaluateRankingInput } from './ranking';
export { createRankingEvaluator } from './streaming';
export type { RankingEvaluator, RankingEvaluatorOptions, RankingResult, QueryBlockInput, GoodJunkLists } from './streaming';
export type { ApMode } from './query-score';
export { selectTopK } from './topk';

// post-processing
export { kReciprocalRerank } from './rerank';
export type { RerankInput } from './rerank';
export { alphaQueryExpansion, l2NormaliseRows } from './aqe';
export type { AqeInput, AqeResult } from './aqe';

// non-finite guard
export { assertFiniteRows, findNonFiniteRows, nonFiniteMessage } from './finite';
export type { NonFiniteRows, FiniteCheckOptions } from './finite';

// dataset protocols
export { veri776, veriWild, vehicleId, drawVehicleIdSplit, parseVeri776IndexFile, protocolId, VERI_WILD_COUNTS, cameraJunkRule, identityRule, listRule } from './protocols';
export type {
  LabelledFeatures,
  RerankParams,
  AqeParams,
  ProtocolResult,
  QueryGalleryInput,
  QueryGalleryProtocol,
  Relevance,
  RelevanceLabels,
  RelevanceRule,
  Veri776Options,
  VeriWildOptions,
  VeriWildResult,
  VeriWildProtocol,
  VehicleIdOptions,
  VehicleIdProtocol,
  VehicleIdResult,
  VehicleIdDraw,
  DrawStats,
} from './protocols';
