import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkClaims, claimsMarkdown, claimVerdict, compareInRecord, PAPER_CLAIMS, type PaperClaim } from './claims';
import { findAblationRecords, REPO_ROOT } from './report-files';
import { fakeRecord, fakeSummary } from './testing';
import { readAblationRecord } from './write-reports';

const m = (mAP: number) => ({ mAP, rank1: mAP, rank5: mAP, mINP: mAP });

/** Two variants over three seeds; `b` beats `a` by `gap(seed)` mAP points. */
function twoVariants(ablation: string, a: string, b: string, gap: (seed: number) => number) {
  return fakeRecord(ablation, [{ name: a, paper: [] }, { name: b, paper: [] }], [1, 2, 3], (v, seed) =>
    fakeSummary(`${v}-${seed}`, seed, m(v === a ? 0.3 + seed * 0.01 : 0.3 + seed * 0.01 + gap(seed) / 100)));
}

const claim: PaperClaim = { id: 'x', statement: 'b beats a', evidence: 'test', comparisons: [{ ablation: 't', better: 'b', worse: 'a' }] };

describe('paper claims', () => {
  it('pairs by seed: a constant per-seed gain is decided even when the seeds spread widely', () => {
    const r = compareInRecord(twoVariants('t', 'a', 'b', (s) => 2 + s * 0.1), claim.comparisons[0]!);
    expect(r.delta?.n).toBe(3);
    expect(r.delta?.mean).toBeCloseTo(2.2, 9);
    // sd of (2.1, 2.2, 2.3) = 0.1; half-width t(0.975, 2) · 0.1 / √3
    expect(r.delta?.lo).toBeCloseTo(2.2 - (4.303 * 0.1) / Math.sqrt(3), 9);
    expect(checkClaims([twoVariants('t', 'a', 'b', (s) => 2 + s * 0.1)], [claim])[0]!.verdict).toBe('agrees');
  });

  it('says disagrees, cannot tell and not run where the intervals say so', () => {
    expect(checkClaims([twoVariants('t', 'a', 'b', (s) => -3 - s * 0.1)], [claim])[0]!.verdict).toBe('disagrees');
    expect(checkClaims([twoVariants('t', 'a', 'b', (s) => (s === 2 ? -2 : 2))], [claim])[0]!.verdict).toBe('cannot tell');
    expect(checkClaims([], [claim])[0]!.verdict).toBe('not run');
    const renamed = checkClaims([twoVariants('t', 'a', 'c', () => 1)], [claim])[0]!;
    expect(renamed.verdict).toBe('not run');
    expect(renamed.results[0]!.note).toBe('variant `b` not in the record');
  });

  it('needs every comparison of a claim decided to agree, and one decided the other way to disagree', () => {
    const decided = { n: 3, mean: 2, lo: 1, hi: 3, decided: true };
    const open = { n: 3, mean: 1, lo: -1, hi: 3, decided: false };
    const against = { n: 3, mean: -2, lo: -3, hi: -1, decided: true };
    const r = (d?: typeof decided) => ({ comparison: claim.comparisons[0]!, source: 't/default', ...(d ? { delta: d } : { note: 'no seed' }) });
    expect(claimVerdict([r(decided), r(decided)])).toBe('agrees');
    expect(claimVerdict([r(decided), r(open)])).toBe('cannot tell');
    expect(claimVerdict([r(decided), r()])).toBe('cannot tell');
    expect(claimVerdict([r(decided), r(against)])).toBe('disagrees');
  });

  it('every comparison of the built-in claims names variants of the committed grids', () => {
    const records = findAblationRecords(`${REPO_ROOT}/reports`).map((p) => readAblationRecord(p));
    for (const c of PAPER_CLAIMS.flatMap((x) => x.comparisons)) {
      const record = records.find((r) => r.ablation === c.ablation);
      expect(record, `ablation ${c.ablation}`).toBeDefined();
      const names = record!.variants.map((v) => v.name);
      expect(names).toContain(c.better);
      expect(names).toContain(c.worse);
    }
    const md = claimsMarkdown(checkClaims(records));
    expect(md).toContain('## The paper\'s claims on our runs');
    expect(readFileSync(`${REPO_ROOT}/reports/paper-tables.md`, 'utf8')).toContain(md);
  });
});
