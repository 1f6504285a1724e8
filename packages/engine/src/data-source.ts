/**
 * The training data streams. {@link samplerSource}: a P×K sampler (positions) feeding the batch loader (decode + augment, prefetched)
 * as a resumable {@link BatchSource}. The sampler runs ahead of training by the loader's prefetch depth, so
 * the state saved in a checkpoint is the sampler state recorded right after the *consumed* batch was drawn,
 * not the sampler's current (prefetched) state — a resumed run then sees exactly the batches it would have.
 * {@link shuffledSource}: every record once per epoch in a seeded shuffled order (SEM pretraining, the SEM probe).
 */
import { tf, type Rng, type Tensor4D } from '@clip-senet/core';
import type { BatchLoader, BatchRequest, CaptionRecord, LoadedBatch, PKSampler, PKSamplerState, Sample } from '@clip-senet/datasets';
import { disposeBatch } from '@clip-senet/datasets';
import type { BatchSource, SourceBatch } from './train';

/** A {@link BatchSource} that can also stop its prefetching. */
export interface ClosableBatchSource<B> extends BatchSource<B> {
  close(): Promise<void>;
}

/** Stream P×K batches of `sampler` through `loader`; `state()` is a `PKSamplerState` (restore with `createPKSampler({ state })`). */
export function samplerSource(sampler: PKSampler, loader: BatchLoader): ClosableBatchSource<LoadedBatch> {
  const pending: PKSamplerState[] = [];
  let consumed = sampler.state();
  function* requests(): Generator<BatchRequest> {
    for (;;) {
      const b = sampler.next();
      pending.push(sampler.state());
      yield { epoch: b.epoch, index: b.index, samples: b.samples };
    }
  }
  const stream = loader.stream(requests());
  return {
    async next(): Promise<SourceBatch<LoadedBatch>> {
      const r = await stream.next();
      if (r.done) throw new Error('samplerSource: the batch stream ended');
      consumed = pending.shift()!;
      const batch = r.value;
      return { batch, epoch: batch.epoch, index: batch.index, lastInEpoch: batch.index === sampler.epochPlan(batch.epoch).length - 1, size: batch.samples.length };
    },
    state: (): PKSamplerState => consumed,
    release: disposeBatch,
    async close() {
      await stream.return(undefined);
    },
  };
}

/** The image of a captioned record as a loader sample (captions carry no camera: `cameraId` −1). */
export function captionSample(record: CaptionRecord): Sample {
  return { path: record.image, vehicleId: record.vehicleId, cameraId: -1 };
}

/** Where a {@link shuffledSource} is: batch `index` of epoch `epoch` comes next. */
export interface ShuffledSourceState {
  readonly epoch: number;
  readonly index: number;
}

/** Options of {@link shuffledSource}. */
export interface ShuffledSourceOptions<R, B extends { readonly images: Tensor4D }> {
  /** What the records are, for the error when there are fewer of them than one batch (e.g. `pretrain`). */
  readonly what: string;
  readonly batchSize: number;
  /** Epoch e's order is `rng.derive('epoch/<e>')`'s shuffle of the record indices. */
  readonly rng: Rng;
  /** The image to load for a record. */
  readonly sample: (record: R) => Sample;
  /** The batch from the picked records and their loaded images (labels, tokens, … made here are released with it). */
  readonly batch: (records: readonly R[], images: Tensor4D) => B;
  /** Resume here (default: the start). */
  readonly start?: ShuffledSourceState;
}

/**
 * Every record once per epoch, in batches of `batchSize` (the tail that does not fill a batch is dropped), in an
 * order drawn per epoch from `rng`: a resumable {@link BatchSource} whose `state()` is a {@link ShuffledSourceState}.
 * Releasing a batch disposes every tensor it holds.
 */
export function shuffledSource<R, B extends { readonly images: Tensor4D }>(records: readonly R[], loader: BatchLoader, opts: ShuffledSourceOptions<R, B>): BatchSource<B> & { release(batch: B): void } {
  const { batchSize, rng } = opts;
  const per = Math.floor(records.length / batchSize);
  if (per < 1) throw new Error(`${opts.what}: ${records.length} training images < batch size ${batchSize}`);
  let { epoch, index } = opts.start ?? { epoch: 0, index: 0 };
  let order: { epoch: number; indices: number[] } | undefined;
  return {
    async next(): Promise<SourceBatch<B>> {
      if (order?.epoch !== epoch) order = { epoch, indices: rng.derive(`epoch/${epoch}`).shuffle(records.map((_, i) => i)) };
      const picked = order.indices.slice(index * batchSize, (index + 1) * batchSize).map((i) => records[i]!);
      const loaded = await loader.load({ epoch, index, samples: picked.map(opts.sample) });
      const out = { batch: opts.batch(picked, loaded.images), epoch, index, lastInEpoch: index === per - 1, size: picked.length };
      index += 1;
      if (index === per) [epoch, index] = [epoch + 1, 0];
      return out;
    },
    state: (): ShuffledSourceState => ({ epoch, index }),
    release: (b) => tf.dispose((Object.values(b) as unknown[]).filter((v): v is tf.Tensor => v instanceof tf.Tensor)),
  };
}
