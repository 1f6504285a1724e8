/** `clip-senet report`: regenerate (or check) the tables and figures of ablation records. */
import { dirname, resolve } from 'node:path';
import { ablationReportFiles, readAblationRecord } from '../report/write-reports';
import { diffGenerated, findAblationRecords, REPO_ROOT, writeGenerated } from '../report/report-files';
import { parseCommandArgs, UsageError, type Command } from '../command';

const usage = `Usage: clip-senet report [--record <runs.json> ...] [--all] [--reports <dir>] [--check]

Regenerate an ablation's report from its record: <ablation>.csv, <ablation>.md and the figures
<ablation>-train.png, <ablation>-curves.png (when there are evaluation curves) and <ablation>-ranked.png
(when the dataset images exist on this machine), written atomically next to the runs.json.

  --record <file>  a reports/ablations/<name>/<profile>/runs.json (repeatable)
  --all            every <reports>/ablations/*/*/runs.json (the default when no --record is given)
  --reports <dir>  reports folder (default <repo>/reports)
  --check          regenerate in memory and exit non-zero listing the .md / .csv files that differ from disk;
                   PNGs are not compared (font rasterisation differs between machines)
  -h, --help       this text`;

/** Thrown by check mode when generated files differ (exit code 1, with the list). */
export class ReportsOutOfDateError extends Error {
  override readonly name = 'ReportsOutOfDateError';
}

export const reportCommand: Command = {
  name: 'report',
  summary: "regenerate (or --check) ablation records' tables and figures",
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('report', args, {
      record: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      reports: { type: 'string' },
      check: { type: 'boolean' },
    });
    const reportsDir = resolve(opts.reports ?? `${REPO_ROOT}reports`);
    const explicit = (opts.record ?? []).map((r) => resolve(r));
    const paths = [...explicit, ...(opts.all === true || explicit.length === 0 ? findAblationRecords(reportsDir) : [])];
    const unique = [...new Set(paths)];
    if (unique.length === 0 && explicit.length > 0) throw new UsageError('clip-senet report: no record given');
    const check = opts.check === true;
    const differing: string[] = [];
    for (const path of unique) {
      const out = ablationReportFiles(readAblationRecord(path), dirname(path), { figures: !check });
      if (check) differing.push(...diffGenerated(out.files));
      else {
        for (const f of writeGenerated(out.files)) io.out(`wrote ${f}\n`);
        for (const n of out.notes) io.out(`note: ${n}\n`);
      }
    }
    if (unique.length === 0) io.out(`no ablation records under ${reportsDir}/ablations\n`);
    if (check) {
      if (differing.length > 0) throw new ReportsOutOfDateError(`reports out of date (run 'clip-senet report --all'):\n  ${differing.join('\n  ')}`);
      io.out(`report --check: ${unique.length} record(s), every .md / .csv is up to date\n`);
    }
  },
};
