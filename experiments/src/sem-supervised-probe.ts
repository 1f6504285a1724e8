/**
 * Diagnostic: how well can the SEM's image tower learn one caption attribute when it is told the answer? Trains a
 * fresh tower (the `pretrainSem.image` / `input` of a config) plus a linear head with cross-entropy on that
 * attribute alone, on the same training identities, optimiser and schedule as `pretrain-sem`, and prints held-out accuracy after every
 * epoch and the confusion matrix at the end. A supervised ceiling for the zero-shot numbers: when it is low too,
 * the tower (its resolution, size, training budget), not the text alignment, limits the attribute.
 *
 *   cd experiments && CLIP_SENET_WASM_THREADS=1 npx tsx src/sem-supervised-probe.ts --config configs/synthetic/sem.yaml --attribute type --epochs 8
 */
import { parseArgs } from 'node:util';
import { Rng, tf } from '@clip-senet/core';
import { buildBackbone } from '@clip-senet/backbones';
import { createBatchLoader, type CaptionRecord } from '@clip-senet/datasets';
import { buildOptimizer, buildSchedule, pretrainSplit, PretrainSemConfigSchema, ZERO_SHOT_ATTRIBUTES, type ZeroShotAttribute } from '@clip-senet/engine';
import { prepareBackend } from './backend';
import { loadExperimentConfig } from './config';
import { ensureSyntheticWorld } from './data';

const { values } = parseArgs({ options: { config: { type: 'string' }, attribute: { type: 'string', default: 'type' }, epochs: { type: 'string', default: '8' }, set: { type: 'string', multiple: true } } });
if (values.config === undefined) throw new Error('sem-supervised-probe: --config <file.yaml> is required');
const attr = values.attribute as ZeroShotAttribute;
if (!ZERO_SHOT_ATTRIBUTES.includes(attr)) throw new Error(`sem-supervised-probe: --attribute must be one of ${ZERO_SHOT_ATTRIBUTES.join(', ')}, got '${attr}'`);
const epochs = Number(values.epochs);
if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`sem-supervised-probe: --epochs must be a positive integer, got '${values.epochs}'`);

const config = loadExperimentConfig(values.config, values.set ?? []);
const cfg = PretrainSemConfigSchema.parse(config.pretrainSem);
await prepareBackend();
const rng = new Rng(cfg.seed);
const { train, heldOut } = pretrainSplit(ensureSyntheticWorld(config.data), cfg); // pretrain-sem's own split
const classes = [...new Set(train.map((r) => r.attributes[attr]))].sort();
const tower = buildBackbone(cfg.image, { rng: rng.derive('image') });
const headRng = rng.derive('head');
const head = tf.variable(tf.tensor2d(Float32Array.from({ length: tower.featureDim * classes.length }, () => headRng.normal(0, 0.02)), [tower.featureDim, classes.length]));
const params = new Map([...[...tower.params].map(([k, v]) => [`tower.${k}`, v] as const), ['head', head] as const]);
const optimizer = buildOptimizer(cfg.optimizer, params);
const branch = { size: cfg.input.size, normalization: cfg.input.normalization };
const loader = createBatchLoader({ branches: [{ ...branch, flipProb: cfg.flipProb }], seed: rng.derive('augment').uint32(), workers: 0 });
const evalLoader = createBatchLoader({ branches: [branch], seed: 0, workers: 0 });
const samples = (rs: readonly CaptionRecord[]): { path: string; vehicleId: number; cameraId: number }[] => rs.map((r) => ({ path: r.image, vehicleId: r.vehicleId, cameraId: -1 }));
const logits = (images: tf.Tensor4D, training: boolean): tf.Tensor2D => tf.matMul(tower.forward(images, { training }).features, head);
const perEpoch = Math.floor(train.length / cfg.batchSize);
const schedule = buildSchedule(cfg.schedule, { lr: cfg.optimizer.lr, totalSteps: epochs * perEpoch, stepsPerEpoch: perEpoch }); // pretrain-sem's schedule

for (let epoch = 0; epoch < epochs; epoch++) {
  const order = rng.derive(`epoch/${epoch}`).shuffle(train.map((_, i) => i));
  let lossSum = 0;
  for (let b = 0; b < perEpoch; b++) {
    const picked = order.slice(b * cfg.batchSize, (b + 1) * cfg.batchSize).map((i) => train[i]!);
    const batch = await loader.load({ epoch, index: b, samples: samples(picked) });
    const labels = tf.oneHot(picked.map((r) => classes.indexOf(r.attributes[attr])), classes.length);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, logits(batch.images, true)) as tf.Scalar, [...params.values()]);
    lossSum += (await value.data())[0]!;
    optimizer.step(new Map([...params].map(([k, v]) => [k, grads[v.name]!])), schedule(epoch * perEpoch + b));
    tf.dispose([value, labels, batch.images, ...Object.values(grads)]);
  }
  const confusion = new Map<string, number>();
  let correct = 0;
  for (let i = 0; i < heldOut.length; i += 64) {
    const rs = heldOut.slice(i, i + 64);
    const batch = await evalLoader.load({ epoch: 0, index: i, samples: samples(rs) });
    const pred = tf.tidy(() => tf.argMax(logits(batch.images, false), 1).dataSync());
    batch.images.dispose();
    rs.forEach((r, k) => {
      const guess = classes[pred[k]!]!;
      if (guess === r.attributes[attr]) correct += 1;
      confusion.set(`${r.attributes[attr]}>${guess}`, (confusion.get(`${r.attributes[attr]}>${guess}`) ?? 0) + 1);
    });
  }
  process.stdout.write(`epoch ${epoch + 1}/${epochs}: train loss ${(lossSum / perEpoch).toFixed(3)}, held-out ${attr} accuracy ${(correct / heldOut.length).toFixed(3)} (${heldOut.length} images)\n`);
  if (epoch === epochs - 1) {
    process.stdout.write(`confusion (rows: truth, columns: guess)\n${''.padEnd(12)}${classes.map((c) => c.slice(0, 7).padStart(8)).join('')}\n`);
    for (const t of classes) process.stdout.write(`${t.padEnd(12)}${classes.map((g) => String(confusion.get(`${t}>${g}`) ?? 0).padStart(8)).join('')}\n`);
  }
}
await loader.close();
await evalLoader.close();
optimizer.dispose();
tower.dispose();
head.dispose();
