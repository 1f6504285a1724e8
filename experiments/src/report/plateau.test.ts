import { describe, expect, it } from 'vitest';
import { plateauCount, plateauStatus } from './plateau';
import { fakeSummary } from './testing';

const m = { mAP: 0.5, rank1: 0.5, rank5: 0.5, mINP: 0.5 };
const withCurve = (maps: readonly number[]) =>
  fakeSummary('k', 1, m, { evalCurve: maps.map((mAP, i) => ({ step: (i + 1) * 10, epoch: (i + 1) * 3, mAP, rank1: 0.5, rank5: 0.5, mINP: 0.5 })) });

describe('plateau criterion', () => {
  it('judges the last two evaluations (in step order) against 1 mAP point', () => {
    expect(plateauStatus(withCurve([0.2, 0.3, 0.305]))).toMatchObject({ kind: 'plateau', epochs: [6, 9] });
    expect(plateauStatus(withCurve([0.2, 0.3, 0.32]))).toMatchObject({ kind: 'rising' });
    expect(plateauStatus(withCurve([0.2, 0.3, 0.28]))).toMatchObject({ kind: 'falling' });
    const p = plateauStatus(withCurve([0.3, 0.31]));
    expect(p.kind === 'plateau' && p.change).toBeCloseTo(1, 9);
    const shuffled = fakeSummary('k', 1, m, { evalCurve: [...withCurve([0.2, 0.3, 0.4]).evalCurve].reverse() });
    expect(plateauStatus(shuffled)).toMatchObject({ kind: 'rising', last: 40, previous: 30 });
  });

  it('does not judge a run with fewer than two evaluations, and counts only judged runs', () => {
    expect(plateauStatus(withCurve([0.3]))).toEqual({ kind: 'unjudged', evaluations: 1 });
    expect(plateauCount([withCurve([0.3, 0.3]), withCurve([0.2, 0.3]), withCurve([])])).toBe('1/2');
    expect(plateauCount([withCurve([])])).toBe('not judged');
    expect(plateauCount([])).toBe('—');
  });
});
