/**
 * Learning-rate schedules — pure functions of the (0-based) optimiser step, so a resumed run gets exactly the
 * lr it would have had (PAPER.md "Training": VeRi-776 cosine; VehicleID / VeRi-Wild warm-up + multistep;
 * warm-up length and milestones are knobs).
 *
 * All schedules share a linear warm-up from `warmupFactor · lr` to `lr` over `warmup` units. Lengths are in
 * epochs (`unit: 'epoch'`, converted with `stepsPerEpoch`, fractional epochs allowed) or in steps.
 */
import { z } from 'zod';
import { createRegistry, markValidated, validated } from '@clip-senet/core';

/** A learning-rate schedule: lr of 0-based step `step`. */
export type Schedule = (step: number) => number;

const common = {
  /** Unit of `warmup`, `milestones` and `totalEpochs`-like lengths. */
  unit: z.enum(['epoch', 'step']).default('epoch'),
  /** Linear warm-up length (0 = none). */
  warmup: z.number().min(0).default(0),
  /** Warm-up starts at `warmupFactor · lr`. */
  warmupFactor: z.number().min(0).max(1).default(0.01),
};

/** Constant lr (after the optional warm-up). */
export const ConstantScheduleConfigSchema = z.strictObject({ name: z.literal('constant'), ...common });
/** Half-cosine from lr to `minLr` between the end of warm-up and the last step. */
export const CosineScheduleConfigSchema = z.strictObject({
  name: z.literal('cosine'),
  ...common,
  /** Final lr as a fraction of the base lr. */
  minFactor: z.number().min(0).max(1).default(0),
});
/** lr · gammaᵏ after the k-th milestone (milestones counted from step 0, like fast-reid / BoT). */
export const MultistepScheduleConfigSchema = z.strictObject({
  name: z.literal('multistep'),
  ...common,
  milestones: z.array(z.number().positive()).default([40, 70]),
  gamma: z.number().positive().max(1).default(0.1),
});

/** Any schedule config (discriminated on `name`). */
export const ScheduleConfigSchema = z.discriminatedUnion('name', [
  ConstantScheduleConfigSchema,
  CosineScheduleConfigSchema,
  MultistepScheduleConfigSchema,
]);
export type ScheduleConfig = z.output<typeof ScheduleConfigSchema>;
export type ScheduleConfigInput = z.input<typeof ScheduleConfigSchema>;

/** The paper's VeRi-776 schedule: cosine (warm-up length unknown → none by default). */
export const defaultScheduleConfig: ScheduleConfig = markValidated(ScheduleConfigSchema.parse({ name: 'cosine' }));

/** Run length and base lr a schedule is built for. */
export interface ScheduleContext {
  /** Base learning rate (the optimiser's `lr`). */
  readonly lr: number;
  /** Total optimiser steps of the run. */
  readonly totalSteps: number;
  /** Steps per epoch (required when `unit` is `'epoch'`). */
  readonly stepsPerEpoch?: number;
}

type Builder<C> = (config: C, ctx: ScheduleContext, toSteps: (n: number) => number) => Schedule;

/** Linear warm-up factor at `step`, or 1 after warm-up. */
function warmupScale(step: number, warmupSteps: number, factor: number): number {
  if (step >= warmupSteps) return 1;
  return factor + (1 - factor) * (step / warmupSteps);
}

const constant: Builder<z.output<typeof ConstantScheduleConfigSchema>> = (c, ctx, toSteps) => {
  const w = toSteps(c.warmup);
  return (step) => ctx.lr * warmupScale(step, w, c.warmupFactor);
};

const cosine: Builder<z.output<typeof CosineScheduleConfigSchema>> = (c, ctx, toSteps) => {
  const w = toSteps(c.warmup);
  const span = Math.max(1, ctx.totalSteps - 1 - w);
  const minLr = ctx.lr * c.minFactor;
  return (step) => {
    if (step < w) return ctx.lr * warmupScale(step, w, c.warmupFactor);
    const t = Math.min(1, (step - w) / span);
    return minLr + (ctx.lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
  };
};

const multistep: Builder<z.output<typeof MultistepScheduleConfigSchema>> = (c, ctx, toSteps) => {
  const w = toSteps(c.warmup);
  const ms = c.milestones.map(toSteps);
  for (let i = 1; i < ms.length; i++) {
    if (ms[i]! <= ms[i - 1]!) throw new Error(`multistep schedule: milestones must increase, got [${c.milestones}]`);
  }
  return (step) => {
    const k = ms.filter((m) => step >= m).length;
    return ctx.lr * c.gamma ** k * warmupScale(step, w, c.warmupFactor);
  };
};

/** Schedule builders by name. */
export const schedules = createRegistry<Builder<never>>('schedule');
schedules.register('constant', constant as Builder<never>);
schedules.register('cosine', cosine as Builder<never>);
schedules.register('multistep', multistep as Builder<never>);

/** Build `config`'s schedule (validated here unless it already is) for a run of `ctx.totalSteps` steps at base lr `ctx.lr`. */
export function buildSchedule(config: ScheduleConfigInput, ctx: ScheduleContext): Schedule {
  const c = validated(ScheduleConfigSchema, config);
  if (!Number.isFinite(ctx.lr) || ctx.lr < 0) throw new Error(`schedule: lr must be ≥ 0, got ${ctx.lr}`);
  if (!Number.isInteger(ctx.totalSteps) || ctx.totalSteps < 1) throw new Error(`schedule: totalSteps must be a positive integer, got ${ctx.totalSteps}`);
  const spe = ctx.stepsPerEpoch;
  if (c.unit === 'epoch' && (spe === undefined || !(spe > 0))) {
    throw new Error(`schedule '${c.name}': unit 'epoch' needs stepsPerEpoch > 0 (got ${spe})`);
  }
  const toSteps = (n: number): number => Math.round(c.unit === 'epoch' ? n * spe! : n);
  const build = schedules.get(c.name) as Builder<typeof c>;
  const fn = build(c, ctx, toSteps);
  return (step: number) => {
    if (!Number.isInteger(step) || step < 0) throw new Error(`schedule: step must be an integer ≥ 0, got ${step}`);
    return fn(step);
  };
}
