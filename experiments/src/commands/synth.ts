/** `clip-senet synth`: generate (or reuse) the synthetic world a config names and print where it is. */
import { join, relative } from 'node:path';
import { readFileSync } from 'node:fs';
import { loadExperimentConfig } from '../config';
import { ensureSyntheticWorld, REPO_ROOT } from '../data';
import { parseCommandArgs, UsageError, type Command } from '../command';

/** The embedded world of the default profile. */
export const DEFAULT_WORLD_CONFIG = join(import.meta.dirname, '..', '..', 'configs', 'synthetic', 'world.yaml');

const usage = `Usage: clip-senet synth [--config <file.yaml>] [--set key.path=value ...]

Generate the synthetic vehicle world of a config's 'data' section (default: configs/synthetic/world.yaml, the
embedded world of every ablation's default profile) under the git-ignored datasets/synthetic/<seed>-<hash>/,
in the exact VeRi-776 layout. An existing world with the same parameters is verified and reused.

  --config <file>   experiment YAML whose data.dataset is 'synthetic'
  --set k=v         override a config value (repeatable)
  -h, --help        this text`;

export const synthCommand: Command = {
  name: 'synth',
  summary: 'generate the embedded synthetic world',
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('synth', args, { config: { type: 'string' }, set: { type: 'string', multiple: true } });
    const config = loadExperimentConfig(opts.config ?? DEFAULT_WORLD_CONFIG, opts.set ?? []);
    if (config.data.dataset !== 'synthetic') throw new UsageError(`clip-senet synth: data.dataset is '${config.data.dataset}', not 'synthetic'`);
    const root = ensureSyntheticWorld(config.data);
    const world = JSON.parse(readFileSync(join(root, 'world.json'), 'utf8')) as { counts?: Record<string, number> };
    io.out(`synthetic world: ${relative(REPO_ROOT, root)}${world.counts ? ` ${JSON.stringify(world.counts)}` : ''}\n`);
    await Promise.resolve();
  },
};
