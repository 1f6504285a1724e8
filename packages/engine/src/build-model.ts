/**
 * `buildModel`: the assembled CLIP-SENet model (./model) with the pretrained weight files its config names loaded
 * into the appearance CNN and the SEM (backbones' `loadWeights`, which reads files — Node only, so it is kept out
 * of the model module that the browser entry point loads).
 */
import { loadWeights } from '@clip-senet/backbones';
import { assembleModel, type BuildModelOptions, type ClipSenetModel } from './model';
import type { ModelConfigInput } from './model-config';

/** Validate `config` (zod), build the model and load the pretrained weights `appearance.weights` / `sem.weights` name. */
export function buildModel(config: ModelConfigInput, opts: BuildModelOptions): ClipSenetModel {
  const model = assembleModel(config, opts);
  try {
    const weightOpts = opts.log === undefined ? {} : { log: opts.log };
    if (model.config.appearance.weights) loadWeights(model.appearance, model.config.appearance.weights, weightOpts);
    if (model.sem && model.config.sem?.weights) loadWeights(model.sem, model.config.sem.weights, weightOpts);
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
