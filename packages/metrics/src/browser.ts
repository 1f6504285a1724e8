/**
 * @clip-senet/metrics for the browser: distances, ranking metrics, post-processing and the protocols — everything
 * but the worker-thread distance pool (`createDistancePool`, Node's worker_threads), which stays in `./index`.
 */

// distances
export { computeDistances, computeSelfDistances, distanceBlocks, squaredNorms } from './distance';
export type { DistanceMetric, DistanceBlock, DistanceBlockOptions, DistanceOptions, Gemm } from './distance';

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
export type { LabelledFeatures, ProtocolResult, QueryGalleryInput, QueryGalleryProtocol, Relevance, RelevanceLabels, RelevanceRule, Veri776Options, DrawStats } from './protocols';
export { RETRIEVAL_METRICS } from './metric-names';
export type { RetrievalMetric, RetrievalMetrics } from './metric-names';
