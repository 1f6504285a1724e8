import { describe, expect, it } from 'vitest';
import { bicubicAntialiasMatrix, bicubicMatrix } from './interpolate';

describe('bicubic resampling matrices', () => {
  it('rows sum to 1 and same-size resampling is the identity', () => {
    for (const make of [bicubicMatrix, bicubicAntialiasMatrix]) {
      for (const [i, o] of [[7, 10], [10, 7], [14, 20]] as const) {
        const m = make(i, o);
        for (let r = 0; r < o; r++) {
          let s = 0;
          for (let c = 0; c < i; c++) s += m[r * i + c]!;
          expect(s).toBeCloseTo(1, 6);
        }
      }
      const id = make(5, 5);
      for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) expect(id[r * 5 + c]).toBeCloseTo(r === c ? 1 : 0, 6);
    }
  });
});
