/** Hand-worked cases of the seed statistics: t quantiles and the paired Δ interval. */
import { describe, expect, it } from 'vitest';
import { fmtPairedDelta, pairedDelta, queryBootstrapDelta, tQuantile975 } from './stats';

const pairs = (d: readonly number[]) => d.map((x) => ({ variant: 50 + x, baseline: 50 }));

describe('paired Δ interval', () => {
  it('uses the t table for small df and the expansion beyond it', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(4)).toBe(2.776);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(100)).toBeCloseTo(1.984, 3);
    expect(tQuantile975(1e6)).toBeCloseTo(1.96, 3);
    expect(() => tQuantile975(0)).toThrow(/df must be an integer ≥ 1/);
  });

  it('Δ = 1, 2, 3: mean 2, sd 1, ± 4.303 / √3 — contains 0, not decided', () => {
    const p = pairedDelta(pairs([1, 2, 3]))!;
    expect(p.n).toBe(3);
    expect(p.mean).toBeCloseTo(2, 12);
    expect(p.lo).toBeCloseTo(2 - 4.303 / Math.sqrt(3), 12);
    expect(p.hi).toBeCloseTo(2 + 4.303 / Math.sqrt(3), 12);
    expect(p.decided).toBe(false);
    expect(fmtPairedDelta(p)).toBe('[-0.5, +4.5] not decided at 3 seeds');
  });

  it('five tight seeds around +2 are decided; one seed never is; no common seed gives nothing', () => {
    const p = pairedDelta(pairs([2.0, 2.2, 1.8, 2.1, 1.9]))!;
    expect(p.decided).toBe(true);
    expect(fmtPairedDelta(p)).toBe('[+1.8, +2.2] decided');
    expect(pairedDelta(pairs([-3, -2.8, -3.1]))!.decided).toBe(true);
    expect(fmtPairedDelta(pairedDelta(pairs([5]))!)).toBe('not decided at 1 seed');
    expect(pairedDelta([])).toBeUndefined();
  });
});

describe('query bootstrap', () => {
  const ap = (xs: readonly number[]) => xs;
  it('centres on the seed-mean Δ mAP, excludes 0 for a consistent gain and includes it for noise', () => {
    const base = Array.from({ length: 60 }, (_, i) => 0.2 + (i % 7) * 0.05);
    const better = base.map((x, i) => x + 0.05 + (i % 3) * 0.01);
    const r = queryBootstrapDelta([{ variant: ap(better), baseline: ap(base) }])!;
    expect(r.mean).toBeCloseTo(6, 9);
    expect(r.lo! > 0 && r.hi! > r.mean && r.lo! < r.mean).toBe(true);
    expect(r.decided).toBe(true);
    const noisy = base.map((x, i) => x + (i % 2 === 0 ? 0.1 : -0.1));
    const n = queryBootstrapDelta([{ variant: ap(noisy), baseline: ap(base) }])!;
    expect(n.lo! < 0 && n.hi! > 0).toBe(true);
    expect(n.decided).toBe(false);
    // deterministic: same inputs, same interval
    expect(queryBootstrapDelta([{ variant: ap(noisy), baseline: ap(base) }])).toEqual(n);
  });

  it('skips queries skipped on either side, averages over seeds, and refuses different test sets', () => {
    const r = queryBootstrapDelta([
      { variant: [0.5, null, 0.7], baseline: [0.4, 0.3, 0.6] },
      { variant: [0.6, 0.9, 0.8], baseline: [0.4, 0.3, 0.6] },
    ])!;
    // query 1 is dropped everywhere: seed 1 Δ = 10 points, seed 2 Δ = 20 points
    expect(r.mean).toBeCloseTo(15, 9);
    expect(r.n).toBe(2);
    expect(queryBootstrapDelta([])).toBeUndefined();
    expect(() => queryBootstrapDelta([{ variant: [0.1, 0.2], baseline: [0.1] }])).toThrow(/not the same test set/);
  });
});
