import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { computeDistances, distanceBlocks } from './distance';
import { evaluateRanking } from './ranking';
import { createRankingEvaluator } from './streaming';

function features(rng: Rng, n: number, dim: number): Float32Array {
  return Float32Array.from({ length: n * dim }, () => rng.normal());
}

describe('createRankingEvaluator', () => {
  const rng = new Rng(21);
  const nq = 37;
  const ng = 211;
  const dim = 9;
  const q = features(rng, nq, dim);
  const g = features(rng, ng, dim);
  const labels = {
    numQuery: nq,
    numGallery: ng,
    queryIds: Int32Array.from({ length: nq }, () => rng.int(8)),
    galleryIds: Int32Array.from({ length: ng }, () => rng.int(8)),
    queryCams: Int32Array.from({ length: nq }, () => rng.int(3)),
    galleryCams: Int32Array.from({ length: ng }, () => rng.int(3)),
  };
  const dense = evaluateRanking({ ...labels, distmat: computeDistances(q, g, dim, 'cosine') });

  it.each([1, 5, 16, 64])('is bit-identical to the dense evaluator with blocks of %i queries', (blockSize) => {
    const ev = createRankingEvaluator(labels);
    for (const block of distanceBlocks(q, g, dim, 'cosine', { blockSize })) ev.addQueryBlock(block);
    const r = ev.result();
    expect(r.mAP).toBe(dense.mAP);
    expect(r.mINP).toBe(dense.mINP);
    expect(Array.from(r.cmc)).toEqual(Array.from(dense.cmc));
  });

  it('accepts blocks in any order', () => {
    const ev = createRankingEvaluator(labels);
    const blocks = [...distanceBlocks(q, g, dim, 'cosine', { blockSize: 6 })].reverse();
    for (const block of blocks) ev.addQueryBlock(block);
    expect(ev.numAdded).toBe(nq);
    expect(ev.result().mAP).toBe(dense.mAP);
  });

  it('rejects duplicated, missing and mis-shaped blocks', () => {
    const ev = createRankingEvaluator(labels);
    const [first] = distanceBlocks(q, g, dim, 'cosine', { blockSize: 4 });
    ev.addQueryBlock(first);
    expect(() => ev.addQueryBlock(first)).toThrow(/added twice/);
    expect(() => ev.result()).toThrow(/never added/);
    expect(() => ev.addQueryBlock({ start: 4, count: 2, distances: new Float32Array(3) })).toThrow(/distances length/);
    expect(() => ev.addQueryBlock({ start: nq, count: 1, distances: new Float32Array(ng) })).toThrow(/outside/);
  });
});
