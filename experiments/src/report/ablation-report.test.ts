import { describe, expect, it } from 'vitest';
import { ABLATION_MD_HEADER, ablationCsv, ablationMarkdown, ablationMarkdownRows } from './ablation-report';
import { fakeRecord, fakeSummary, parseCsv, standardRecord } from './testing';
import { queryBootstrapDelta } from './stats';

describe('ablation report', () => {
  const record = standardRecord();

  it('writes mean ± sample std, Δ vs baseline, paper values and paper Δ per variant', () => {
    const rows = ablationMarkdownRows(record);
    expect(ABLATION_MD_HEADER).toHaveLength(rows[0].length);
    // baseline: mAP 80/82 → 81.0 ± 1.414; R1 90/93 → 91.5 ± 2.121; R5 95/95 → ± 0.0; mINP 40/44 → 42.0 ± 2.828
    expect(rows[0]).toEqual(['`baseline`', 'CNN + CE + SupCon, no \\| SEM', '2/2 seeds', '81.0 ± 1.4', '91.5 ± 2.1', '95.0 ± 0.0', '42.0 ± 2.8', 'baseline', 'baseline', 'baseline', 'baseline', '0/2', '`IV/baseline`', '86.7', '96.8', 'baseline', 'baseline']);
    // full: one finished seed of two; Δ = 85 − 81, 94 − 91.5; one seed paired with the baseline → no interval;
    // paper Δ = 91.4 − 86.7, 97.6 − 96.8
    expect(rows[1]).toEqual(['`full`', 'with SEM, AFEM', '1/2 seeds', '85.0 ± —', '94.0 ± —', '97.0 ± —', '50.0 ± —', '+4.0', '+2.5', 'not decided at 1 seed', 'no per-query AP recorded', '0/1', '`IV/+SEM+AFEM`', '91.4', '97.6', '+4.7', '+0.8']);
    // g64: nothing finished; its paper cell is in Table V, the baseline's in Table IV → no paper Δ
    expect(rows[2]).toEqual(['`g64`', 'variant g64', '0/2 seeds', 'not run', 'not run', 'not run', 'not run', '—', '—', '—', '—', '—', '`V/G=64`', '90.3', '97.9', '—', '—']);
  });

  it('names the other and the unknown paper keys of a variant', () => {
    const r = { ...record, variants: record.variants.map((v) => (v.name === 'full' ? { ...v, paper: ['IV/+SEM+AFEM', 'V/G=32', 'IV/typo'] } : v.name === 'g64' ? { ...v, paper: ['V/G=6'] } : v)) };
    const rows = ablationMarkdownRows(r);
    expect(rows[1][12]).toBe('`IV/+SEM+AFEM` (also `V/G=32`, `IV/typo` (unknown key))');
    expect(rows[2].slice(12)).toEqual(['`V/G=6` (unknown key)', '—', '—', '—', '—']);
  });

  it('gives each Δ mAP a 95% interval paired by seed, and calls it decided only when it excludes 0', () => {
    const both = { ...record, runs: record.runs.map((r) => (r.variant === 'full' && r.seed === 2 ? { ...r, summary: { ...record.runs.find((x) => x.variant === 'full')!.summary!, seed: 2, metrics: { mAP: 0.86, rank1: 0.95, rank5: 0.97, rank10: 0.98, mINP: 0.5 } } } : r)) };
    // per-seed Δ: 85 − 80 = 5, 86 − 82 = 4 → mean 4.5, sd 0.707, t(0.975, 1) = 12.706 → ± 6.35
    expect(ablationMarkdownRows(both)[1][9]).toBe('[-1.9, +10.9] not decided at 2 seeds');
    const csv = parseCsv(ablationCsv(both));
    const col = (name: string): string => csv[2][csv[0].indexOf(name)];
    expect(col('delta_mAP_paired_n')).toBe('2');
    expect(Number(col('delta_mAP_ci95_lo'))).toBeCloseTo(4.5 - 12.706 * Math.SQRT1_2 / Math.SQRT2, 9);
    expect(col('delta_mAP_decided')).toBe('false');
    expect(ablationMarkdown(both)).toContain('"decided" when the interval excludes 0');
  });

  it('writes a CSV that parses back to the numbers', () => {
    const rows = parseCsv(ablationCsv(record));
    expect(rows).toHaveLength(4);
    const [header, base, full, g64] = rows;
    const col = (row: string[], name: string): string => row[header.indexOf(name)];
    expect(header.every((h) => h.length > 0)).toBe(true);
    expect(col(full, 'description')).toBe('with SEM, AFEM');
    expect(col(base, 'description')).toBe('CNN + CE + SupCon, no | SEM');
    expect(Number(col(base, 'mAP_mean'))).toBeCloseTo(81, 10);
    expect(Number(col(base, 'mAP_std'))).toBeCloseTo(Math.SQRT2, 10);
    expect(col(full, 'seeds_finished')).toBe('1');
    expect(col(full, 'seeds_total')).toBe('2');
    expect(col(full, 'mAP_std')).toBe('');
    expect(Number(col(full, 'delta_rank1'))).toBeCloseTo(2.5, 10);
    expect(Number(col(full, 'paper_delta_mAP'))).toBeCloseTo(4.7, 10);
    expect(col(g64, 'seeds_finished')).toBe('0');
    expect(col(g64, 'mAP_mean')).toBe('');
    expect(col(g64, 'paper_mAP')).toBe('90.3');
    expect(col(g64, 'paper_delta_mAP')).toBe('');
  });

  it('has a provenance footer and figure links, and is byte-identical on regeneration', () => {
    const md = ablationMarkdown(record, { train: 'components-train.png', curves: 'components-curves.png' });
    expect(md).toContain('- protocol: `veri776/no-rr/cosine/non-interp`');
    expect(md).toContain('- dataset: `synthetic`');
    expect(md).toContain('- commit: `abc1234`');
    expect(md).toContain('- seeds: 1, 2; 3/6 runs finished');
    expect(md).toContain('- test set: 10 valid queries; gallery size not recorded (run predates it)');
    expect(md).toContain('- total wall time: 1h 02m 05s');
    expect(md).toContain('- profile: `smoke`');
    expect(md).toMatch(/produced by the ablation runner from `runs.json` .*do not edit/);
    expect(md).toContain('![training curves](components-train.png)');
    expect(md).toContain('none finished.\n\n| variant | description | seeds |');
    const again = JSON.parse(JSON.stringify(record)) as typeof record;
    expect(ablationMarkdown(again, { train: 'components-train.png', curves: 'components-curves.png' })).toBe(md);
    expect(ablationCsv(again)).toBe(ablationCsv(record));
  });

  it('shows the bootstrap over queries where both sides recorded per-query AP', () => {
    const base = [0.2, 0.4, 0.6, 0.3, null];
    const apOf = (v: string, seed: number) => base.map((x) => (x === null ? null : v === 'base' ? x : x + 0.02 * seed));
    const rec = fakeRecord('q', [{ name: 'base', paper: [] }, { name: 'v', paper: [] }], [1, 2], (v, seed) => ({
      ...fakeSummary(`${v}-${seed}`, seed, { mAP: 0.4, rank1: 0.5, rank5: 0.5, mINP: 0.5 }),
      apPerQuery: apOf(v, seed),
    }));
    const rows = ablationMarkdownRows(rec);
    const col = ABLATION_MD_HEADER.indexOf('Δ mAP query bootstrap');
    const expected = queryBootstrapDelta([1, 2].map((seed) => ({ variant: apOf('v', seed), baseline: apOf('base', seed) })))!;
    expect(expected.mean).toBeCloseTo(3, 9);
    expect(rows[1]![col]).toBe(`[+${expected.lo!.toFixed(1)}, +${expected.hi!.toFixed(1)}] decided (4 queries)`);
    expect(rows[0]![col]).toBe('baseline');
    const csv = parseCsv(ablationCsv(rec));
    expect(csv[2]![csv[0]!.indexOf('delta_mAP_query_bootstrap_queries')]).toBe('4');
  });

  it('names the test set the numbers rest on: query and gallery images of the finished runs', () => {
    const rec = fakeRecord('t', [{ name: 'base', paper: [] }], [1, 2], (v, seed) => ({
      ...fakeSummary(`${v}-${seed}`, seed, { mAP: 0.4, rank1: 0.5, rank5: 0.5, mINP: 0.5 }), numQueryImages: 12, numGalleryImages: 2000,
    }));
    expect(ablationMarkdown(rec)).toContain('- test set: 12 query images (10 valid), 2000 gallery images\n');
  });
});
