/**
 * The model and its losses as a run builds them (Node: the model's pretrained weight files are read here), shared by
 * `runTraining` and the data-parallel replicas so that both draw the same parameters under the same names.
 */
import { Rng, validated } from '@clip-senet/core';
import { buildLosses, type LossesConfigInput, type LossSet } from '@clip-senet/losses';
import { buildModel } from './build-model';
import type { ClipSenetModel } from './model';
import { ModelConfigSchema, type ModelConfigInput } from './model-config';

/** What {@link buildModelAndLosses} builds from. */
export interface ModelAndLossesArgs {
  readonly model: ModelConfigInput;
  readonly losses: LossesConfigInput;
  readonly numClasses: number;
  /** The run's seed: the model's initial weights come from `derive('model')`, the losses' from `derive('losses')`. */
  readonly seed: number;
}

/**
 * The model and its losses, built the one way a run builds them — by `runTraining` and by each data-parallel
 * replica, so a replica's parameter names and initial values are the trainer's.
 */
export function buildModelAndLosses(args: ModelAndLossesArgs, log?: ((line: string) => void) | null): { model: ClipSenetModel; losses: LossSet } {
  const rng = new Rng(args.seed);
  const model = buildModel(validated(ModelConfigSchema, args.model), { numClasses: args.numClasses, rng: rng.derive('model'), ...(log !== undefined ? { log } : {}) });
  try {
    const losses = buildLosses(args.losses, { numClasses: args.numClasses, featureDim: model.featureDim, rng: rng.derive('losses') });
    return { model, losses };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
