/**
 * `npx nx run experiments:explorer [-- options]`: build the results explorer (and with --serve, serve it on
 * localhost until Ctrl-C).
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../config';
import { prepareBackend } from '../backend';
import { buildExplorer } from './build';
import { serveSite } from './serve';

const usage = `Usage: explorer [--out <dir>] [--reports <dir>] [--runs <dir>] [--demo-run <run dir> ...] [--all-runs] [--serve] [--port <n>] [--no-build]

Build the static results explorer from the committed ablation records.

  --out <dir>        output folder (default dist/explorer, git-ignored)
  --reports <dir>    folder with ablations/<grid>/<profile>/runs.json (default reports)
  --runs <dir>       run folders the records name, for the demo's weights (default runs)
  --demo-run <dir>   also offer this run folder (resolved-config.yaml + checkpoints/) in the live demo
  --all-runs         offer every record run found under --runs (default: the main grid's)
  --serve            serve the site on localhost after building and print its URL (Ctrl-C stops)
  --port <n>         port for --serve (default 4173; 0 = any free port)
  --no-build         serve the existing build without rebuilding
  -h, --help         this text`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, allowPositionals: false, strict: true,
    options: {
      out: { type: 'string' }, reports: { type: 'string' }, runs: { type: 'string' }, 'demo-run': { type: 'string', multiple: true },
      'all-runs': { type: 'boolean' }, serve: { type: 'boolean' }, port: { type: 'string' }, 'no-build': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const outDir = resolve(values.out ?? join(REPO_ROOT, 'dist', 'explorer'));
  const port = values.port === undefined ? 4173 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`explorer: --port must be an integer in [0, 65535], got '${values.port}'`);
  if (!values['no-build']) {
    const demoRuns = values['demo-run'] ?? [];
    await prepareBackend();
    await buildExplorer({
      outDir, ...(values.reports ? { reportsDir: values.reports } : {}), ...(values.runs ? { runsDir: values.runs } : {}),
      demoRuns: demoRuns.map((runDir) => ({ runDir })), allRecordRuns: values['all-runs'] === true,
    });
  }
  if (!values.serve) return 0;
  const server = await serveSite(outDir, port);
  console.log(`explorer: serving ${outDir} at ${server.url} (Ctrl-C stops)`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log('explorer: stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
