import { describe, expect, it } from 'vitest';
import { INLINE_WIDTH, recordJson } from './record-json';

describe('recordJson', () => {
  const value = {
    format: 'clip-senet/ablation-runs@1',
    seeds: [1, 2, 3],
    runs: [{
      variant: 'a "quoted": name',
      summary: {
        apPerQuery: Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? null : i / 100)),
        evalCurve: [{ step: 10, epoch: 2, mAP: 0.1 }, { step: 20, epoch: 4, mAP: 0.2 }],
        nested: { deep: { text: 'x'.repeat(INLINE_WIDTH) } },
        empty: [], none: {}, skipped: undefined,
      },
    }],
  };

  it('parses back to the same value (undefined fields dropped, as JSON.stringify does)', () => {
    expect(JSON.parse(recordJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
  });

  it('keeps arrays of plain values and short objects on one line, indents the rest', () => {
    const text = recordJson(value);
    const lines = text.split('\n');
    expect(lines.some((l) => l.trim().startsWith('"apPerQuery": [null,0.01,'))).toBe(true);
    expect(lines).toContain('        "evalCurve": [{"step":10,"epoch":2,"mAP":0.1},{"step":20,"epoch":4,"mAP":0.2}],');
    expect(lines).toContain('            "text": "' + 'x'.repeat(INLINE_WIDTH) + '"');
    expect(lines).toContain('  "seeds": [1,2,3],');
    expect(text.endsWith('}\n')).toBe(true);
    expect(lines.length).toBeLessThan(JSON.stringify(value, null, 2).split('\n').length / 4);
  });
});
