/**
 * Supervised probe of the SEM's image tower: how well can it learn one caption attribute when it is told the answer?
 * Trains a fresh tower (the `pretrainSem.image` / `input` of a config) plus a linear head with cross-entropy on that
 * attribute alone, on pretrain-sem's training identities (`pretrainSplit`) with its optimiser and schedule, and
 * scores the held-out identities after every epoch. A supervised ceiling for the zero-shot numbers: when it is low
 * too, the tower (its resolution, size, training budget), not the text alignment, limits the attribute.
 *
 * It runs on the engine's one training loop (`train`): the data are a {@link BatchSource}, the held-out evaluation
 * is a hook at each epoch's end, and the run has the same guards as pretrain-sem (non-finite values, tensor leaks).
 * The CLI is `sem-supervised-probe.ts`.
 */
import { Rng, tf, validated } from '@clip-senet/core';
import type { Scalar, Tensor2D, Tensor4D } from '@clip-senet/core';
import { buildBackbone } from '@clip-senet/backbones';
import { createBatchLoader, type BatchLoader, type CaptionRecord } from '@clip-senet/datasets';
import {
  buildOptimizer, buildSchedule, captionSample, pretrainSplit, runHooks, PretrainSemConfigSchema, shuffledSource, train,
  type PretrainSemConfigInput, type TrainHook, type TrainResult, type ZeroShotAttribute,
} from '@clip-senet/engine';

/** Options of {@link runSupervisedProbe}. */
export interface SupervisedProbeOptions {
  /** Root of a synthetic world (its `pretrain/captions.jsonl` is read). */
  readonly worldRoot: string;
  /** A config's `pretrainSem` block: seed, tower, input, batch size, optimiser, schedule, hold-out fraction. */
  readonly config: PretrainSemConfigInput;
  readonly attribute: ZeroShotAttribute;
  /** Training epochs: the probe's own budget, not `config.epochs`. */
  readonly epochs: number;
  /** Called after each epoch's held-out evaluation of `heldOut` images (the CLI prints it while the run goes on). */
  readonly onEpoch?: (entry: ProbeEpoch, heldOut: number) => void;
}

/** One epoch of the probe. */
export interface ProbeEpoch {
  /** 1-based number of the epoch. */
  readonly epoch: number;
  /** Mean training loss (cross-entropy) of the epoch's steps, as the loop reported them. */
  readonly trainLoss: number;
  /** Fraction of held-out images whose attribute the head guessed right. */
  readonly accuracy: number;
}

/** Held-out guesses by true value: `counts[t][g]` images of `truths[t]` were guessed `guesses[g]`. */
export interface ProbeConfusion {
  /** Every value among the held-out images, sorted (the rows). */
  readonly truths: readonly string[];
  /** The head's classes: every value among the training images, sorted (the columns). */
  readonly guesses: readonly string[];
  readonly counts: readonly (readonly number[])[];
}

/** What {@link runSupervisedProbe} measured. */
export interface SupervisedProbeResult {
  /** How the loop ended ('interrupted' after SIGINT / SIGTERM: `epochs` then holds the epochs completed). */
  readonly result: TrainResult;
  /** Number of held-out images scored each epoch. */
  readonly heldOut: number;
  readonly epochs: readonly ProbeEpoch[];
  /** Of the last completed epoch; undefined when none completed. */
  readonly confusion: ProbeConfusion | undefined;
}

interface LabelledBatch {
  readonly images: Tensor4D;
  /** One-hot labels [N, classes]. */
  readonly labels: Tensor2D;
}

/** The head's guess (class index) for each held-out image, 64 images at a time, and the confusion counts. */
async function scoreHeldOut(records: readonly CaptionRecord[], loader: BatchLoader, guess: (images: Tensor4D) => tf.Tensor1D, attribute: ZeroShotAttribute, labels: Omit<ProbeConfusion, 'counts'>): Promise<{ accuracy: number; confusion: ProbeConfusion }> {
  const counts = labels.truths.map(() => labels.guesses.map(() => 0));
  let correct = 0;
  for (let i = 0; i < records.length; i += 64) {
    const rs = records.slice(i, i + 64);
    const batch = await loader.load({ epoch: 0, index: i, samples: rs.map(captionSample) });
    let guessed: tf.Tensor1D;
    try {
      guessed = guess(batch.images);
    } finally {
      batch.images.dispose();
    }
    let pred: Int32Array | Float32Array | Uint8Array;
    try {
      pred = await guessed.data(); // not dataSync: a synchronous read blocks the event loop (signals) and is impossible on webgpu
    } finally {
      guessed.dispose();
    }
    rs.forEach((r, k) => {
      const g = pred[k]!;
      if (labels.guesses[g] === r.attributes[attribute]) correct += 1;
      counts[labels.truths.indexOf(r.attributes[attribute])]![g]! += 1;
    });
  }
  return { accuracy: correct / records.length, confusion: { ...labels, counts } };
}

/** Mean train loss of each epoch (from the steps the loop reports) and the held-out evaluation at its end. */
function probeHook(evaluate: () => Promise<{ accuracy: number; confusion: ProbeConfusion }>, onEpoch: (entry: ProbeEpoch, confusion: ProbeConfusion) => void): TrainHook {
  let sum = 0;
  let steps = 0;
  return {
    name: 'supervised-probe',
    onStepEnd(_ctx, s) {
      sum += s.losses.total!;
      steps += 1;
    },
    async onEpochEnd(_ctx, epoch) {
      const { accuracy, confusion } = await evaluate();
      onEpoch({ epoch: epoch + 1, trainLoss: sum / steps, accuracy }, confusion);
      [sum, steps] = [0, 0];
    },
  };
}

/** A linear head [featureDim, classes], N(0, 0.02) from `rng`. */
function linearHead(featureDim: number, classes: number, rng: Rng): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor2d(Float32Array.from({ length: featureDim * classes }, () => rng.normal(0, 0.02)), [featureDim, classes])));
}

/**
 * Train the config's SEM image tower + a linear head on one attribute for `epochs` epochs and score the held-out
 * identities after each. Deterministic for a config on a backend: the tower, head, augmentation and batch order are
 * drawn from the config seed's `image`, `head`, `augment` and `epoch/<e>` streams.
 */
export async function runSupervisedProbe(opts: SupervisedProbeOptions): Promise<SupervisedProbeResult> {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new Error(`runSupervisedProbe: epochs must be a positive integer, got ${opts.epochs}`);
  const cfg = validated(PretrainSemConfigSchema, opts.config);
  const attr = opts.attribute;
  const rng = new Rng(cfg.seed);
  const { train: trainSet, heldOut } = pretrainSplit(opts.worldRoot, cfg); // pretrain-sem's own split
  const classes = [...new Set(trainSet.map((r) => r.attributes[attr]))].sort();
  const truths = [...new Set([...classes, ...heldOut.map((r) => r.attributes[attr])])].sort();
  const tower = buildBackbone(cfg.image, { rng: rng.derive('image') });
  const head = linearHead(tower.featureDim, classes.length, rng.derive('head'));
  const params = new Map<string, tf.Variable>([...[...tower.params].map(([k, v]) => [`tower.${k}`, v] as const), ['head', head]]);
  const optimizer = buildOptimizer(cfg.optimizer, params);
  const branch = { size: cfg.input.size, normalization: cfg.input.normalization };
  const loader = createBatchLoader({ branches: [{ ...branch, flipProb: cfg.flipProb }], seed: rng.derive('augment').uint32(), ...(cfg.workers !== null ? { workers: cfg.workers } : {}) });
  const evalLoader = createBatchLoader({ branches: [branch], seed: 0, workers: 0 });
  try {
    const logits = (images: Tensor4D, training: boolean): Tensor2D => tf.matMul(tower.forward(images, { training }).features, head);
    const perEpoch = Math.floor(trainSet.length / cfg.batchSize);
    const epochs: ProbeEpoch[] = [];
    let confusion: ProbeConfusion | undefined;
    const evaluate = (): ReturnType<typeof scoreHeldOut> =>
      scoreHeldOut(heldOut, evalLoader, (images) => tf.tidy(() => tf.argMax(logits(images, false), 1) as tf.Tensor1D), attr, { truths, guesses: classes });
    const hook = probeHook(evaluate, (entry, c) => {
      epochs.push(entry);
      confusion = c;
      opts.onEpoch?.(entry, heldOut.length);
    });
    const result = await train({
      optimizer,
      // Epoch e's order comes from the config seed's root stream (not pretrain-sem's `order` stream): the stream the
      // probe has always used, so the numbers quoted from it (configs/synthetic/sem.yaml) stay reproducible.
      data: shuffledSource<CaptionRecord, LabelledBatch>(trainSet, loader, {
        what: 'runSupervisedProbe (pretrainSem.batchSize)', batchSize: cfg.batchSize, rng, sample: captionSample,
        batch: (picked, images) => ({ images, labels: tf.oneHot(picked.map((r) => classes.indexOf(r.attributes[attr])), classes.length) as Tensor2D }),
      }),
      epochs: opts.epochs,
      stepsPerEpoch: perEpoch,
      schedule: buildSchedule(cfg.schedule, { lr: cfg.optimizer.lr, totalSteps: opts.epochs * perEpoch, stepsPerEpoch: perEpoch }), // pretrain-sem's schedule
      hooks: runHooks({ extra: [hook] }),
      lossFn: (b) => {
        const term = tf.losses.softmaxCrossEntropy(b.labels, logits(b.images, true)) as Scalar;
        return { total: term, terms: { 'cross-entropy': term } };
      },
    });
    return { result, heldOut: heldOut.length, epochs, confusion };
  } finally {
    await loader.close();
    await evalLoader.close();
    optimizer.dispose();
    tower.dispose();
    head.dispose();
  }
}
