/** `clip-senet extract`: features of every image in a folder with a run's model, as safetensors. */
import { resolve } from 'node:path';
import { extractFeatures, folderSamples, writeFeatures } from '@clip-senet/engine';
import { loadRunConfig } from '../config';
import { prepareBackend } from '../backend';
import { evalLoader, loadRunModel } from '../run-model';
import { nonNegativeInt, parseCommandArgs, required, type Command } from '../command';

const usage = `Usage: clip-senet extract --run <run-dir> --images <folder> --out <file.safetensors> [--checkpoint <file>] [--flip]
                          [--camera <id>] [--view <id>]

Extract retrieval features of every image in a folder with a trained run's model.

  --run <dir>          run folder written by 'clip-senet train'
  --images <folder>    image folder: VeRi-style names (0002_c003_….jpg) give vehicle id 2 and camera 2 (0-based);
                       other names get vehicle -1 and camera --camera
  --out <file>         output safetensors: features [N, D], ids, cams; image paths in the metadata
  --checkpoint <file>  a specific checkpoint (default: the latest in <run>/checkpoints)
  --flip               flip test-time augmentation
  --camera <id>        0-based camera of the images whose names carry none (default -1, unknown)
  --view <id>          view index of every image
  -h, --help           this text

A model trained with camera / view embeddings (fusion.cameraView) needs every image's camera / view id; without
one the command stops before reading any image and names the first image lacking it. A NaN or infinite feature
(e.g. a checkpoint with a NaN weight) is an error naming how many images and the first one; nothing is written.`;

export const extractCommand: Command = {
  name: 'extract',
  summary: 'extract features of an image folder',
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('extract', args, {
      run: { type: 'string' },
      images: { type: 'string' },
      out: { type: 'string' },
      checkpoint: { type: 'string' },
      flip: { type: 'boolean' },
      camera: { type: 'string' },
      view: { type: 'string' },
    });
    const runDir = resolve(required('extract', opts.run, '--run'));
    const images = resolve(required('extract', opts.images, '--images'));
    const out = resolve(required('extract', opts.out, '--out'));
    const config = loadRunConfig(runDir);
    await prepareBackend();
    const cameraId = nonNegativeInt('extract', '--camera', opts.camera);
    const viewId = nonNegativeInt('extract', '--view', opts.view);
    const samples = folderSamples(images, { ...(cameraId !== undefined ? { cameraId } : {}), ...(viewId !== undefined ? { viewId } : {}) });
    const model = loadRunModel(runDir, config, opts.checkpoint);
    const loader = evalLoader(model, config);
    try {
      const extracted = await extractFeatures(model, samples, { loader, flip: opts.flip === true, batchSize: config.train.eval.batchSize, split: `image folder ${images}` });
      writeFeatures(out, extracted, samples, { run: runDir, flip: String(opts.flip === true) });
      io.out(`${samples.length} images × ${extracted.dim} → ${out}\n`);
    } finally {
      await loader.close();
      model.dispose();
    }
  },
};
