/**
 * The components a config can name, for `--help` texts, read from the registries themselves (backbone presets,
 * fusion variants, losses): a new entry appears here without anyone editing a help string.
 */
import { fusions } from '@clip-senet/afem';
import { backbones } from '@clip-senet/backbones';
import { losses } from '@clip-senet/losses';

const row = (name: string, text: string): string => `    ${name.padEnd(24)}${text}`;

/** One section per config key that names a registry entry. */
export function componentsHelp(): string {
  const section = (title: string, rows: string[]): string => `  ${title}\n${rows.join('\n')}`;
  return [
    'Components a config names (from the registries; each also takes its own knobs, see the configs):',
    section('model.appearance.backbone.name, model.sem.backbone.name (or a custom resnet / clip-vit):', backbones.list().map((n) => row(n, backbones.get(n).describe))),
    section('model.fusion.name:', fusions.list().map((n) => row(n, `${fusions.get(n).formula} — ${fusions.get(n).source}`))),
    section('losses[].name:', losses.list().map((n) => row(n, losses.get(n).describe))),
  ].join('\n');
}
