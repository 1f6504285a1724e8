/**
 * Validate once. A config is parsed by its zod schema where it enters (the experiments' YAML loader, an ablation
 * plan, or a library caller's literal at a package's builder) and the result is frozen and marked: every object
 * and array in it. Builders further down receive that same frozen value and recognise it, so a run's config is
 * checked once instead of once per layer it passes (trainer, model, fusion, AFEM, backbone, losses, optimiser,
 * schedule). Constructors take validated, typed configs and never parse.
 *
 * The mark says "produced by a schema's parse and frozen since", not which schema: a marked section is only
 * handed to the builder of that section (the types say so), and the package schemas are composed from one another
 * (the experiment's `model` field is the engine's `ModelConfigSchema`, whose `fusion` is afem's
 * `FusionConfigSchema`, …), so the section was validated by the very schema its builder would use.
 */
import type { z } from 'zod';

const VALIDATED = new WeakSet<object>();

function mark(value: unknown): void {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || VALIDATED.has(value)) return;
  Object.freeze(value);
  VALIDATED.add(value);
  for (const v of Object.values(value)) mark(v);
}

/** Freeze `value` and every object and array in it, and mark them as validated. Returns `value`. */
export function markValidated<T>(value: T): T {
  mark(value);
  return value;
}

/** Whether `value` is (part of) a config that came out of a schema's parse through {@link validated} / {@link markValidated}. */
export function isValidated(value: unknown): boolean {
  return typeof value === 'object' && value !== null && VALIDATED.has(value);
}

/**
 * `input` as `schema`'s frozen output: `input` itself when it is already a validated value (see the module
 * comment), else `schema.parse(input)` — which throws zod's error listing every problem — frozen and marked.
 */
export function validated<S extends z.ZodType>(schema: S, input: z.input<S> | z.output<S>): z.output<S> {
  if (isValidated(input)) return input as z.output<S>;
  return markValidated(schema.parse(input) as z.output<S>);
}
