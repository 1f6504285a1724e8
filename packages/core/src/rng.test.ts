import { describe, expect, it } from 'vitest';
import { hashString32, Rng } from './rng';

const draws = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.uint32());
const floats = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.float());

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Pearson chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((s, c) => s + c, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

describe('Rng core', () => {
  it('matches the xoshiro128** reference outputs for state {1, 2, 3, 4}', () => {
    const r = Rng.fromState({ algorithm: 'xoshiro128**', words: [1, 2, 3, 4] });
    expect(draws(r, 6)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    expect(r.state().words).toEqual([1110993931, 286554632, 2431677446, 2165318166]);
  });

  it('keeps the seeded streams stable (regression pin: other packages rely on them)', () => {
    const r = new Rng(42);
    expect(r.state().words).toEqual([939911724, 3948730756, 321366731, 3317318717]);
    expect(draws(r, 3)).toEqual([2837322924, 544945897, 479756282]);
    const p = new Rng(42);
    expect(p.derive('model').uint32()).toBe(1390868499);
    expect(p.split().uint32()).toBe(1674360511);
  });

  it('is deterministic per seed and distinct across seeds, including folded ones', () => {
    expect(draws(new Rng(7), 100)).toEqual(draws(new Rng(7), 100));
    const seeds = [0, 1, 2, -1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, -(2 ** 40)];
    const firsts = seeds.map((s) => draws(new Rng(s), 4).join(','));
    expect(new Set(firsts).size).toBe(seeds.length);
  });

  it('gives unrelated streams for adjacent seeds', () => {
    expect(Math.abs(pearson(floats(new Rng(100), 5000), floats(new Rng(101), 5000)))).toBeLessThan(0.06);
  });

  it('rejects invalid seeds', () => {
    for (const bad of [1.5, NaN, Infinity]) expect(() => new Rng(bad)).toThrow(/seed must be a finite integer/);
  });

  it('matches the FNV-1a 32-bit test vectors', () => {
    expect(hashString32('')).toBe(0x811c9dc5);
    expect(hashString32('a')).toBe(0xe40c292c);
    expect(hashString32('foobar')).toBe(0xbf9cf968);
  });
});

describe('Rng state', () => {
  it('round-trips through JSON and continues identically', () => {
    const r = new Rng(2024);
    draws(r, 37);
    const restored = Rng.fromState(JSON.parse(JSON.stringify(r.state())));
    expect(draws(restored, 200)).toEqual(draws(r, 200));
    expect(floats(restored, 10)).toEqual(floats(r, 10));
  });

  it('snapshots are copies, not live views', () => {
    const r = new Rng(3);
    const s = r.state();
    r.uint32();
    expect(r.state()).not.toEqual(s);
  });

  it('rejects malformed states', () => {
    const bad: unknown[] = [
      null,
      { algorithm: 'pcg32', words: [1, 2, 3, 4] },
      { algorithm: 'xoshiro128**', words: [1, 2, 3] },
      { algorithm: 'xoshiro128**', words: [1, 2, 3, -4] },
      { algorithm: 'xoshiro128**', words: [1, 2, 3, 2 ** 32] },
      { algorithm: 'xoshiro128**', words: [1, 2, 3, 0.5] },
      { algorithm: 'xoshiro128**', words: [0, 0, 0, 0] },
    ];
    for (const s of bad) expect(() => Rng.fromState(s as never), JSON.stringify(s)).toThrow(/Invalid RngState/);
  });
});

describe('Rng split / derive', () => {
  it('gives 10,000 distinct children for 10,000 labels and 10,000 splits (128-bit keys)', () => {
    const parent = new Rng(5);
    const derived = new Set<string>();
    for (let i = 0; i < 10000; i++) derived.add(parent.derive(`img/${i}`).state().words.join(','));
    expect(derived.size).toBe(10000);
    const split = new Set<string>();
    for (let i = 0; i < 10000; i++) split.add(parent.split().state().words.join(','));
    expect(split.size).toBe(10000);
  });

  it('split advances the parent and is reproducible from the parent state', () => {
    const a = new Rng(5);
    const b = Rng.fromState(a.state());
    const childA = a.split();
    const childB = b.split();
    expect(draws(childA, 50)).toEqual(draws(childB, 50));
    expect(a.state()).toEqual(b.state());
    expect(a.state()).not.toEqual(new Rng(5).state());
    const second = a.split();
    expect(draws(second, 5)).not.toEqual(draws(Rng.fromState(childB.state()), 5));
  });

  it('derive does not advance the parent and is stable per label', () => {
    const parent = new Rng(9);
    draws(parent, 3);
    const before = parent.state();
    const x1 = draws(parent.derive('x'), 20);
    const x2 = draws(parent.derive('x'), 20);
    expect(parent.state()).toEqual(before);
    expect(x1).toEqual(x2);
    expect(draws(Rng.fromState(before).derive('x'), 20)).toEqual(x1);
    expect(draws(parent.derive('y'), 20)).not.toEqual(x1);
    expect(draws(parent, 20)).not.toEqual(x1);
  });

  it('derive depends on the parent state, so adding a consumer does not perturb others', () => {
    const a = new Rng(11);
    const b = new Rng(11);
    b.derive('new-consumer'); // added consumer in b only
    expect(draws(a.derive('backbone'), 10)).toEqual(draws(b.derive('backbone'), 10));
    expect(draws(new Rng(12).derive('backbone'), 10)).not.toEqual(draws(a.derive('backbone'), 10));
  });

  it('children are uncorrelated with each other and with the parent', () => {
    const p = new Rng(77);
    const a = floats(p.derive('a'), 5000);
    const b = floats(p.derive('b'), 5000);
    const s = floats(Rng.fromState(p.state()).split(), 5000);
    const own = floats(Rng.fromState(p.state()), 5000);
    for (const [x, y] of [[a, b], [a, own], [b, own], [s, own], [s, a]] as const) {
      expect(Math.abs(pearson(x, y))).toBeLessThan(0.06);
    }
  });
});

describe('Rng distributions', () => {
  it('float is in [0, 1) and uniform(lo, hi) in [lo, hi)', () => {
    const r = new Rng(1);
    for (let i = 0; i < 2000; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      const u = r.uniform(-2, 3);
      expect(u >= -2 && u < 3).toBe(true);
    }
  });

  it('int(n) stays in range and passes a chi-square test', () => {
    const r = new Rng(123);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const x = r.int(10);
      expect(Number.isInteger(x) && x >= 0 && x < 10).toBe(true);
      counts[x] += 1;
    }
    expect(chiSquare(counts)).toBeLessThan(27.88); // χ²(9 dof) at p = 0.001
  });

  it('int(n) is unbiased where modulo reduction would not be (n = 3·2^30)', () => {
    const r = new Rng(321);
    let low = 0;
    const n = 30_000;
    for (let i = 0; i < n; i++) if (r.int(3 * 2 ** 30) < 2 ** 30) low += 1;
    expect(low / n).toBeCloseTo(1 / 3, 1); // plain `uint32 % n` would give 1/2
    expect(Math.abs(low / n - 1 / 3)).toBeLessThan(0.015);
  });

  it('int / intRange / choice / sampleIndices validate and cover their ranges', () => {
    const r = new Rng(8);
    for (const bad of [0, -1, 1.5, 2 ** 32 + 1]) expect(() => r.int(bad)).toThrow(/n must be an integer in \[1, 2\^32\]/);
    expect(r.int(1)).toBe(0);
    expect(r.int(2 ** 32)).toBeLessThan(2 ** 32);
    const seen = new Set(Array.from({ length: 300 }, () => r.intRange(-2, 2)));
    expect([...seen].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    expect(() => r.choice([])).toThrow(/empty array/);
    const idx = r.sampleIndices(50, 20);
    expect(new Set(idx).size).toBe(20);
    expect(idx.every((i) => i >= 0 && i < 50)).toBe(true);
    expect(() => r.sampleIndices(3, 4)).toThrow(/cannot draw 4 distinct of 3/);
  });

  it('shuffle returns the same array holding a permutation, uniformly over orders', () => {
    const r = new Rng(55);
    const items = Array.from({ length: 100 }, (_, i) => i);
    const out = r.shuffle(items);
    expect(out).toBe(items);
    expect([...out].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(out).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const k = r.shuffle(['a', 'b', 'c']).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    expect(chiSquare([...counts.values()])).toBeLessThan(20.52); // χ²(5 dof) at p = 0.001
  });

  it('normal has the requested mean and standard deviation', () => {
    const r = new Rng(99);
    const xs = Array.from({ length: 20_000 }, () => r.normal(2, 3));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
    expect(Math.abs(mean - 2)).toBeLessThan(0.1);
    expect(Math.abs(std - 3)).toBeLessThan(0.08);
    expect(xs.every(Number.isFinite)).toBe(true);
    const within1 = xs.filter((x) => Math.abs(x - 2) < 3).length / xs.length;
    expect(Math.abs(within1 - 0.6827)).toBeLessThan(0.02);
  });

  it('bernoulli matches its probability', () => {
    const r = new Rng(4);
    const hits = Array.from({ length: 10_000 }, () => r.bernoulli(0.3)).filter(Boolean).length;
    expect(Math.abs(hits / 10_000 - 0.3)).toBeLessThan(0.02);
  });
});
