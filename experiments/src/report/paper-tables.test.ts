import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '@clip-senet/core/base';
import { paperTablesCommand } from '../commands/paper-tables';
import type { AblationRecord } from '../ablation/summary';
import { paperTableFiles, type LoadedRecord } from './paper-tables';
import { fakeRecord, fakeSummary, parseCsv, pngSize, standardRecord } from './testing';

const dir = mkdtempSync(join(tmpdir(), 'report-paper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const veri: AblationRecord = { ...standardRecord('veri776'), ablation: 'components-veri', profile: 'full' };
const synth = standardRecord('synthetic');
const fig3 = fakeRecord('losses', [{ name: 'supcon', paper: ['fig3/supcon/baseline'] }, { name: 'triplet', paper: ['fig3/triplet/baseline'] }], [1, 2], (v, seed) =>
  fakeSummary(`losses-${v}-${seed}`, seed, { mAP: 0.5, rank1: 0.5, rank5: 0.5, mINP: 0.5 }, {
    dataset: 'synthetic',
    evalCurve: [4, 8, 12].map((epoch) => ({ step: epoch * 10, epoch, mAP: (v === 'supcon' ? 0.6 : 0.5) + epoch / 100 + seed / 100, rank1: 0.5, rank5: 0.5, mINP: 0.5 })),
  }),
);
const reports = join(dir, 'reports');
const at = (r: AblationRecord): LoadedRecord => ({ path: join(reports, 'ablations', r.ablation, r.profile, 'runs.json'), record: r });
const records = [at(veri), at(synth), at(fig3)];

function mdRow(md: string, key: string): string[] {
  const line = md.split('\n').find((l) => l.includes(`| \`${key}\` |`));
  if (!line) throw new Error(`no row for ${key}`);
  return line.slice(2, -2).split(' | ');
}

describe('paper tables', () => {
  const files = paperTableFiles(records, reports, { repoRoot: dir });
  const md = files.find((f) => f.path.endsWith('paper-tables.md'))!.content as string;

  it('puts a veri776 run in "ours" and a synthetic run in the not-comparable column', () => {
    const row = mdRow(md, 'IV/+SEM+AFEM');
    expect(row.slice(0, 6)).toEqual(['+SEM+AFEM', '`IV/+SEM+AFEM`', '`veri776`', '91.4', '97.6', '98.5']);
    expect(row[6]).toBe('mAP 85.0 ± — · R1 94.0 ± — · R5 97.0 ± — (1 seed; `veri776/no-rr/cosine/non-interp`; components-veri/full)');
    expect(row[7]).toBe('mAP 85.0 ± — · R1 94.0 ± — · R5 97.0 ± — (1 seed; `veri776/no-rr/cosine/non-interp`; components/smoke)');
    expect(mdRow(md, 'IV/baseline')[6]).toBe('mAP 81.0 ± 1.4 · R1 91.5 ± 2.1 · R5 95.0 ± 0.0 (2 seeds; `veri776/no-rr/cosine/non-interp`; components-veri/full)');
    expect(mdRow(md, 'IV/+CV').slice(6)).toEqual(['not run', 'not run']);
    expect(mdRow(md, 'V/G=64').slice(6)).toEqual(['not run', 'not run']);
    expect(mdRow(md, 'I/MBR')).toEqual(['MBR (ref.)', '`I/MBR`', '`veri776`', '91.9', '98.2', '98.4', '—', '—']);
    expect(md).toContain('embedded synthetic world (not comparable)');
    expect(md).toContain('- `reports/ablations/components-veri/full/runs.json` (Test ablation components)');
    expect(md).toContain('Commits of the runs: `abc1234`');
  });

  it('lists the same runs held by two records once, naming both records', () => {
    const copy: AblationRecord = { ...synth, ablation: 'copy' };
    const text = paperTableFiles([at(synth), at(copy)], reports, { repoRoot: dir, figures: false })[0].content as string;
    expect(mdRow(text, 'IV/+SEM+AFEM')[7]).toBe('mAP 85.0 ± — · R1 94.0 ± — · R5 97.0 ± — (1 seed; `veri776/no-rr/cosine/non-interp`; components/smoke, copy/smoke)');
  });

  it('lists runs whose dataset is neither the cell dataset nor the synthetic world', () => {
    const vid: AblationRecord = { ...standardRecord('veri776'), ablation: 'wrong', variants: standardRecord().variants.map((v) => ({ ...v, paper: ['II/small'] })) };
    const text = paperTableFiles([at(vid)], reports, { repoRoot: dir, figures: false })[0].content as string;
    expect(text).toContain('- `II/small` ← wrong/smoke variant `baseline` ran on `veri776`');
    expect(mdRow(text, 'II/small').slice(6)).toEqual(['not run', 'not run']);
  });

  it('writes one CSV per table that parses back', () => {
    const names = files.map((f) => f.path.slice(reports.length + 1));
    expect(names).toEqual(['paper-tables.md', ...['I', 'II', 'III', 'IV', 'V', 'VI', 'fig3'].map((t) => `paper-tables/table-${t}.csv`), 'paper-tables/claims.csv', 'paper-tables/fig3.png']);
    const rows = parseCsv(files.find((f) => f.path.endsWith('table-IV.csv'))!.content as string);
    const h = rows[0];
    const sem = rows.filter((r) => r[h.indexOf('key')] === 'IV/+SEM+AFEM');
    expect(sem.map((r) => r[h.indexOf('column')]).sort()).toEqual(['ours', 'synthetic']);
    expect(Number(sem[0][h.indexOf('mAP_mean')])).toBeCloseTo(85, 10);
    expect(rows.filter((r) => r[h.indexOf('key')] === 'IV/+CV').map((r) => r[h.indexOf('column')])).toEqual(['not run']);
  });

  it('lays out Fig. 3 at epochs 8..24 and draws fig3.png', () => {
    // supcon at epoch 8: seeds 1, 2 → 68 + 1, 68 + 2 → 69.5 ± 0.7
    expect(mdRow(md, 'fig3/supcon/baseline')).toEqual(['`fig3/supcon/baseline`', 'embedded synthetic world (not comparable)', 'losses/smoke', '`veri776/no-rr/cosine/non-interp`', '69.5 ± 0.7 (n=2)', '73.5 ± 0.7 (n=2)', '—', '—', '—']);
    expect(mdRow(md, 'fig3/triplet/full')).toEqual(['`fig3/triplet/full`', 'not run', '—', '—', '—', '—', '—', '—', '—']);
    expect(md).toContain('![Fig. 3, ours: mAP vs epoch](paper-tables/fig3.png)');
    expect(pngSize(files.find((f) => f.path.endsWith('fig3.png'))!.content as Buffer).width).toBe(800);
  });

  it('is byte-identical whatever the record order, and the command checks it', async () => {
    const again = paperTableFiles([...records].reverse(), reports, { repoRoot: dir, figures: false });
    expect(again.map((f) => f.content)).toEqual(files.filter((f) => typeof f.content === 'string').map((f) => f.content));
    for (const r of records) writeJsonAtomic(r.path, r.record);
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    await paperTablesCommand.run(['--reports', reports], io);
    await paperTablesCommand.run(['--reports', reports, '--check'], io);
    expect(out.join('')).toContain('3 record(s), every .md / .csv is up to date');
    const csv = join(reports, 'paper-tables', 'table-V.csv');
    writeJsonAtomic(csv, { edited: true });
    await expect(paperTablesCommand.run(['--reports', reports, '--check'], io)).rejects.toThrow(/table-V\.csv: differs/);
    expect(readFileSync(join(reports, 'paper-tables.md'), 'utf8')).toContain('# Paper tables vs ours');
  });
});
