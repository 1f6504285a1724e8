/**
 * P×K identity sampler (Hermans et al., "In Defense of the Triplet Loss", 2017; the `RandomIdentitySampler` of
 * reid-strong-baseline / fast-reid, with full coverage): every batch holds P distinct identities × K images.
 *
 * **Epoch.** Each identity's images are shuffled and cut into chunks of K. A last, short chunk is completed with
 * other images of the same identity (distinct from the chunk's), so no image is dropped; an identity with fewer
 * than K images forms one chunk holding all of them plus draws *with replacement* — the only case where an image
 * repeats within a batch.
 * Batches take one chunk from each of P distinct identities, chosen at random with probability proportional to
 * their remaining chunks (so identities with many images do not pile up at the end). When fewer than P
 * identities still have chunks, the batch is completed with fresh chunks of other identities. Hence every image
 * appears at least once per epoch, and an epoch has at least ⌈Σ⌈nᵢ/K⌉ / P⌉ batches (a few more when the
 * random choice leaves one identity's chunks for the end).
 *
 * **Determinism and resume.** Epoch e is planned from `rng.derive('epoch/<e>')` of the sampler's root stream, so
 * the state is just (root rng state, epoch, position) and `createPKSampler(samples, { ..., state })` continues
 * exactly where `state()` was taken.
 */
import { Rng, type RngState } from '@clip-senet/core';
import type { Sample } from './sample';

/** Serialisable sampler position (JSON). */
export interface PKSamplerState {
  readonly version: 1;
  readonly rng: RngState;
  readonly epoch: number;
  /** Index of the next batch within the epoch. */
  readonly position: number;
}

/** Options of {@link createPKSampler}. */
export interface PKSamplerOptions {
  /** Identities per batch. */
  readonly P: number;
  /** Images per identity. */
  readonly K: number;
  /** Root stream (ignored when `state` is given). */
  readonly rng: Rng;
  /** Resume from a saved state. */
  readonly state?: PKSamplerState;
}

/** One batch: its place in the stream and the samples (P·K, grouped by identity). */
export interface SampledBatch {
  readonly epoch: number;
  /** Batch index within the epoch. */
  readonly index: number;
  readonly samples: Sample[];
}

/** The identity key of a sample: its training label, or its vehicle id when unlabelled. */
export const identityOf = (s: Sample): number => s.label ?? s.vehicleId;

export interface PKSampler {
  readonly P: number;
  readonly K: number;
  readonly numIdentities: number;
  /** The next batch (crossing into the next epoch when the current one is exhausted). */
  next(): SampledBatch;
  /**
   * All batches of the current epoch from the current position on (of the next epoch when the current one is
   * used up), advancing to the start of the following epoch.
   */
  restOfEpoch(): SampledBatch[];
  /** Batches of epoch `e` (pure: does not move the sampler). */
  epochPlan(e: number): Sample[][];
  state(): PKSamplerState;
}

function chunksOf(images: readonly Sample[], K: number, r: Rng): Sample[][] {
  if (images.length < K) {
    // every image once, the rest drawn with replacement
    const chunk = r.shuffle([...images]);
    while (chunk.length < K) chunk.push(images[r.int(images.length)]!);
    return [chunk];
  }
  const order = r.shuffle([...images]);
  const chunks: Sample[][] = [];
  for (let i = 0; i < order.length; i += K) chunks.push(order.slice(i, i + K));
  const last = chunks[chunks.length - 1]!;
  if (last.length < K) {
    const inChunk = new Set(last);
    const others = r.shuffle(order.filter((s) => !inChunk.has(s)));
    last.push(...others.slice(0, K - last.length));
  }
  return chunks;
}

/** Pick `n` distinct keys with probability ∝ weight (Efraimidis–Spirakis keys u^(1/w)). */
function weightedDistinct(keys: readonly number[], weights: readonly number[], n: number, r: Rng): number[] {
  const scored = keys.map((k, i) => ({ k, s: Math.log(Math.max(r.float(), Number.MIN_VALUE)) / weights[i]! }));
  scored.sort((a, b) => b.s - a.s || a.k - b.k);
  return scored.slice(0, n).map((x) => x.k);
}

function planEpoch(byId: ReadonlyMap<number, Sample[]>, ids: readonly number[], P: number, K: number, r: Rng): Sample[][] {
  const queues = new Map(ids.map((id) => [id, chunksOf(byId.get(id)!, K, r.derive(`chunks/${id}`))]));
  const batches: Sample[][] = [];
  const fill = r.derive('fill');
  for (;;) {
    const alive = ids.filter((id) => queues.get(id)!.length > 0);
    if (alive.length === 0) break;
    const picked = weightedDistinct(alive, alive.map((id) => queues.get(id)!.length), Math.min(P, alive.length), r);
    const batch = picked.flatMap((id) => queues.get(id)!.shift()!);
    if (picked.length < P) {
      const extra = fill.shuffle(ids.filter((id) => !picked.includes(id))).slice(0, P - picked.length);
      for (const id of extra) batch.push(...chunksOf(byId.get(id)!, K, fill)[0]!);
    }
    batches.push(batch);
  }
  return batches;
}

/** Create a P×K sampler over `samples` (identities by {@link identityOf}). */
export function createPKSampler(samples: readonly Sample[], options: PKSamplerOptions): PKSampler {
  const { P, K } = options;
  if (!Number.isInteger(P) || P < 1 || !Number.isInteger(K) || K < 1) throw new Error(`P and K must be positive integers, got P=${P}, K=${K}`);
  const byId = new Map<number, Sample[]>();
  for (const s of samples) {
    const list = byId.get(identityOf(s));
    if (list) list.push(s);
    else byId.set(identityOf(s), [s]);
  }
  const ids = [...byId.keys()].sort((a, b) => a - b);
  if (ids.length < P) throw new Error(`P×K sampler: P=${P} identities per batch but only ${ids.length} identities`);
  const state0 = options.state;
  if (state0 !== undefined && state0.version !== 1) throw new Error(`unsupported PKSamplerState version ${String(state0.version)}`);
  const root = state0 ? Rng.fromState(state0.rng) : Rng.fromState(options.rng.state());
  let epoch = state0?.epoch ?? 0;
  let position = state0?.position ?? 0;
  const cache = new Map<number, Sample[][]>();
  const epochPlan = (e: number): Sample[][] => {
    let plan = cache.get(e);
    if (plan === undefined) {
      plan = planEpoch(byId, ids, P, K, root.derive(`epoch/${e}`));
      cache.clear();
      cache.set(e, plan);
    }
    return plan;
  };
  const next = (): SampledBatch => {
    let plan = epochPlan(epoch);
    if (position >= plan.length) {
      epoch += 1;
      position = 0;
      plan = epochPlan(epoch);
    }
    const batch = { epoch, index: position, samples: [...plan[position]!] };
    position += 1;
    return batch;
  };
  return {
    P,
    K,
    numIdentities: ids.length,
    next,
    restOfEpoch() {
      if (position >= epochPlan(epoch).length) {
        epoch += 1;
        position = 0;
      }
      const out: SampledBatch[] = [];
      const e = epoch;
      while (epoch === e && position < epochPlan(e).length) out.push(next());
      if (position >= epochPlan(epoch).length) {
        epoch += 1;
        position = 0;
      }
      return out;
    },
    epochPlan: (e: number) => epochPlan(e).map((b) => [...b]),
    state: () => ({ version: 1, rng: root.state(), epoch, position }),
  };
}
