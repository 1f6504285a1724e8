/** `clip-senet eval`: evaluate a run folder's checkpoint on its dataset's query/gallery protocol. */
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '@clip-senet/core';
import { evaluateModel } from '@clip-senet/engine';
import { loadExperimentConfig, loadRunConfig, withRepoPaths, type ExperimentConfig } from '../config';
import { trainingDifferences } from '../eval-settings';
import { loadData } from '../data';
import { evaluationFor, metricsLine } from '../protocol';
import { prepareBackend } from '../backend';
import { evalLoader, loadRunModel } from '../run-model';
import { parseCommandArgs, required, type Command } from '../command';

const usage = `Usage: clip-senet eval --run <run-dir> [--config <file.yaml>] [--checkpoint <file>] [--out <file.json>] [--flip] [--set key.path=value ...]

Evaluate a trained run (its resolved-config.yaml + latest checkpoint) with the protocol its data + eval sections
give (VeRi-776 / VeRi-Wild query/gallery, VehicleID mean ± std over the seeded draws).

  --run <dir>          run folder written by 'clip-senet train'
  --config <file>      evaluate with this config instead of the run's resolved-config.yaml; it may differ from the
                       run's only in evaluation settings (eval.*, train.eval.flip), anything else is an error
  --checkpoint <file>  a specific checkpoint (default: the latest in <run>/checkpoints)
  --out <file>         results JSON (default: <run>/eval.json)
  --flip               flip test-time augmentation (also on when the config's train.eval.flip is)
  --set k=v            override the resolved config, e.g. --set eval.rerank.enabled=true
  -h, --help           this text

The results JSON is tagged with the protocol id, seed, backend and commit, and holds the config's
train.eval.rankedLists top-10 lists, like the final evaluation of 'clip-senet train'.`;

/** The config to evaluate with: the run's own, or `configFile` when it describes the same training (see --config). */
export function evalConfig(runDir: string, configFile: string | undefined, overrides: readonly string[]): ExperimentConfig {
  const own = loadRunConfig(runDir, overrides);
  if (configFile === undefined) return own;
  const other = loadExperimentConfig(resolve(configFile), overrides);
  const diff = trainingDifferences(own, other);
  if (diff.length > 0) {
    throw new Error(`${resolve(configFile)}: differs from the run's ${join(runDir, 'resolved-config.yaml')} outside the evaluation settings ` +
      `(eval.*, train.eval.flip) at ${diff.slice(0, 5).map((d) => `'${d}'`).join(', ')}${diff.length > 5 ? ', …' : ''}: it does not describe the training of that run`);
  }
  return other;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: "evaluate a run's checkpoint (results tagged with the protocol id)",
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('eval', args, {
      run: { type: 'string' },
      config: { type: 'string' },
      checkpoint: { type: 'string' },
      out: { type: 'string' },
      flip: { type: 'boolean' },
      set: { type: 'string', multiple: true },
    });
    const runDir = resolve(required('eval', opts.run, '--run'));
    const config = withRepoPaths(evalConfig(runDir, opts.config, opts.set ?? []));
    await prepareBackend();
    const data = loadData(config.data);
    const plan = evaluationFor(config, data);
    const model = loadRunModel(runDir, config, opts.checkpoint);
    const loader = evalLoader(model, config);
    const outFile = resolve(opts.out ?? join(runDir, 'eval.json'));
    try {
      const r = await evaluateModel(model, {
        query: plan.query, gallery: plan.gallery, protocol: plan.protocol, loader,
        flip: opts.flip === true || config.train.eval.flip, batchSize: config.train.eval.batchSize, seed: config.train.seed,
        rankedLists: config.train.eval.rankedLists,
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
