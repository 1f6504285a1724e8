/**
 * The training data stream: a P×K sampler (positions) feeding the batch loader (decode + augment, prefetched)
 * as a resumable {@link BatchSource}. The sampler runs ahead of training by the loader's prefetch depth, so
 * the state saved in a checkpoint is the sampler state recorded right after the *consumed* batch was drawn,
 * not the sampler's current (prefetched) state — a resumed run then sees exactly the batches it would have.
 */
import type { BatchLoader, BatchRequest, LoadedBatch, PKSampler, PKSamplerState } from '@clip-senet/datasets';
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
