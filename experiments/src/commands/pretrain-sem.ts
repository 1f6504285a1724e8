/** `clip-senet pretrain-sem`: CLIP-style SEM pretraining on the synthetic world's captions (`pretrainSem`). */
import { mkdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { pretrainSem, ZERO_SHOT_ATTRIBUTES } from '@clip-senet/engine';
import { loadExperimentConfig, writeResolvedConfig } from '../config';
import { ensureSyntheticWorld } from '../data';
import { prepareBackend } from '../backend';
import { parseCommandArgs, positiveInt, required, UsageError, type Command } from '../command';

const usage = `Usage: clip-senet pretrain-sem --config <file.yaml> [--set key.path=value ...] [--out <dir>] [--steps <n>] [--no-progress]

Pretrain the SEM (a small CLIP: ViT image tower + text tower, InfoNCE) on the synthetic world's captions
(config 'data' must be synthetic; settings under 'pretrainSem'). Resumes the output folder's checkpoint.

  --config <file>    experiment YAML
  --set k=v          override a config value, e.g. --set pretrainSem.epochs=2 (repeatable)
  --out <dir>        output folder (default: runs/<config name>-sem)
  --steps <n>        stop (with a checkpoint) after n steps
  --no-progress      no progress bar
  --replace-stale    if the output folder holds a run of another config, move it to <out>/stale-<hash>/ and
                     start afresh (default: refuse; the main job's pretrain-sem step passes it)
  -h, --help         this text

Writes sem-visual.safetensors (loads as model.sem.weights), sem-text.safetensors, tokenizer.json,
zero-shot.json, log.jsonl, checkpoints/ and resolved-config.yaml.`;

export const pretrainSemCommand: Command = {
  name: 'pretrain-sem',
  summary: 'pretrain the SEM CLIP-style on synthetic captions',
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('pretrain-sem', args, {
      config: { type: 'string' },
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      steps: { type: 'string' },
      'no-progress': { type: 'boolean' },
      'replace-stale': { type: 'boolean' },
    });
    const configPath = required('pretrain-sem', opts.config, '--config');
    const config = loadExperimentConfig(configPath, opts.set ?? []);
    if (config.data.dataset !== 'synthetic') throw new UsageError("clip-senet pretrain-sem: needs data.dataset 'synthetic' (the captions come from the generated world)");
    const steps = positiveInt('pretrain-sem', '--steps', opts.steps);
    const outDir = resolve(opts.out ?? join('runs', `${basename(configPath, extname(configPath))}-sem`));
    mkdirSync(outDir, { recursive: true });
    await prepareBackend();
    const worldRoot = ensureSyntheticWorld(config.data);
    const r = await pretrainSem({
      worldRoot, outDir, config: config.pretrainSem, progress: opts['no-progress'] !== true, replaceStale: opts['replace-stale'] === true,
      onReady: () => writeResolvedConfig(outDir, config), ...(steps !== undefined ? { stopAfterSteps: steps } : {}),
    });
    if (r.movedAside) io.out(`${outDir} held a run of another config: moved it to ${r.movedAside}\n`);
    io.out(`${r.result.reason} at step ${r.result.step}; output ${outDir}\n`);
    if (r.visualWeights) io.out(`image tower: ${r.visualWeights}\n`);
    if (r.zeroShot && r.probe) {
      const f = (x: number): string => x.toFixed(3);
      for (const attr of ZERO_SHOT_ATTRIBUTES) {
        const a = r.zeroShot[attr];
        io.out(`zero-shot ${attr}: ${f(a.accuracy)} (chance ${f(a.chance)}, majority ${f(a.majority)}) | balanced ${f(a.balancedAccuracy)} (${f(a.balancedChance)}); image-only probe ${f(r.probe[attr])}\n`);
      }
    }
  },
};
