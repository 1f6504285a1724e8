import { describe, expect, it } from 'vitest';
import { buildSchedule } from './schedule';

describe('lr schedules (pure functions of the step)', () => {
  it('constant with linear warm-up in steps', () => {
    const s = buildSchedule({ name: 'constant', unit: 'step', warmup: 4, warmupFactor: 0.2 }, { lr: 1, totalSteps: 10 });
    expect([0, 1, 2, 3, 4, 9].map(s)).toEqual([0.2, 0.4, 0.6000000000000001, 0.8, 1, 1]);
  });

  it('cosine decays from lr to minFactor·lr at the last step, after warm-up', () => {
    const s = buildSchedule({ name: 'cosine', unit: 'epoch', warmup: 1, warmupFactor: 0.1, minFactor: 0.01 }, { lr: 0.5, totalSteps: 21, stepsPerEpoch: 10 });
    expect(s(0)).toBeCloseTo(0.05, 12);
    expect(s(5)).toBeCloseTo(0.5 * (0.1 + 0.9 * 0.5), 12);
    expect(s(10)).toBeCloseTo(0.5, 12);
    expect(s(15)).toBeCloseTo(0.005 + 0.495 * 0.5, 12);
    expect(s(20)).toBeCloseTo(0.005, 12);
    expect(s(25)).toBeCloseTo(0.005, 12);
  });

  it('multistep multiplies by gamma at each milestone (epochs → steps)', () => {
    const s = buildSchedule({ name: 'multistep', warmup: 0, milestones: [2, 3], gamma: 0.1 }, { lr: 1, totalSteps: 50, stepsPerEpoch: 10 });
    expect([0, 19, 20, 29, 30, 49].map(s)).toEqual([1, 1, 0.1, 0.1, 0.1 ** 2, 0.1 ** 2]);
  });

  it('is deterministic and stateless (same step → same lr, any order)', () => {
    const s = buildSchedule({ name: 'cosine', unit: 'step', warmup: 3 }, { lr: 3.5e-4, totalSteps: 100 });
    const forward = Array.from({ length: 100 }, (_, i) => s(i));
    const backward = Array.from({ length: 100 }, (_, i) => s(99 - i)).reverse();
    expect(backward).toEqual(forward);
  });

  it('rejects bad input clearly', () => {
    expect(() => buildSchedule({ name: 'cosine' }, { lr: 1, totalSteps: 10 })).toThrow(/stepsPerEpoch/);
    expect(() => buildSchedule({ name: 'multistep', unit: 'step', milestones: [5, 3] }, { lr: 1, totalSteps: 10 })).toThrow(/increase/);
    expect(() => buildSchedule({ name: 'linear' } as never, { lr: 1, totalSteps: 10 })).toThrow();
    const s = buildSchedule({ name: 'constant', unit: 'step' }, { lr: 1, totalSteps: 10 });
    expect(() => s(-1)).toThrow(/step/);
  });
});
