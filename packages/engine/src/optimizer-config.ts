/**
 * zod configs and the registry of optimisers (PAPER.md: Adam, lr 5e-4 on VeRi-776, 3.5e-4 otherwise; weight
 * decay unknown → knob, default 5e-4 as in BoT / fast-reid).
 */
import { z } from 'zod';
import { createRegistry, markValidated, validated } from '@clip-senet/core';
import type { Variable } from '@clip-senet/core';
import { Adam, Sgd, type Optimizer } from './optimizer';

const common = {
  /** Base learning rate (the schedule scales it). */
  lr: z.number().positive().default(5e-4),
  weightDecay: z.number().min(0).default(5e-4),
  /** Regular expressions; parameters whose name matches any are exempt from weight decay. */
  noDecay: z.array(z.string()).default([]),
};

/** Adam (L2 in the gradient) — the paper's optimiser. */
export const AdamConfigSchema = z.strictObject({
  name: z.literal('adam'),
  ...common,
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
  eps: z.number().positive().default(1e-8),
});
/** AdamW (decoupled weight decay). */
export const AdamWConfigSchema = AdamConfigSchema.extend({ name: z.literal('adamw') });
/** SGD with momentum / Nesterov. */
export const SgdConfigSchema = z.strictObject({
  name: z.literal('sgd'),
  ...common,
  momentum: z.number().min(0).lt(1).default(0.9),
  dampening: z.number().min(0).max(1).default(0),
  nesterov: z.boolean().default(false),
});

/** Any optimiser config (discriminated on `name`). */
export const OptimizerConfigSchema = z.discriminatedUnion('name', [AdamConfigSchema, AdamWConfigSchema, SgdConfigSchema]);
export type OptimizerConfig = z.output<typeof OptimizerConfigSchema>;
export type OptimizerConfigInput = z.input<typeof OptimizerConfigSchema>;

/** The paper's optimiser: Adam, lr 5e-4. */
export const defaultOptimizerConfig: OptimizerConfig = markValidated(OptimizerConfigSchema.parse({ name: 'adam' }));

type Builder = (params: ReadonlyMap<string, Variable>, c: OptimizerConfig, noDecay: (name: string) => boolean) => Optimizer;

/** Optimiser builders by name. */
export const optimizers = createRegistry<Builder>('optimizer');
const adamLike = (decoupled: boolean): Builder => (params, c, noDecay) => {
  const a = c as z.output<typeof AdamConfigSchema>;
  return new Adam(params, { beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weightDecay, noDecay, decoupled });
};
optimizers.register('adam', adamLike(false));
optimizers.register('adamw', adamLike(true));
optimizers.register('sgd', (params, c, noDecay) => {
  const s = c as z.output<typeof SgdConfigSchema>;
  return new Sgd(params, { momentum: s.momentum, dampening: s.dampening, nesterov: s.nesterov, weightDecay: s.weightDecay, noDecay });
});

/** Build `config`'s optimiser (validated here unless it already is) over `params` (the trainable variables by canonical name). */
export function buildOptimizer(config: OptimizerConfigInput, params: ReadonlyMap<string, Variable>): Optimizer {
  const c = validated(OptimizerConfigSchema, config);
  const patterns = c.noDecay.map((p) => new RegExp(p));
  const noDecay = (name: string): boolean => patterns.some((re) => re.test(name));
  return optimizers.get(c.name)(params, c, noDecay);
}
