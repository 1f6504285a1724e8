/** `clip-senet paper-tables`: the paper's Tables I–VI and Fig. 3 beside ours, from every ablation record. */
import { resolve } from 'node:path';
import { diffGenerated, REPO_ROOT, writeGenerated } from '../report/report-files';
import { paperTablesAndReadme } from '../report/readme-results';
import { parseCommandArgs, type Command } from '../command';
import { ReportsOutOfDateError } from './report';

const usage = `Usage: clip-senet paper-tables [--reports <dir>] [--check]

Read every <reports>/ablations/*/*/runs.json and write <reports>/paper-tables.md, one CSV per table
(<reports>/paper-tables/table-<I..VI|fig3>.csv) and <reports>/paper-tables/fig3.png (when there are Fig. 3
evaluation curves): the paper's numbers beside ours; runs on the synthetic world in their own column.
Without --reports it also regenerates the README's results section (between its results markers).

  --reports <dir>  reports folder (default <repo>/reports)
  --check          regenerate in memory and exit non-zero listing the .md / .csv files that differ from disk;
                   PNGs are not compared (font rasterisation differs between machines)
  -h, --help       this text`;

export const paperTablesCommand: Command = {
  name: 'paper-tables',
  summary: "the paper's tables beside ours, from every ablation record (--check for CI)",
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('paper-tables', args, { reports: { type: 'string' }, check: { type: 'boolean' } });
    const reportsDir = resolve(opts.reports ?? `${REPO_ROOT}reports`);
    const check = opts.check === true;
    // The README's results section is generated from the repository's own reports (not from a --reports folder).
    const { files, records } = paperTablesAndReadme(reportsDir, { figures: !check, readme: opts.reports === undefined });
    if (check) {
      const differing = diffGenerated(files);
      if (differing.length > 0) throw new ReportsOutOfDateError(`paper tables out of date (run 'clip-senet paper-tables'):\n  ${differing.join('\n  ')}`);
      io.out(`paper-tables --check: ${records} record(s), every .md / .csv is up to date\n`);
      return;
    }
    for (const f of writeGenerated(files)) io.out(`wrote ${f}\n`);
  },
};
