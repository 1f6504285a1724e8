/**
 * Data-parallel support for the assembled model: a replica factory (`clipSenetReplica`, the recipe export a
 * worker calls) and `splitLoadedBatch`, which cuts a loaded P×K batch into contiguous shards (whole identities
 * per shard when the worker count divides P) with structured-cloneable payloads.
 */
import { tf } from '@clip-senet/core';
import type { LoadedBatch } from '@clip-senet/datasets';
import type { LossSet } from '@clip-senet/losses';
import type { Replica, Shard } from './data-parallel';
import type { ClipSenetModel } from './model';
import { buildModelAndLosses, type ModelAndLossesArgs } from './model-and-losses';
import { trainableVariables, trainingLabels, trainingLoss } from './model-loss';

/** Arguments of {@link clipSenetReplica} (JSON). */
export type ClipSenetReplicaArgs = ModelAndLossesArgs;

/** A shard of a loaded batch. */
export interface LoadedShardPayload {
  readonly branches: { readonly data: Float32Array; readonly shape: [number, number, number, number] }[];
  readonly labels: Int32Array;
  readonly cameraIds: Int32Array;
  readonly viewIds: Int32Array;
}

/** The replica view of a built model + losses: trainable variables, buffers, and a loss over a shard payload. */
export function replicaOf(model: ClipSenetModel, losses: LossSet): Replica {
  const cv = model.config.fusion.cameraView;
  return {
    params: trainableVariables(model, losses),
    buffers: model.buffers,
    lossFn(p) {
      const s = p as LoadedShardPayload;
      const [appearance, semantic] = s.branches.map((b) => tf.tensor4d(b.data, b.shape));
      const inputs = {
        appearance: appearance!,
        ...(model.sem ? { semantic: semantic! } : {}),
        ...(cv && cv.numCameras > 0 ? { cameraIds: tf.tensor1d(s.cameraIds, 'int32') } : {}),
        ...(cv && cv.numViews > 0 ? { viewIds: tf.tensor1d(s.viewIds, 'int32') } : {}),
      };
      return trainingLoss(model, losses, inputs, s.labels);
    },
  };
}

/** Build the model + losses replica in a worker (the construction `runTraining` uses, so names and weights match). */
export function clipSenetReplica(args: ClipSenetReplicaArgs): Replica {
  const { model, losses } = buildModelAndLosses(args, null);
  return replicaOf(model, losses);
}

/** Cut a loaded batch into at most `n` contiguous shards. */
export function splitLoadedBatch(batch: LoadedBatch, n: number): Shard[] {
  const labels = trainingLabels(batch);
  const size = labels.length;
  const per = Math.ceil(size / n);
  const data = batch.branches.map((b) => ({ data: b.dataSync() as Float32Array, shape: b.shape }));
  // −1 = no view label: a replica with a view table rejects it (CameraViewEmbedding's range check), never view 0
  const views = Int32Array.from({ length: size }, (_, i) => batch.samples[i]?.viewId ?? -1);
  const shards: Shard[] = [];
  for (let start = 0; start < size; start += per) {
    const rows = Math.min(per, size - start);
    const payload: LoadedShardPayload = {
      // views, not copies: remote shards are copied once into the worker's shared inbox, the local one into its heap
      branches: data.map(({ data: d, shape: [, h, w, c] }) => ({ data: d.subarray(start * h * w * c, (start + rows) * h * w * c), shape: [rows, h, w, c] })),
      labels: labels.slice(start, start + rows),
      cameraIds: batch.cameraIds.slice(start, start + rows),
      viewIds: views.slice(start, start + rows),
    };
    shards.push({ payload, size: rows });
  }
  return shards;
}
