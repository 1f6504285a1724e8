/**
 * Rebuild a trained model from a run folder: `resolved-config.yaml` → `buildModel`, then the latest (or a given)
 * checkpoint's model parameters and buffers (loss parameters and optimiser state are not needed to evaluate).
 * The checkpoint holds every model parameter (the frozen SEM's too), so the pretrained `weights` files of the
 * config are not read: a run evaluates on a machine that has the checkpoint but not the ImageNet/CLIP weights.
 */
import { join } from 'node:path';
import { Rng } from '@clip-senet/core';
import { buildModel, loadCheckpoint, restoreCheckpoint, type ClipSenetModel } from '@clip-senet/engine';
import { createBatchLoader, type BatchLoader } from '@clip-senet/datasets';
import type { ExperimentConfig } from './config';

/**
 * Build the run's model and load its checkpoint (`checkpoint`: a file, or default `runDir/checkpoints`). The
 * classifier width (number of training identities) is read from the checkpoint's `classifier.weight`
 * [dim, numClasses], so callers never load the training set just to count identities.
 */
export function loadRunModel(runDir: string, config: ExperimentConfig, checkpoint?: string): ClipSenetModel {
  const ckpt = loadCheckpoint(checkpoint ?? join(runDir, 'checkpoints'));
  const classifier = ckpt.params.get('classifier.weight');
  if (!classifier || classifier.shape.length !== 2) {
    throw new Error(`${ckpt.path}: no 2-D 'classifier.weight' parameter; is this a clip-senet training checkpoint?`);
  }
  const architecture = {
    ...config.model,
    appearance: { ...config.model.appearance, weights: null },
    sem: config.model.sem === null ? null : { ...config.model.sem, weights: null },
  };
  const model = buildModel(architecture, { numClasses: classifier.shape[1]!, rng: new Rng(config.train.seed).derive('model') });
  try {
    const params = new Map([...ckpt.params].filter(([name]) => !name.startsWith('loss.')));
    restoreCheckpoint({ ...ckpt, params, optimizer: new Map() }, { params: model.params, buffers: model.buffers });
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** An evaluation loader (no augmentation) whose branches match the model. */
export function evalLoader(model: ClipSenetModel, config: ExperimentConfig): BatchLoader {
  const branches = model.branchInputs().map((b) => ({ size: b.size, normalization: b.normalization }));
  const workers = config.train.loader.workers;
  return createBatchLoader({ branches, seed: 0, ...(workers !== null ? { workers } : {}) });
}
