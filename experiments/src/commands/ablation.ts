/** `clip-senet ablation`: expand ablation definitions into runs, train what is not finished, write the records. */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { probeNativeKernels } from '@clip-senet/core';
import { readdirSync } from 'node:fs';
import { loadAblation, PROFILES, type Profile } from '../ablation/definition';
import { parseShard, planAblation } from '../ablation/plan';
import { DEFAULT_REPORTS_DIR, DEFAULT_RUNS_DIR, runAblation } from '../ablation/runner';
import { withFileLock } from '../ablation/run-lock';
import { UsageError, type Command } from '../command';
import { paperTablesAndReadme } from '../report/readme-results';
import { writeGenerated } from '../report/report-files';

/** Folder of the shipped ablation definitions. */
export const ABLATIONS_DIR = resolve(import.meta.dirname, '..', '..', 'configs', 'ablations');
/** The ablation run when none is named: baseline vs +SEM vs +SEM+AFEM vs two fusion variants. */
export const DEFAULT_ABLATION = join(ABLATIONS_DIR, 'main.yaml');

const usage = `Usage: clip-senet ablation [<ablation.yaml> ...] [--all] [--profile smoke|default|full] [--seeds 1,2,...]
                           [--shard i/n] [--jobs n] [--threads n] [--set key.path=value ...] [--dry-run]
                           [--runs-dir <dir>] [--reports-dir <dir>]

Run ablations: every variant × seed becomes a run keyed by a hash of its resolved config (runs/<key>/);
finished runs are skipped, interrupted ones resume from their last checkpoint, identical runs of different
ablations are trained once. Afterwards the grid's record (reports/ablations/<name>/<profile>/runs.json) and
its tables/figures are written, and (with the default --reports-dir) the paper tables and the README's results.

  <ablation.yaml>    ablation definitions (default: configs/ablations/main.yaml)
  --all              every configs/ablations/*.yaml
  --profile <p>      smoke (a few steps, for tests) | default (embedded world, minutes) | full (paper scale)
  --seeds a,b        replace the ablation's seed list
  --shard i/n        train only the i-th of n disjoint shares of the grid (e.g. one per Slurm array task)
  --jobs <n>         runs trained at once (default: cores / threads)
  --threads <n>      compute threads per run (default 1)
  --set k=v          override a config value in every run (repeatable; changes the run keys). Without
                     --reports-dir the records then go to <runs-dir>/records/set-<hash>/, never over the
                     committed reports
  --dry-run          print the plan (run keys, finished/resume/train) and exit
  --runs-dir <dir>   run folders (default <repo>/runs)
  --reports-dir <d>  records and reports (default <repo>/reports/ablations)
  -h, --help         this text`;

function intFlag(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`clip-senet ablation: ${flag} must be a positive integer, got '${value}'`);
  return n;
}

function seedList(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const seeds = value.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new UsageError(`clip-senet ablation: --seeds must be integers separated by commas, got '${value}'`);
  return seeds;
}

/**
 * The line the runner prints before training: which kernels its runs will use. Without the oneDNN addon the runs
 * train on wasm kernels alone, which the runtime bench measured at about 5× slower (reports/bench/runtime.md), so
 * a machine without native kernels is told before the grid starts, not after it is late.
 */
export async function kernelsLine(env: Record<string, string | undefined>): Promise<string> {
  const backend = env.CLIP_SENET_BACKEND ?? 'auto';
  if (backend !== 'auto' && backend !== 'wasm') return `kernels: CLIP_SENET_BACKEND=${backend} in every run`;
  const native = await probeNativeKernels(env);
  return native.active
    ? `kernels: wasm + ${native.detail} in every run`
    : `kernels: wasm only — ${native.detail}. Runs train about 5× slower than with the oneDNN kernels (reports/bench/runtime.md); the grid still completes`;
}

export const ablationCommand: Command = {
  name: 'ablation',
  summary: 'run ablation grids (variants × seeds) and write their records',
  usage,
  async run(args, io) {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...args],
        allowPositionals: true,
        strict: true,
        options: {
          all: { type: 'boolean' }, profile: { type: 'string' }, seeds: { type: 'string' }, shard: { type: 'string' },
          jobs: { type: 'string' }, threads: { type: 'string' }, set: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' },
          'runs-dir': { type: 'string' }, 'reports-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new UsageError(`clip-senet ablation: ${(err as Error).message}`);
    }
    const o = parsed.values;
    const profile = (o.profile ?? 'default') as Profile;
    if (!PROFILES.includes(profile)) throw new UsageError(`clip-senet ablation: --profile must be one of ${PROFILES.join(', ')}, got '${o.profile}'`);
    if (o.all && parsed.positionals.length > 0) throw new UsageError('clip-senet ablation: give ablation files or --all, not both');
    const files = o.all
      ? readdirSync(ABLATIONS_DIR).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(ABLATIONS_DIR, f))
      : parsed.positionals.length > 0 ? parsed.positionals.map((p) => resolve(p)) : [DEFAULT_ABLATION];
    let shard;
    try {
      shard = o.shard !== undefined ? parseShard(o.shard) : undefined;
    } catch (err) {
      throw new UsageError(`clip-senet ablation: ${(err as Error).message}`);
    }
    const threads = intFlag('--threads', o.threads, 1);
    const jobs = intFlag('--jobs', o.jobs, Math.max(1, Math.floor(availableParallelism() / threads)));
    const seeds = seedList(o.seeds);
    // Plan every file first, so a bad definition fails before anything trains.
    const plans = files.map((f) => planAblation(loadAblation(f), { profile, overrides: o.set ?? [], ...(seeds ? { seeds } : {}) }));
    const runsDir = resolve(o['runs-dir'] ?? DEFAULT_RUNS_DIR);
    const overrides = o.set ?? [];
    // A grid with overrides is another experiment than the committed records describe: it gets its own records.
    const overrideReports = overrides.length > 0 && o['reports-dir'] === undefined
      ? join(runsDir, 'records', `set-${createHash('sha256').update(overrides.join('\n')).digest('hex').slice(0, 8)}`)
      : undefined;
    if (overrideReports && o['dry-run'] !== true) io.out(`--set given: records and reports go to ${overrideReports} (the committed reports are left as they are)\n`);
    if (o['dry-run'] !== true) io.out(`${await kernelsLine(process.env)}\n`);
    let failed = 0;
    for (const plan of plans) {
      const r = await runAblation(plan, {
        jobs, threadsPerRun: threads, io, dryRun: o['dry-run'] === true,
        runsDir, reportsDir: overrideReports ?? resolve(o['reports-dir'] ?? DEFAULT_REPORTS_DIR),
        ...(shard ? { shard } : {}),
      });
      failed += r.failed.length;
    }
    if (o['dry-run'] !== true && o['reports-dir'] === undefined && overrideReports === undefined) {
      // Keep the paper tables and the README's results section in step with the records just written — read and
      // written under one lock, so a shard that read the records before another shard's last write cannot put
      // older tables back after it
      const reportsRoot = resolve(DEFAULT_REPORTS_DIR, '..');
      const { records } = await withFileLock(join(reportsRoot, 'paper-tables.md'), () => {
        const out = paperTablesAndReadme(reportsRoot, { figures: true, readme: true });
        writeGenerated(out.files);
        return out;
      });
      io.out(`paper tables and README results regenerated from ${records} record(s)\n`);
    }
    if (failed > 0) throw new Error(`${failed} run(s) failed (see above); finished runs are kept, rerun to retry the rest`);
  },
};
