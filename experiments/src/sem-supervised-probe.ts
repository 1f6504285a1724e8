/**
 * Diagnostic CLI: how well can the SEM's image tower learn one caption attribute when it is told the answer?
 * Trains a fresh tower (the `pretrainSem.image` / `input` of a config) plus a linear head with cross-entropy on that
 * attribute alone, on the same training identities, optimiser and schedule as `pretrain-sem`, and prints held-out
 * accuracy after every epoch and the confusion matrix at the end (`runSupervisedProbe`, sem-probe.ts). A supervised
 * ceiling for the zero-shot numbers: when it is low too, the tower, not the text alignment, limits the attribute.
 *
 *   cd experiments && CLIP_SENET_WASM_THREADS=1 npx tsx src/sem-supervised-probe.ts --config configs/synthetic/sem.yaml --attribute type --epochs 8
 */
import { parseArgs } from 'node:util';
import { ZERO_SHOT_ATTRIBUTES, type ZeroShotAttribute } from '@clip-senet/engine';
import { prepareBackend } from './backend';
import { loadExperimentConfig } from './config';
import { ensureSyntheticWorld } from './data';
import { runSupervisedProbe, type ProbeConfusion } from './sem-probe';

const { values } = parseArgs({ options: { config: { type: 'string' }, attribute: { type: 'string', default: 'type' }, epochs: { type: 'string', default: '8' }, set: { type: 'string', multiple: true } } });
if (values.config === undefined) throw new Error('sem-supervised-probe: --config <file.yaml> is required');
const attr = values.attribute as ZeroShotAttribute;
if (!ZERO_SHOT_ATTRIBUTES.includes(attr)) throw new Error(`sem-supervised-probe: --attribute must be one of ${ZERO_SHOT_ATTRIBUTES.join(', ')}, got '${attr}'`);
const epochs = Number(values.epochs);
if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`sem-supervised-probe: --epochs must be a positive integer, got '${values.epochs}'`);

const config = loadExperimentConfig(values.config, values.set ?? []);
await prepareBackend();
const probe = await runSupervisedProbe({
  worldRoot: ensureSyntheticWorld(config.data),
  config: config.pretrainSem,
  attribute: attr,
  epochs,
  onEpoch: (e, heldOut) => process.stdout.write(`epoch ${e.epoch}/${epochs}: train loss ${e.trainLoss.toFixed(3)}, held-out ${attr} accuracy ${e.accuracy.toFixed(3)} (${heldOut} images)\n`),
});
if (probe.result.reason === 'interrupted') process.stdout.write(`stopped by ${probe.result.stoppedBy} after ${probe.epochs.length} of ${epochs} epochs\n`);
if (probe.confusion !== undefined) printConfusion(probe.confusion);

function printConfusion(c: ProbeConfusion): void {
  process.stdout.write(`confusion (rows: truth, columns: guess)\n${''.padEnd(12)}${c.guesses.map((g) => g.slice(0, 7).padStart(8)).join('')}\n`);
  c.truths.forEach((t, i) => process.stdout.write(`${t.padEnd(12)}${c.counts[i]!.map((n) => String(n).padStart(8)).join('')}\n`));
}
