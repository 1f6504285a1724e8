/** `clip-senet eval`: evaluate a run folder's checkpoint on its dataset's query/gallery protocol. */
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '@clip-senet/core';
import { evaluateModel } from '@clip-senet/engine';
import { loadRunConfig, withRepoPaths } from '../config';
import { loadData } from '../data';
import { evaluationFor, metricsLine } from '../protocol';
import { prepareBackend } from '../backend';
import { evalLoader, loadRunModel } from '../run-model';
import { parseCommandArgs, required, type Command } from '../command';

const usage = `Usage: clip-senet eval --run <run-dir> [--checkpoint <file>] [--out <file.json>] [--flip] [--set key.path=value ...]

Evaluate a trained run (its resolved-config.yaml + latest checkpoint) with the protocol its data + eval sections
give (VeRi-776 / VeRi-Wild query/gallery, VehicleID mean ± std over the seeded draws).

  --run <dir>          run folder written by 'clip-senet train'
  --checkpoint <file>  a specific checkpoint (default: the latest in <run>/checkpoints)
  --out <file>         results JSON (default: <run>/eval.json)
  --flip               flip test-time augmentation
  --set k=v            override the resolved config, e.g. --set eval.rerank.enabled=true
  -h, --help           this text

The results JSON is tagged with the protocol id, seed, backend and commit.`;

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate a run's checkpoint (results tagged with the protocol id)",
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('eval', args, {
      run: { type: 'string' },
      checkpoint: { type: 'string' },
      out: { type: 'string' },
      flip: { type: 'boolean' },
      set: { type: 'string', multiple: true },
    });
    const runDir = resolve(required('eval', opts.run, '--run'));
    const config = withRepoPaths(loadRunConfig(runDir, opts.set ?? []));
    await prepareBackend();
    const data = loadData(config.data);
    const plan = evaluationFor(config, data);
    const model = loadRunModel(runDir, config, opts.checkpoint);
    const loader = evalLoader(model, config);
    const outFile = resolve(opts.out ?? join(runDir, 'eval.json'));
    try {
      const r = await evaluateModel(model, {
        query: plan.query, gallery: plan.gallery, protocol: plan.protocol, loader,
        flip: opts.flip === true, batchSize: config.train.eval.batchSize, seed: config.train.seed,
      });
      const details = plan.details();
      writeJsonAtomic(outFile, details ? { ...r, vehicleId: details } : r);
      io.out(`${metricsLine(r, details)}\n`);
      io.out(`wrote ${outFile}\n`);
    } finally {
      await loader.close();
      model.dispose();
    }
  },
};
