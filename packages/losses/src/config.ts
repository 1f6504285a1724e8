/**
 * zod schemas of the losses, one per loss: its `name`, `weight`, an optional logging `label` and its knobs. Each is
 * carried by its registry entry (./registry), and the list schema's discriminated union is made from the entries.
 * The paper's total is `L = L_CE + L_SupCon` (1:1, ε = 0.1, τ not given → 0.07). Unknown keys are errors.
 */
import { z } from 'zod';

const common = {
  /** Multiplier of the term in the total (≥ 0). */
  weight: z.number().min(0).default(1),
  /** Name the term is logged under (default: the loss name); must be unique within a list. */
  label: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).optional(),
};

export const CrossEntropyLossConfigSchema = z.strictObject({
  name: z.literal('cross-entropy'),
  ...common,
  /** Label smoothing ε (paper 0.1; 0 = plain CE). */
  epsilon: z.number().min(0).lt(1).default(0.1),
});

export const SupConLossConfigSchema = z.strictObject({
  name: z.literal('supcon'),
  ...common,
  /** Temperature τ (paper: not given; 0.07 as Khosla et al.). */
  temperature: z.number().positive().default(0.07),
  /** Reference-code base temperature; the loss is scaled by τ / τ_base (default 0.07). */
  baseTemperature: z.number().positive().default(0.07),
});

export const TripletLossConfigSchema = z.strictObject({
  name: z.literal('triplet'),
  ...common,
  /** Hinge margin (BoT 0.3); ignored with softMargin. */
  margin: z.number().min(0).default(0.3),
  /** softplus(d⁺ − d⁻) instead of the hinge. */
  softMargin: z.boolean().default(false),
  /** L2-normalise features before distances. */
  normalizeFeatures: z.boolean().default(false),
});

export const CenterLossConfigSchema = z.strictObject({
  name: z.literal('center'),
  ...common,
  /** BoT's center-loss weight 5e-4 by default (overrides the common default 1). */
  weight: z.number().min(0).default(5e-4),
});

export const ClipInfoNceLossConfigSchema = z.strictObject({
  name: z.literal('clip-infonce'),
  ...common,
  /** Learn the logit scale (CLIP: true). */
  learnableScale: z.boolean().default(true),
  /** Initial logit scale t; exp(t) multiplies cosine similarities (CLIP: ln(1/0.07)). */
  initLogitScale: z.number().default(Math.log(1 / 0.07)),
  /** Upper bound of exp(t) (CLIP: 100). */
  maxScale: z.number().positive().default(100),
});
