/** The retrieval metrics every evaluation result carries, as fractions in [0, 1], in the order tables show them. */
export const RETRIEVAL_METRICS = ['mAP', 'rank1', 'rank5', 'rank10', 'mINP'] as const;
/** One retrieval metric. */
export type RetrievalMetric = (typeof RETRIEVAL_METRICS)[number];
/** A value of every retrieval metric. */
export type RetrievalMetrics = Readonly<Record<RetrievalMetric, number>>;
