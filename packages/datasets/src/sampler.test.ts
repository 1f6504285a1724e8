import { Rng } from '@clip-senet/core';
import { describe, expect, it } from 'vitest';
import { type PKSamplerState, createPKSampler, identityOf } from './sampler';
import type { Sample } from './sample';

/** 13 identities with 1..13 images each (several below K = 4), labelled 0..12. */
function samples(): Sample[] {
  const out: Sample[] = [];
  for (let id = 0; id < 13; id++) {
    for (let k = 0; k <= id; k++) out.push({ path: `/x/${id}_${k}.jpg`, vehicleId: 100 + id, cameraId: k % 3, label: id });
  }
  return out;
}
const counts = new Map<number, number>(Array.from({ length: 13 }, (_, id) => [id, id + 1]));

describe('createPKSampler', () => {
  const P = 4;
  const K = 4;

  it('gives P distinct ids × K images, repeating images only for ids with fewer than K', () => {
    const s = createPKSampler(samples(), { P, K, rng: new Rng(1) });
    for (let b = 0; b < 60; b++) {
      const batch = s.next().samples;
      expect(batch.length).toBe(P * K);
      const ids = batch.map(identityOf);
      expect(new Set(ids).size).toBe(P);
      for (let g = 0; g < P; g++) {
        const group = batch.slice(g * K, g * K + K);
        expect(new Set(group.map(identityOf)).size).toBe(1);
        const distinct = new Set(group.map((x) => x.path)).size;
        const n = counts.get(identityOf(group[0]!))!;
        expect(distinct).toBe(Math.min(n, K));
      }
    }
  });

  it('covers every image at least once per epoch', () => {
    const s = createPKSampler(samples(), { P, K, rng: new Rng(2) });
    for (let e = 0; e < 3; e++) {
      const epoch = s.restOfEpoch();
      expect(epoch.every((b) => b.epoch === e)).toBe(true);
      expect(epoch.map((b) => b.index)).toEqual(epoch.map((_, i) => i));
      const seen = new Set(epoch.flatMap((b) => b.samples.map((x) => x.path)));
      expect(seen.size).toBe(samples().length);
      // Σ⌈n/K⌉ = 1·4 + 2·4 + 3·4 + 4·1 = 28 chunks → at least 7 batches of 4; tail padding adds at most a few
      expect(epoch.length).toBeGreaterThanOrEqual(7);
      expect(epoch.length).toBeLessThanOrEqual(9);
    }
  });

  it('resumes exactly from a serialised state, across epoch boundaries', () => {
    const a = createPKSampler(samples(), { P, K, rng: new Rng(3) });
    for (let i = 0; i < 5; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state())) as PKSamplerState;
    const expected = Array.from({ length: 20 }, () => a.next());
    const b = createPKSampler(samples(), { P, K, rng: new Rng(999), state: saved });
    const got = Array.from({ length: 20 }, () => b.next());
    expect(got).toEqual(expected);
    expect(expected.some((x) => x.epoch > 0)).toBe(true);
    const c = createPKSampler(samples(), { P, K, rng: new Rng(3) });
    const n0 = c.epochPlan(0).length;
    for (let i = 0; i < n0; i++) c.next();
    const rest = c.restOfEpoch();
    expect(rest[0]).toMatchObject({ epoch: 1, index: 0 });
    expect(c.state()).toMatchObject({ epoch: 2, position: 0 });
  });

  it('is deterministic per seed, reshuffles per epoch, and rejects P above the number of ids', () => {
    const x = createPKSampler(samples(), { P, K, rng: new Rng(4) });
    const y = createPKSampler(samples(), { P, K, rng: new Rng(4) });
    expect(x.epochPlan(0)).toEqual(y.epochPlan(0));
    expect(x.epochPlan(0)).not.toEqual(x.epochPlan(1));
    expect(createPKSampler(samples(), { P, K, rng: new Rng(5) }).epochPlan(0)).not.toEqual(x.epochPlan(0));
    expect(() => createPKSampler(samples(), { P: 14, K, rng: new Rng(1) })).toThrow(/only 13 identities/);
  });
});
