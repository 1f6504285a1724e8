/**
 * Seeded, splittable, serialisable pseudo-random number generator.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna) on four uint32 words, seeded through SplitMix32 so that
 * nearby integer seeds give unrelated streams. All randomness in the toolkit flows through an `Rng`
 * passed in explicitly; library code never uses the global `Math.random` (lint-enforced).
 *
 * - `split()` draws a child generator from the next 128 bits (advances the parent), for handing
 *   independent streams to components in a fixed order.
 * - `derive(label)` returns a child keyed by a 128-bit hash of a string, mixed with the full state,
 *   without advancing the parent, so adding a new consumer does not perturb the streams of existing ones.
 * - `state()` / `Rng.fromState()` round-trip exactly (checkpoints store it).
 */

/** Serialisable generator state. */
export interface RngState {
  readonly algorithm: 'xoshiro128**';
  readonly words: readonly [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a 32-bit hash of a string (used to key derived streams). */
export function hashString32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** MurmurHash3's 32-bit finaliser (full avalanche). */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Four independently seeded FNV-1a passes, each finalised: a 128-bit label hash for `derive`. */
function hashString128(text: string): [number, number, number, number] {
  const bases = [0x811c9dc5, 0x050c5d1f, 0x6a09e667, 0xbb67ae85];
  return bases.map((b, k) => {
    let h = b;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return fmix32(h ^ Math.imul(text.length + k, 0x9e3779b9));
  }) as [number, number, number, number];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seed with any integer (negative and > 2^32 values are folded deterministically). */
  constructor(seed: number) {
    if (!Number.isFinite(seed) || !Number.isInteger(seed)) {
      throw new Error(`Rng seed must be a finite integer, got ${seed}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    const next = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Restore a generator from `state()` output. */
  static fromState(state: RngState): Rng {
    if (state?.algorithm !== 'xoshiro128**' || !Array.isArray(state.words) || state.words.length !== 4) {
      throw new Error(`Invalid RngState: expected { algorithm: 'xoshiro128**', words: [4 × uint32] }`);
    }
    const r = new Rng(0);
    const w = state.words.map((x) => {
      if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`Invalid RngState word ${x}`);
      return x >>> 0;
    });
    if (w.every((x) => x === 0)) throw new Error('Invalid RngState: all-zero words (xoshiro128** would only ever return 0)');
    [r.s0, r.s1, r.s2, r.s3] = w as [number, number, number, number];
    return r;
  }

  /** Snapshot of the generator state (plain JSON). */
  state(): RngState {
    return { algorithm: 'xoshiro128**', words: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Next uniformly distributed uint32. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 bits of resolution. */
  float(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Unbiased uniform integer in [0, n) (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new Error(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    if (n === 0x100000000) return this.uint32();
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.uint32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [lo, hi] inclusive. */
  intRange(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal draw (Box–Muller; two uniforms per call, no hidden cached state). */
  normal(mean = 0, std = 1): number {
    let u = this.float();
    while (u <= Number.MIN_VALUE) u = this.float();
    const v = this.float();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** One uniformly chosen element. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.choice: empty array');
    return items[this.int(items.length)]!;
  }

  /** k distinct indices from [0, n), in draw order (partial Fisher–Yates). */
  sampleIndices(n: number, k: number): number[] {
    if (k > n || k < 0) throw new Error(`Rng.sampleIndices: cannot draw ${k} distinct of ${n}`);
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = tmp;
    }
    return pool.slice(0, k);
  }

  /** Child generator seeded from the next 128 bits of this one (advances this generator by 4 draws). */
  split(): Rng {
    return Rng.fromWords([fmix32(this.uint32() ^ 0x243f6a88), fmix32(this.uint32() ^ 0x85a308d3), fmix32(this.uint32() ^ 0x13198a2e), fmix32(this.uint32() ^ 0x03707344)]);
  }

  /**
   * Child generator keyed by `label` (128-bit label hash mixed with the full 128-bit state), without
   * advancing this generator.
   */
  derive(label: string): Rng {
    const h = hashString128(label);
    const w = [this.s0, this.s1, this.s2, this.s3];
    return Rng.fromWords(w.map((x, i) => fmix32((x ^ h[i]!) + Math.imul(rotl(w[(i + 1) % 4]!, 13), 0x9e3779b1))) as [number, number, number, number]);
  }

  private static fromWords(words: [number, number, number, number]): Rng {
    const r = new Rng(0);
    [r.s0, r.s1, r.s2, r.s3] = words.map((x) => x >>> 0) as [number, number, number, number];
    if ((r.s0 | r.s1 | r.s2 | r.s3) === 0) r.s0 = 1;
    return r;
  }
}
