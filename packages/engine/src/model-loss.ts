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

/**
 * A model with camera / view embedding tables needs every sample's camera / view id in range (never a guessed
 * one): one error naming how many samples lack it and the first one. `batchInputs` checks each batch;
 * `extractFeatures` checks all samples before reading any image.
 */
export function checkSideInfo(model: ClipSenetModel, samples: readonly Sample[]): void {
  const cv = model.config.fusion.cameraView;
  if (!cv) return;
  const tables: Array<[string, number, (s: Sample) => number | undefined, string]> = [
    ['camera', cv.numCameras, (s) => s.cameraId, 'the dataset, VeRi-style names (0002_c003_….jpg) or `clip-senet extract --camera <id>`'],
    ['view', cv.numViews, (s) => s.viewId, 'the dataset\'s view labels (data.viewLabels) or `clip-senet extract --view <id>`'],
  ];
  for (const [what, rows, idOf, hint] of tables) {
    if (rows === 0) continue;
    const bad = samples.filter((s) => {
      const id = idOf(s);
      return id === undefined || !Number.isInteger(id) || id < 0 || id >= rows;
    });
    if (bad.length > 0) {
      throw new Error(`the model adds a ${what} embedding (${rows} ${what}s) but ${bad.length} of ${samples.length} images have no ${what} id in [0, ${rows}) — first: ${bad[0]!.path} (${what} ${String(idOf(bad[0]!))}); give one with ${hint}`);
    }
  }
}

/** Model inputs from a loaded batch: branch 0 → appearance, branch 1 → SEM; camera/view ids when the fusion uses them. */
export function batchInputs(model: ClipSenetModel, batch: LoadedBatch): ModelInputs {
  const cv = model.config.fusion.cameraView;
  checkSideInfo(model, batch.samples);
  const semantic = model.sem ? batch.branches[1] : undefined;
  if (model.sem && !semantic) throw new Error('batchInputs: the model has a SEM but the batch has only one branch (see model.branchInputs())');
  return {
    appearance: batch.branches[0]!,
    ...(semantic ? { semantic } : {}),
    ...(cv && cv.numCameras > 0 ? { cameraIds: tf.tensor1d(batch.cameraIds, 'int32') } : {}),
    ...(cv && cv.numViews > 0 ? { viewIds: tf.tensor1d(Int32Array.from(batch.samples, (s) => s.viewId!), 'int32') } : {}),
  };
}

/** A batch's training labels; an error naming the first sample without one (a query / gallery image in a training batch). */
export function trainingLabels(batch: Pick<LoadedBatch, 'labels' | 'samples'>): Int32Array {
  const i = batch.labels.findIndex((l) => l < 0);
  if (i >= 0) {
    const s = batch.samples[i];
    throw new Error(`training batch: sample ${s ? `'${s.path}' (vehicle ${s.vehicleId})` : i} has no training label; only training-split samples (relabelled 0..N−1) can be trained on`);
  }
  return batch.labels;
}

/**
 * The training loss of one batch (model switched to train mode): forward, then the weighted losses on the metric
 * features and logits. The one loss computation of the train loop ({@link modelLossFn}) and of every data-parallel
 * replica (`model-replica.ts`), which differ only in where their inputs come from.
 */
export function trainingLoss(model: ClipSenetModel, losses: LossSet, inputs: ModelInputs, labels: Int32Array): LossOutput {
  model.train(true);
  const out = model.forward(inputs);
  return losses.compute({ labels: tf.tensor1d(labels, 'int32'), features: out.metricFeatures, ...(out.logits ? { logits: out.logits } : {}) });
}

/** The train loop's loss function for `model` trained with `losses`. */
export function modelLossFn(model: ClipSenetModel, losses: LossSet): LossFn<LoadedBatch> {
  return (batch): LossOutput => trainingLoss(model, losses, batchInputs(model, batch), trainingLabels(batch));
}

/** Variables to optimise: the model's trainable parameters plus the losses' (`loss.<label>.<name>`). */
export function trainableVariables(model: ClipSenetModel, losses?: LossSet): Map<string, Variable> {
  const out = model.trainableParams();
  for (const [k, v] of losses?.params ?? []) out.set(`loss.${k}`, v);
  return out;
}

/** Everything a checkpoint saves: all model parameters (frozen too) plus the losses' parameters. */
export function checkpointParams(model: ClipSenetModel, losses?: LossSet): Map<string, Variable> {
  const out = model.params;
  for (const [k, v] of losses?.params ?? []) out.set(`loss.${k}`, v);
  return out;
}
