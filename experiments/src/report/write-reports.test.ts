import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '@clip-senet/core/base';
import { reportCommand } from '../commands/report';
import type { CommandIo } from '../command';
import { diffGenerated, findAblationRecords } from './report-files';
import { ablationReportFiles, readAblationRecord, writeAblationReport } from './write-reports';
import { pngSize, standardRecord } from './testing';

const dir = mkdtempSync(join(tmpdir(), 'report-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): CommandIo & { text: () => string } {
  let text = '';
  return { out: (t) => (text += t), err: (t) => (text += t), text: () => text };
}

const snapshot = (folder: string): Record<string, string> =>
  Object.fromEntries(readdirSync(folder).sort().map((f) => [f, readFileSync(join(folder, f)).toString('base64')]));

describe('writeAblationReport', () => {
  const reports = join(dir, 'reports');
  const folder = join(reports, 'ablations', 'components', 'smoke');
  const recordPath = join(folder, 'runs.json');
  writeJsonAtomic(recordPath, standardRecord());

  it('writes the CSV, the Markdown and the figures next to the record, byte-identically on regeneration', () => {
    const first = writeAblationReport(recordPath);
    expect(first.written.map((p) => p.slice(folder.length + 1))).toEqual(['components.csv', 'components.md', 'components-train.png', 'components-curves.png', 'components-delta.png']);
    expect(first.notes).toEqual([]);
    for (const png of ['components-train.png', 'components-curves.png']) expect(pngSize(readFileSync(join(folder, png))).width).toBe(800);
    expect(readFileSync(join(folder, 'components.md'), 'utf8')).toContain('![evaluation curves](components-curves.png)');
    expect(readFileSync(join(folder, 'components.md'), 'utf8')).toContain('![Δ mAP forest plot](components-delta.png)');
    const before = snapshot(folder);
    writeAblationReport(readAblationRecord(recordPath), folder);
    expect(snapshot(folder)).toEqual(before);
    expect(readdirSync(folder).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('notes a skipped ranked-list figure and keeps the Markdown machine-independent', () => {
    const base = standardRecord();
    const record = { ...base, runs: base.runs.map((r) => (r.summary ? { ...r, summary: { ...r.summary, ranked: [{ query: 'q.jpg', gallery: [{ path: 'g.jpg', match: true }] }] } } : r)) };
    const out = ablationReportFiles(record, join(dir, 'other'));
    // one list from the first finished run of each variant with lists (baseline, full): 2 × (query + 1) images
    expect(out.notes).toEqual([expect.stringMatching(/^components: ranked-list figure skipped: 4 of 4 images missing/) as unknown as string]);
    expect(out.files.some((f) => f.path.endsWith('-ranked.png'))).toBe(false);
    const md = out.files.find((f) => f.path.endsWith('.md'))!.content as string;
    expect(md).toContain('`components-ranked.png`');
    expect(md).toContain('when that file is missing next to this page');
  });

  it('check mode lists a modified file and passes on a fresh one', async () => {
    expect(findAblationRecords(reports)).toEqual([recordPath]);
    const fresh = io();
    await reportCommand.run(['--all', '--reports', reports, '--check'], fresh);
    expect(fresh.text()).toContain('1 record(s), every .md / .csv is up to date');
    const md = join(folder, 'components.md');
    writeFileSync(md, readFileSync(md, 'utf8').replace('81.0 ± 1.4', '81.0 ± 1.3'));
    await expect(reportCommand.run(['--record', recordPath, '--check'], io())).rejects.toThrow(/components\.md: differs/);
    expect(diffGenerated(ablationReportFiles(readAblationRecord(recordPath), folder, { figures: false }).files)).toEqual([`${md}: differs from the regenerated text`]);
    const regen = io();
    await reportCommand.run(['--reports', reports], regen);
    expect(regen.text()).toContain(`wrote ${md}`);
    await reportCommand.run(['--record', recordPath, '--check'], io());
  });

  it('rejects a file that is not an ablation record', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'something-else' }));
    expect(() => readAblationRecord(bad)).toThrow(/not an ablation record/);
    const torn = join(dir, 'torn.json');
    writeFileSync(torn, '{"format": "clip-senet/ablation-runs@1", "runs": [');
    expect(() => readAblationRecord(torn)).toThrow(`${torn}: not a readable JSON ablation record`);
    const oldSummary = join(dir, 'bad-summary.json');
    const rec = standardRecord();
    writeFileSync(oldSummary, JSON.stringify({ ...rec, runs: rec.runs.map((r, i) => (i === 0 ? { ...r, summary: { ...r.summary, format: 'x@9' } } : r)) }));
    expect(() => readAblationRecord(oldSummary)).toThrow(`${oldSummary}: runs[0].summary: unknown format 'x@9'`);
  });
});
