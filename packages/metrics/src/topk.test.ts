import { Rng } from '@clip-senet/core/base';
import { describe, expect, it } from 'vitest';
import { selectTopK } from './topk';

describe('selectTopK', () => {
  it('equals a stable full sort (ties by index) on tie-heavy rows', () => {
    const rng = new Rng(41);
    for (let t = 0; t < 200; t++) {
      const n = 1 + rng.int(50);
      const k = rng.int(n + 1);
      const row = Float64Array.from({ length: n }, () => rng.int(5));
      const out = new Int32Array(k);
      selectTopK(row, 0, n, k, out);
      const sorted = Array.from({ length: n }, (_, i) => i).sort((a, b) => row[a] - row[b] || a - b);
      expect(Array.from(out)).toEqual(sorted.slice(0, k));
    }
  });

  it('ranks NaN last and validates k', () => {
    const out = new Int32Array(2);
    selectTopK(Float32Array.from([Number.NaN, 3, 1]), 0, 3, 2, out);
    expect(Array.from(out)).toEqual([2, 1]);
    expect(() => selectTopK(new Float64Array(2), 0, 2, 3, new Int32Array(3))).toThrow(/k must be/);
  });
});
