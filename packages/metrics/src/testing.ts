/**
 * Test helpers: seeded random re-ID problems and a naive full-sort evaluator (the textbook definition,
 * used to cross-check the counting evaluator). Not part of the package's public API.
 */
import type { Rng } from '@clip-senet/core/base';
import type { ApMode } from './query-score';

/** A random labelled problem with a dense distance matrix. */
export interface RandomProblem {
  numQuery: number;
  numGallery: number;
  distmat: Float32Array;
  queryIds: Int32Array;
  galleryIds: Int32Array;
  queryCams: Int32Array;
  galleryCams: Int32Array;
}

/** Random problem; `levels` > 0 quantises distances to that many values (exact ties). */
export function randomProblem(rng: Rng, nq: number, ng: number, numIds: number, numCams: number, levels = 0): RandomProblem {
  const distmat = new Float32Array(nq * ng);
  for (let i = 0; i < distmat.length; i++) distmat[i] = levels > 0 ? rng.int(levels) / levels : rng.float();
  const ints = (n: number, k: number): Int32Array => Int32Array.from({ length: n }, () => rng.int(k));
  return {
    numQuery: nq,
    numGallery: ng,
    distmat,
    queryIds: ints(nq, numIds + 1),
    galleryIds: ints(ng, numIds),
    queryCams: ints(nq, numCams),
    galleryCams: ints(ng, numCams),
  };
}

/** Naive evaluator: full stable sort per query, junk filter, then the definitions verbatim. */
export function naiveEvaluate(p: RandomProblem, excludeSameCamera: boolean, ap: ApMode, maxRank = 50) {
  const cmcLen = Math.min(maxRank, p.numGallery);
  const cmc = new Float64Array(cmcLen);
  let apSum = 0;
  let inpSum = 0;
  let valid = 0;
  for (let q = 0; q < p.numQuery; q++) {
    const row = p.distmat.subarray(q * p.numGallery, (q + 1) * p.numGallery);
    const order = Array.from({ length: p.numGallery }, (_, g) => g).sort((a, b) => row[a] - row[b] || a - b);
    const matches: boolean[] = [];
    for (const g of order) {
      const same = p.galleryIds[g] === p.queryIds[q];
      if (same && excludeSameCamera && p.galleryCams[g] === p.queryCams[q]) continue;
      matches.push(same);
    }
    const numPos = matches.filter(Boolean).length;
    if (numPos === 0) continue;
    valid++;
    let hits = 0;
    let sum = 0;
    let prevPrecision = 1;
    let last = 0;
    matches.forEach((m, r) => {
      if (m) {
        hits++;
        last = r;
        if (hits === 1) for (let k = r; k < cmcLen; k++) cmc[k] += 1;
      }
      const precision = hits / (r + 1);
      if (m) sum += ap === 'non-interpolated' ? precision : (prevPrecision + precision) / 2;
      prevPrecision = precision;
    });
    apSum += sum / numPos;
    inpSum += numPos / (last + 1);
  }
  return { cmc: cmc.map((c) => c / valid), mAP: apSum / valid, mINP: inpSum / valid, numValidQueries: valid };
}
