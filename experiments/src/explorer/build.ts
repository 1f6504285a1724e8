/**
 * `npx nx run experiments:explorer`: the static results explorer, built from the committed ablation records into
 * a git-ignored folder (default `dist/explorer`): `index.html`, the page bundle (`app.js`, esbuild — see
 * bundle.ts), tfjs' wasm binaries, `data/site.json`, the record figures and dataset images it shows, and one
 * `demo/<run>/` export per run with weights (demo-export.ts). The site is built in a temporary folder next to the
 * output and swapped in only when complete, so a failed build leaves the previous site as it was.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { atomicTempPath } from '@clip-senet/core';
import { gitCommit } from '@clip-senet/engine';
import { REPO_ROOT } from '../config';
import { findAblationRecords, repoRelative } from '../report/report-files';
import { readAblationRecord } from '../report/write-reports';
import type { LoadedRecord } from '../report/paper-tables';
import { bundleBrowser } from './bundle';
import { demoUnavailable, exportDemoRun } from './demo-export';
import { rankGallery } from './rank';
import { AssetList, gridData, paperData, recordRanked } from './site-data';
import { SITE_FORMAT, type DemoModel, type DemoRunEntry, type RunRanked, type SiteData } from './site-types';

/** The page's entry module. */
export const PAGE_ENTRY = join(REPO_ROOT, 'experiments', 'explorer', 'page', 'main.ts');
const PAGE_DIR = dirname(PAGE_ENTRY);
const WASM_DIR = join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');

/** A run to offer in the demo. */
export interface DemoRunRequest {
  readonly runDir: string;
  readonly label?: string;
}

/** Options of {@link buildExplorer}. */
export interface BuildExplorerOptions {
  readonly outDir: string;
  /** Folder holding `ablations/<grid>/<profile>/runs.json` (default `<repo>/reports`). */
  readonly reportsDir?: string;
  /** Folder of the run folders the records name (default `<repo>/runs`). */
  readonly runsDir?: string;
  /** Extra run folders for the demo (e.g. a run trained outside any grid). */
  readonly demoRuns?: readonly DemoRunRequest[];
  /** Offer every record run found in `runsDir` (default: the runs of the first record, `main` when present). */
  readonly allRecordRuns?: boolean;
  readonly log?: (line: string) => void;
}

/** What was built. */
export interface BuildExplorerResult {
  readonly outDir: string;
  readonly site: SiteData;
  readonly demos: readonly DemoModel[];
}

function loadRecords(reportsDir: string): LoadedRecord[] {
  const files = findAblationRecords(reportsDir);
  return files.map((path) => ({ path, record: readAblationRecord(path) }));
}

/** Record runs to offer: the first grid's (main when present), or all, deduplicated by run key. */
function recordDemoRuns(records: readonly LoadedRecord[], runsDir: string, all: boolean): { id: string; runDir: string; label: string }[] {
  const sorted = [...records].sort((a, b) => Number(b.record.ablation === 'main') - Number(a.record.ablation === 'main'));
  const chosen = all ? sorted : sorted.slice(0, 1);
  const seen = new Map<string, { id: string; runDir: string; label: string }>();
  for (const { record } of chosen) {
    for (const r of record.runs) {
      if (seen.has(r.runKey)) continue;
      seen.set(r.runKey, { id: r.runKey, runDir: join(runsDir, r.runKey), label: `${record.ablation}/${record.profile} · ${r.variant} · seed ${r.seed}` });
    }
  }
  return [...seen.values()];
}

function demoRanked(demo: DemoModel, dir: string, features: { gallery: Float32Array; queries: Float32Array }): RunRanked {
  const dim = demo.featureDim;
  const lists = demo.queries.map((q, i) => {
    const ranked = rankGallery({
      query: features.queries.subarray(i * dim, (i + 1) * dim), gallery: features.gallery, dim, metric: demo.metric,
      galleryIds: demo.gallery.ids, galleryCams: demo.gallery.cams, label: { id: q.vehicleId, cam: q.cameraId },
    });
    return {
      query: q.path, queryImage: q.image,
      gallery: ranked.map((r) => ({ path: demo.gallery.paths[r.index]!, mark: r.mark === 'unknown' ? 'wrong' as const : r.mark, image: demo.gallery.images[r.index]!, distance: r.distance })),
    };
  });
  return { runKey: demo.id, labels: [demo.label], datasetRoot: dir, source: 'demo', lists };
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const safeId = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/** Build the site into `options.outDir` (replacing it only when the build succeeded). */
export async function buildExplorer(options: BuildExplorerOptions): Promise<BuildExplorerResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  const outDir = resolve(options.outDir);
  const reportsDir = resolve(options.reportsDir ?? join(REPO_ROOT, 'reports'));
  const runsDir = resolve(options.runsDir ?? join(REPO_ROOT, 'runs'));
  const records = loadRecords(reportsDir);
  if (records.length === 0) throw new Error(`explorer: no ablation records (runs.json) under ${join(reportsDir, 'ablations')}`);
  mkdirSync(dirname(outDir), { recursive: true });
  const tmp = atomicTempPath(outDir);
  mkdirSync(tmp, { recursive: true });
  try {
    const assets = new AssetList();
    const grids = records.map((r) => gridData(r, assets));
    const ranked = recordRanked(records, assets, REPO_ROOT);
    // the demo: runs with weights
    const requests = [
      ...recordDemoRuns(records, runsDir, options.allRecordRuns === true),
      ...(options.demoRuns ?? []).map((d) => ({ id: safeId(basename(resolve(d.runDir))), runDir: resolve(d.runDir), label: d.label ?? basename(resolve(d.runDir)) })),
    ];
    const demo: DemoRunEntry[] = [];
    const demos: DemoModel[] = [];
    for (const req of requests) {
      const missing = demoUnavailable(req.runDir);
      if (missing) {
        demo.push({ id: req.id, label: req.label, dir: null, missing });
        continue;
      }
      const siteDir = `demo/${safeId(req.id)}`;
      log(`explorer: exporting ${req.label} (${repoRelative(req.runDir)}) for the demo`);
      const d = await exportDemoRun({ runDir: req.runDir, id: req.id, label: req.label, outDir: join(tmp, siteDir), siteDir, assets, repoRoot: REPO_ROOT });
      demos.push(d);
      demo.push({ id: req.id, label: req.label, dir: siteDir });
      ranked.push(demoRanked(d, siteDir, { gallery: readF32(join(tmp, siteDir, 'gallery.bin')), queries: readF32(join(tmp, siteDir, 'queries.bin')) }));
    }
    const available = demo.filter((d) => d.dir !== null).length;
    const bundle = await bundleBrowser({ entry: PAGE_ENTRY, outFile: join(tmp, 'app.js') });
    const site: SiteData = {
      format: SITE_FORMAT, commit: gitCommit(REPO_ROOT), records: records.map((r) => repoRelative(r.path)),
      grids, paper: paperData(records),
      paperNote: 'Runs on the embedded synthetic world fill their own column: they show whether a component helps on that world, not the paper\'s VeRi-776 numbers.',
      ranked, demo,
      ...(available === 0 ? { demoMissing: `no run with weights was found (looked for checkpoints of ${requests.length} run folder${requests.length === 1 ? '' : 's'} under ${repoRelative(runsDir)}): train one (\`npx nx run experiments:ablation\` or \`clip-senet train\`) and rebuild, or pass --demo-run <run folder>` } : {}),
      bundlePackages: bundle.packages,
    };
    mkdirSync(join(tmp, 'data'), { recursive: true });
    writeFileSync(join(tmp, 'data', 'site.json'), JSON.stringify(site));
    for (const a of assets.list()) {
      mkdirSync(dirname(join(tmp, a.to)), { recursive: true });
      copyFileSync(a.from, join(tmp, a.to));
    }
    mkdirSync(join(tmp, 'wasm'), { recursive: true });
    for (const f of readdirSync(WASM_DIR).filter((n) => n.endsWith('.wasm'))) copyFileSync(join(WASM_DIR, f), join(tmp, 'wasm', f));
    for (const f of ['index.html', 'style.css']) copyFileSync(join(PAGE_DIR, f), join(tmp, f));
    // swap in: the old site is moved aside first, so a reader never sees a half-written folder
    const old = existsSync(outDir) ? atomicTempPath(outDir) : undefined;
    if (old) renameSync(outDir, old);
    renameSync(tmp, outDir);
    if (old) rmSync(old, { recursive: true, force: true });
    log(`explorer: ${grids.length} grids, ${site.paper.length} paper tables, ${ranked.length} runs' ranked lists, demo: ${available}/${demo.length} runs with weights; bundle ${(bundle.bytes / 1e6).toFixed(1)} MB → ${outDir}`);
    return { outDir, site, demos };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
