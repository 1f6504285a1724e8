/**
 * Dense re-ID ranking evaluation: CMC, mAP and mINP from a full query × gallery distance matrix
 * (PROTOCOLS.md "Metrics"; mINP from Ye et al., "Deep Learning for Person Re-identification", TPAMI 2021).
 *
 * Definitions (per query; the gallery ranked by (distance, gallery index) ascending, junk removed):
 * - CMC: 1 from the filtered rank of the first positive onwards; averaged over valid queries.
 * - AP, non-interpolated: mean over hits of precision at the hit.
 *   AP, trapezoid (official VeRi-776 MATLAB): Σ over hits of (precision before + precision at hit) / 2 / #positives,
 *   "precision before" being the precision at the previous filtered rank (1 at rank 1).
 * - INP: #positives / (1-based filtered rank of the last positive).
 * Queries without any positive are skipped and counted.
 */
import { createRankingEvaluator } from './streaming';
import type { RankingEvaluatorOptions, RankingResult } from './streaming';

/** Input of {@link evaluateRanking}: the evaluator options plus the dense [numQuery × numGallery] matrix. */
export interface EvaluateRankingInput extends RankingEvaluatorOptions {
  readonly distmat: Float32Array;
}

/** Evaluate a dense distance matrix (row-major float32, ascending = more similar). */
export function evaluateRanking(input: EvaluateRankingInput): RankingResult {
  const { distmat, ...options } = input;
  if (distmat.length !== options.numQuery * options.numGallery) {
    throw new Error(`evaluateRanking: distmat length ${distmat.length}, expected ${options.numQuery} × ${options.numGallery}`);
  }
  const evaluator = createRankingEvaluator(options);
  evaluator.addQueryBlock({ start: 0, count: options.numQuery, distances: distmat });
  return evaluator.result();
}
