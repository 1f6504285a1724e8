/**
 * Glue between a loaded batch, the assembled model and the weighted loss list (PAPER.md "Losses":
 * L = L_CE + L_SupCon): builds the `LossFn` the train loop calls, and collects the variables to optimise.
 */
import { tf } from '@clip-senet/core';
import type { Variable } from '@clip-senet/core';
import type { LoadedBatch, Sample } from '@clip-senet/datasets';
import type { LossSet } from '@clip-senet/losses';
import type { ClipSenetModel, ModelInputs } from './model';
import type { LossFn, LossOutput } from './train';

/** A sample's view index; a model with a view table never guesses one for an unlabelled image. */
function viewIdOf(s: Sample): number {
  if (s.viewId === undefined) throw new Error(`${s.path} has no view label, but the model has a view embedding table (give the dataset's view labels, data.viewLabels)`);
  return s.viewId;
}

/** Model inputs from a loaded batch: branch 0 → appearance, branch 1 → SEM; camera/view ids when the fusion uses them. */
export function batchInputs(model: ClipSenetModel, batch: LoadedBatch): ModelInputs {
  const cv = model.config.fusion.cameraView;
  const semantic = model.sem ? batch.branches[1] : undefined;
  if (model.sem && !semantic) throw new Error('batchInputs: the model has a SEM but the batch has only one branch (see model.branchInputs())');
  return {
    appearance: batch.branches[0]!,
    ...(semantic ? { semantic } : {}),
    ...(cv && cv.numCameras > 0 ? { cameraIds: tf.tensor1d(batch.cameraIds, 'int32') } : {}),
    ...(cv && cv.numViews > 0 ? { viewIds: tf.tensor1d(Int32Array.from(batch.samples, viewIdOf), 'int32') } : {}),
  };
}

/** The train loop's loss function for `model` trained with `losses` (model switched to train mode). */
export function modelLossFn(model: ClipSenetModel, losses: LossSet): LossFn<LoadedBatch> {
  return (batch): LossOutput => {
    model.train(true);
    const out = model.forward(batchInputs(model, batch));
    const labels = tf.tensor1d(batch.labels, 'int32');
    return losses.compute({ labels, features: out.metricFeatures, ...(out.logits ? { logits: out.logits } : {}) });
  };
}

/** Variables to optimise: the model's trainable parameters plus the losses' (`loss.<label>.<name>`). */
export function trainableVariables(model: ClipSenetModel, losses?: LossSet): Map<string, Variable> {
  const out = model.trainableParams();
  for (const [k, v] of losses?.params ?? []) out.set(`loss.${k}`, v);
  return out;
}

/** Everything a checkpoint saves: all model parameters (frozen too) plus the losses' parameters. */
export function checkpointParams(model: ClipSenetModel, losses?: LossSet): Map<string, Variable> {
  const out = model.params();
  for (const [k, v] of losses?.params ?? []) out.set(`loss.${k}`, v);
  return out;
}
