/**
 * Test fixture for the cross-process resume test: the options of a tiny CLIP-SENet run on a synthetic world,
 * and (when executed as a script: `node --import tsx testing-run.ts <worldDir> <runDir>`) a child process
 * that runs it, so the test can `kill -9` it mid-run and resume in another process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend } from '@clip-senet/core';
import { loadVeRi776, type SyntheticWorldManifest } from '@clip-senet/datasets';
import { veri776 } from '@clip-senet/metrics';
import { runTraining, type RunTrainingOptions } from './run';

/** Options of the tiny run over the VeRi-776-layout world at `worldDir`. */
export function tinyRunOptions(worldDir: string, runDir: string): RunTrainingOptions {
  const manifest = JSON.parse(readFileSync(join(worldDir, 'world.json'), 'utf8')) as SyntheticWorldManifest;
  const ds = loadVeRi776(worldDir, { ...manifest.readerOptions, strict: true });
  return {
    runDir,
    train: ds.train,
    numClasses: ds.numTrainIds,
    model: {
      appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
      sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
      fusion: { name: 'clip-senet', outDim: 32, afem: { groups: 4 } },
    },
    losses: [{ name: 'cross-entropy' }, { name: 'supcon' }],
    config: { epochs: 3, sampler: { P: 3, K: 2 }, optimizer: { name: 'adam', lr: 3e-3 }, loader: { workers: 0 }, checkpoint: { everySteps: 2 } },
    evaluation: { query: ds.query, gallery: ds.gallery, protocol: veri776() },
    progress: false,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [worldDir, runDir] = process.argv.slice(2);
  await initBackend('wasm', { log: null, threads: 1 });
  await runTraining(tinyRunOptions(worldDir!, runDir!));
}
