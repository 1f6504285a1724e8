/**
 * Seeded synthetic re-ID features for the bench: per identity a N(0, 1) centre, per image the centre plus
 * uniform noise of unit variance × `noise`. Every stream comes from `new Rng(seed).derive(label)`, so the
 * main bench and its child processes regenerate identical data.
 */
import { Rng } from '@clip-senet/core/base';

export interface SyntheticSet {
  readonly features: Float32Array;
  readonly ids: Int32Array;
  readonly cams: Int32Array;
}

export interface SetSpec {
  readonly seed: number;
  readonly label: string;
  readonly n: number;
  readonly dim: number;
  readonly numIds: number;
  readonly numCams: number;
  readonly noise: number;
  /** ids[i] = i % numIds instead of random (one query per identity, as VeRi-Wild). */
  readonly roundRobinIds?: boolean;
}

export function centres(seed: number, numIds: number, dim: number): Float32Array {
  const rng = new Rng(seed).derive('centres');
  const c = new Float32Array(numIds * dim);
  for (let i = 0; i < c.length; i++) c[i] = rng.normal();
  return c;
}

export function makeSet(spec: SetSpec, centre: Float32Array): SyntheticSet {
  const rng = new Rng(spec.seed).derive(spec.label);
  const { n, dim } = spec;
  const ids = new Int32Array(n);
  const cams = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = spec.roundRobinIds ? i % spec.numIds : rng.int(spec.numIds);
    cams[i] = rng.int(spec.numCams);
  }
  const features = new Float32Array(n * dim);
  const a = spec.noise * Math.sqrt(3);
  for (let i = 0; i < n; i++) {
    const c = ids[i] * dim;
    for (let k = 0; k < dim; k++) features[i * dim + k] = centre[c + k] + a * (2 * rng.float() - 1);
  }
  return { features, ids, cams };
}

/** Smoke runs only: METRICS_BENCH_SCALE < 1 shrinks every set (the report then says so). */
export const SCALE = Number(process.env.METRICS_BENCH_SCALE ?? 1);
const scaled = (n: number): number => Math.max(8, Math.round(n * SCALE));

export const VERI776 = { seed: 776, dim: 2048, numIds: 200, numCams: 20, noise: 3.15, nq: scaled(1678), ng: scaled(11579) } as const;
export const VERIWILD_LARGE = {
  seed: 1001,
  dim: 256,
  numIds: scaled(10000),
  numCams: 174,
  noise: 1.6,
  nq: scaled(10000),
  ng: scaled(128517),
} as const;

/**
 * A hard, unstructured [nq × ng] matrix: uniform distances, same-id pairs shifted down by U(0, 0.35)
 * (mINP ≈ 0.5 %: the last positive sits near the end, the worst case of the counting evaluator).
 */
export function hardDistances(seed: number, queryIds: Int32Array, galleryIds: Int32Array): Float32Array {
  const rng = new Rng(seed).derive('hard');
  const nq = queryIds.length;
  const ng = galleryIds.length;
  const d = new Float32Array(nq * ng);
  for (let q = 0; q < nq; q++) {
    for (let g = 0; g < ng; g++) d[q * ng + g] = rng.float() - (queryIds[q] === galleryIds[g] ? 0.35 * rng.float() : 0);
  }
  return d;
}

export function veri776Sets(): { query: SyntheticSet; gallery: SyntheticSet } {
  const s = VERI776;
  const c = centres(s.seed, s.numIds, s.dim);
  const common = { seed: s.seed, dim: s.dim, numIds: s.numIds, numCams: s.numCams, noise: s.noise };
  return { query: makeSet({ ...common, label: 'query', n: s.nq }, c), gallery: makeSet({ ...common, label: 'gallery', n: s.ng }, c) };
}

export function veriWildSets(): { query: SyntheticSet; gallery: SyntheticSet } {
  const s = VERIWILD_LARGE;
  const c = centres(s.seed, s.numIds, s.dim);
  const common = { seed: s.seed, dim: s.dim, numIds: s.numIds, numCams: s.numCams, noise: s.noise };
  return {
    query: makeSet({ ...common, label: 'query', n: s.nq, roundRobinIds: true }, c),
    gallery: makeSet({ ...common, label: 'gallery', n: s.ng }, c),
  };
}
