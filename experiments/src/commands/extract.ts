/** `clip-senet extract`: features of every image in a folder with a run's model, as safetensors. */
import { resolve } from 'node:path';
import { extractFeatures, folderSamples, writeFeatures } from '@clip-senet/engine';
import { loadRunConfig } from '../config';
import { prepareBackend } from '../backend';
import { evalLoader, loadRunModel } from '../run-model';
import { parseCommandArgs, required, type Command } from '../command';

const usage = `Usage: clip-senet extract --run <run-dir> --images <folder> --out <file.safetensors> [--checkpoint <file>] [--flip]

Extract retrieval features of every image in a folder with a trained run's model.

  --run <dir>          run folder written by 'clip-senet train'
  --images <folder>    image folder (VeRi-style names give ids and cameras, others get -1)
  --out <file>         output safetensors: features [N, D], ids, cams; image paths in the metadata
  --checkpoint <file>  a specific checkpoint (default: the latest in <run>/checkpoints)
  --flip               flip test-time augmentation
  -h, --help           this text`;

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
    });
    const runDir = resolve(required('extract', opts.run, '--run'));
    const images = resolve(required('extract', opts.images, '--images'));
    const out = resolve(required('extract', opts.out, '--out'));
    const config = loadRunConfig(runDir);
    await prepareBackend();
    const samples = folderSamples(images);
    const model = loadRunModel(runDir, config, opts.checkpoint);
    const loader = evalLoader(model, config);
    try {
      const extracted = await extractFeatures(model, samples, { loader, flip: opts.flip === true, batchSize: config.train.eval.batchSize });
      writeFeatures(out, extracted, samples, { run: runDir, flip: String(opts.flip === true) });
      io.out(`${samples.length} images × ${extracted.dim} → ${out}\n`);
    } finally {
      await loader.close();
      model.dispose();
    }
  },
};
