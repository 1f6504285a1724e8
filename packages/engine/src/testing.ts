/**
 * Test fixtures: a tiny conv classifier built directly from tf ops (with one BatchNorm-style running-mean buffer)
 * and a deterministic, resumable synthetic batch source — enough to exercise the training machinery fast.
 */
import { Rng, tf } from '@clip-senet/core';
import type { RngState, Scalar, Tensor2D, Tensor4D, Variable } from '@clip-senet/core';
import type { Replica, Shard } from './data-parallel';
import type { BatchSource, LossOutput, SourceBatch } from './train';

/** Parameters and buffers only (checkpoint tests). */
export interface TinyTensors {
  readonly params: Map<string, Variable>;
  readonly buffers: Map<string, Variable>;
}

/** Two parameters and one buffer drawn from `seed`: what checkpoint save / load / restore tests need. */
export function tinyCheckpointTensors(seed: number): TinyTensors {
  const r = new Rng(seed);
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => r.normal());
  return {
    params: new Map<string, Variable>([
      ['fc.weight', tf.variable(tf.tensor2d(rand(6), [3, 2]), true)],
      ['fc.bias', tf.variable(tf.tensor1d(rand(2)), true)],
    ]),
    buffers: new Map<string, Variable>([['bn.running_mean', tf.variable(tf.tensor1d(rand(2)), false)]]),
  };
}

/** Free {@link tinyCheckpointTensors}. */
export function disposeTinyTensors(m: TinyTensors): void {
  for (const v of [...m.params.values(), ...m.buffers.values()]) v.dispose();
}

/** The tiny model's tensors and forward pass. */
export interface TinyModel {
  readonly params: Map<string, Variable>;
  readonly buffers: Map<string, Variable>;
  /** conv3×3 → ReLU → global mean pool → (update running mean when training) → linear. */
  forward(x: Tensor4D, training: boolean): { features: Tensor2D; logits: Tensor2D };
  dispose(): void;
}

/** A tiny conv classifier over [N, 8, 8, 3] inputs, weights drawn from `seed`. */
export function tinyConvModel(seed: number, classes = 3, width = 4): TinyModel {
  const r = new Rng(seed);
  // tf.tidy frees each initial tensor (a variable keeps its own reference to the data)
  const randn = (shape: number[], std: number): Variable =>
    tf.tidy(() => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal(0, std)), shape), true));
  const zeros = (n: number, trainable: boolean): Variable => tf.tidy(() => tf.variable(tf.zeros([n]), trainable));
  const params = new Map<string, Variable>([
    ['conv.weight', randn([3, 3, 3, width], 0.3)],
    ['conv.bias', zeros(width, true)],
    ['fc.weight', randn([width, classes], 0.3)],
    ['fc.bias', zeros(classes, true)],
  ]);
  const buffers = new Map<string, Variable>([['bn.running_mean', zeros(width, false)]]);
  return {
    params,
    buffers,
    forward(x, training) {
      const h = tf.relu(tf.add(tf.conv2d(x, params.get('conv.weight') as Variable<tf.Rank.R4>, 1, 'same'), params.get('conv.bias')!));
      const features = tf.mean(h, [1, 2]) as Tensor2D; // [N, H, W, C] → [N, C]
      if (training) {
        const rm = buffers.get('bn.running_mean')!;
        rm.assign(tf.add(tf.mul(rm, 0.9), tf.mul(tf.mean(features, 0), 0.1)));
      }
      const logits = tf.add(tf.matMul(features, params.get('fc.weight')!), params.get('fc.bias')!) as Tensor2D;
      return { features, logits };
    },
    dispose() {
      for (const v of [...params.values(), ...buffers.values()]) v.dispose();
    },
  };
}

/** A batch of the synthetic source. */
export interface TinyBatch {
  readonly images: Tensor4D;
  readonly labels: Int32Array;
}

/** Position of {@link tinySource}. */
export interface TinySourceState {
  readonly rng: RngState;
  readonly epoch: number;
  readonly index: number;
}

/**
 * Batches of `batchSize` 8×8 images whose mean colour depends on the class, plus noise; `batchesPerEpoch`
 * batches per epoch. Resumes exactly from `state`.
 */
export function tinySource(seed: number, opts: { batchSize?: number; batchesPerEpoch?: number; classes?: number; state?: TinySourceState } = {}): BatchSource<TinyBatch> {
  const n = opts.batchSize ?? 6;
  const per = opts.batchesPerEpoch ?? 4;
  const classes = opts.classes ?? 3;
  const rng = opts.state ? Rng.fromState(opts.state.rng) : new Rng(seed);
  let epoch = opts.state?.epoch ?? 0;
  let index = opts.state?.index ?? 0;
  return {
    next(): SourceBatch<TinyBatch> {
      const labels = Int32Array.from({ length: n }, () => rng.int(classes));
      const data = new Float32Array(n * 8 * 8 * 3);
      for (let i = 0; i < data.length; i++) {
        const c = i % 3;
        const label = labels[Math.floor(i / 192)]!;
        data[i] = (c === label ? 1 : 0) + 0.5 * rng.normal();
      }
      const out = { batch: { images: tf.tensor4d(data, [n, 8, 8, 3]), labels }, epoch, index, lastInEpoch: index === per - 1, size: n };
      index += 1;
      if (index === per) {
        epoch += 1;
        index = 0;
      }
      return out;
    },
    state: (): TinySourceState => ({ rng: rng.state(), epoch, index }),
    release: (b) => b.images.dispose(),
  };
}

/** Cross-entropy + a small feature-norm term, each returned by name. */
export function tinyLoss(model: TinyModel, batch: TinyBatch, classes = 3): LossOutput {
  const { features, logits } = model.forward(batch.images, true);
  const onehot = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes);
  const ce = tf.losses.softmaxCrossEntropy(onehot, logits) as Scalar;
  const reg = tf.mul(tf.mean(tf.sum(tf.square(features), 1)), 1e-3) as Scalar;
  return { total: tf.add(ce, reg) as Scalar, terms: { ce, feature_l2: reg } };
}

/** A shard of a {@link TinyBatch} as sent to a data-parallel worker. */
export interface TinyPayload {
  readonly images: Float32Array;
  readonly shape: [number, number, number, number];
  readonly labels: Int32Array;
}

/** Data-parallel replica factory of the tiny model (recipe export). */
export function tinyReplica(args: { seed: number }): Replica {
  const model = tinyConvModel(args.seed);
  return {
    params: model.params,
    buffers: model.buffers,
    lossFn: (p) => {
      const { images, shape, labels } = p as TinyPayload;
      return tinyLoss(model, { images: tf.tensor4d(images, shape), labels });
    },
  };
}

/** Cut a tiny batch into `n` contiguous shards. */
export function splitTinyBatch(batch: TinyBatch, n: number): Shard[] {
  const [size, h, w, c] = batch.images.shape;
  const data = batch.images.dataSync() as Float32Array;
  const per = Math.ceil(size / n);
  const shards: Shard[] = [];
  for (let start = 0; start < size; start += per) {
    const rows = Math.min(per, size - start);
    const payload: TinyPayload = { images: data.slice(start * h * w * c, (start + rows) * h * w * c), shape: [rows, h, w, c], labels: batch.labels.slice(start, start + rows) };
    shards.push({ payload, size: rows });
  }
  return shards;
}
