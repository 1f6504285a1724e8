/**
 * The results explorer in real Chromium (Debian's, driven by playwright-core; nothing downloaded): a tiny run is
 * trained here, the site is built from the committed records (one grid's figures left out) plus that run, served on
 * localhost and opened headless with software rendering. Checked: no console errors on any page, every grid's table
 * shows the committed report's cells, the demo's top-10 for every query equals the Node ranking (engine's
 * rankedLists over `clip-senet eval`'s features) on the default backend (webgl on SwiftShader), on wasm and on
 * webgpu (SwiftShader's adapter), the wasm fallback without WebGL, and bad input said in place. Screenshots of every
 * page go to dist/explorer-test/ (git-ignored).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { extractFeatures, rankedLists } from '@clip-senet/engine';
import type { AblationRecord } from '../ablation/summary';
import { main } from '../cli';
import { loadRunConfig, REPO_ROOT, withRepoPaths } from '../config';
import { loadData } from '../data';
import { evaluationFor } from '../protocol';
import { fmtMeanStd, meanStd } from '../report/stats';
import { evalLoader, loadRunModel } from '../run-model';
import { buildExplorer, type BuildExplorerResult } from './build';
import { serveSite, type SiteServer } from './serve';

/** The little of the DOM the in-page callbacks use (this project's types are Node's, not the DOM's). */
interface El {
  readonly textContent: string | null;
  readonly firstChild: El | null;
  readonly dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): Iterable<El>;
}
interface Doc {
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
}

const CHROMIUM = process.env.CLIP_SENET_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = process.env.CLIP_SENET_EXPLORER_ARTIFACTS ?? join(REPO_ROOT, 'dist', 'explorer-test');
/** Software rendering: SwiftShader behind ANGLE (WebGL without a GPU). */
const CHROMIUM_ARGS = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox'];
const STRIPPED = 'sem-frozen';
const REPORTS = join(REPO_ROOT, 'reports', 'ablations');

let dir: string;
let built: BuildExplorerResult;
let server: SiteServer;
let browser: Browser;
/** Node's top-10 (paths relative to the dataset root) per query path. */
let nodeTop10: Map<string, string[]>;
let galleryImage: string;

function copyReports(to: string): void {
  for (const grid of readdirSync(REPORTS)) {
    for (const profile of readdirSync(join(REPORTS, grid))) {
      const from = join(REPORTS, grid, profile);
      mkdirSync(join(to, 'ablations', grid, profile), { recursive: true });
      for (const f of readdirSync(from)) {
        if (grid === STRIPPED && f.endsWith('.png')) continue; // a record without figures
        copyFileSync(join(from, f), join(to, 'ablations', grid, profile, f));
      }
    }
  }
}

async function nodeRanking(runDir: string): Promise<Map<string, string[]>> {
  const config = withRepoPaths(loadRunConfig(runDir));
  const data = loadData(config.data);
  const plan = evaluationFor(config, data);
  const model = loadRunModel(runDir, config);
  const loader = evalLoader(model, config);
  try {
    const q = await extractFeatures(model, plan.query, { loader, split: 'query' });
    const g = await extractFeatures(model, plan.gallery, { loader, split: 'gallery' });
    const lists = rankedLists({ query: q, gallery: g, dim: q.dim, querySamples: plan.query, gallerySamples: plan.gallery, protocol: plan.protocol, count: plan.query.length });
    galleryImage = plan.gallery[0]!.path;
    return new Map(lists.map((l) => [relative(data.root, l.query), l.gallery.map((e) => relative(data.root, e.path))]));
  } finally {
    await loader.close();
    model.dispose();
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`explorer browser test: no Chromium at ${CHROMIUM}: apt-get install chromium (Debian), or set CLIP_SENET_CHROMIUM to a Chromium binary`);
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-explorer-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const runDir = join(dir, 'tiny-run');
  const io = { out: (): void => undefined, err: (t: string): void => void process.stderr.write(t) };
  const tiny = join(REPO_ROOT, 'experiments', 'configs', 'synthetic', 'tiny.yaml');
  expect(await main(['train', '--config', tiny, '--set', 'train.maxSteps=2', '--run-dir', runDir, '--no-progress'], io)).toBe(0);
  copyReports(join(dir, 'reports'));
  built = await buildExplorer({
    outDir: join(dir, 'site'), reportsDir: join(dir, 'reports'), runsDir: join(dir, 'no-runs'),
    demoRuns: [{ runDir, label: 'tiny test run' }], log: () => undefined,
  });
  nodeTop10 = await nodeRanking(runDir);
  server = await serveSite(built.outDir, 0);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Open a page, collecting console errors, uncaught exceptions and failed requests. */
async function open(path: string, b: Browser = browser): Promise<{ page: Page; problems: string[] }> {
  const page = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  await page.goto(new URL(path, server.url).href);
  return { page, problems };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const records = (): { grid: string; record: AblationRecord; md: string }[] =>
  built.site.grids.map((g) => {
    const base = join(dir, 'reports', 'ablations', g.ablation, g.profile);
    return { grid: g.id, record: JSON.parse(readFileSync(join(base, 'runs.json'), 'utf8')) as AblationRecord, md: readFileSync(join(base, `${g.ablation}.md`), 'utf8') };
  });

/** The first Markdown table of a report page: header and rows, cells without backticks. */
function mdTable(md: string): { header: string[]; rows: string[][] } {
  const lines = md.split('\n').filter((l) => l.startsWith('| '));
  const cells = (l: string): string[] => l.slice(2, -2).split(/(?<!\\) \| /).map((c) => c.replace(/`/g, '').replace(/\\\|/g, '|').trim());
  return { header: cells(lines[0]!), rows: lines.slice(2).map(cells).filter((r) => r.length === cells(lines[0]!).length) };
}

async function pageTable(page: Page): Promise<{ header: string[]; rows: string[][] }> {
  await page.waitForSelector('#grid-table tbody tr');
  return page.evaluate(() => {
    const document = (globalThis as unknown as { document: Doc }).document;
    return {
    header: [...document.querySelectorAll('#grid-table thead th')].map((th) => th.firstChild?.textContent ?? ''),
    rows: [...document.querySelectorAll('#grid-table tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    };
  });
}

/** Wait until the element's text contains `text` (its text when it never does, for the failure message). */
async function waitText(page: Page, selector: string, text: string): Promise<string> {
  try {
    await page.waitForFunction(([sel, t]) => ((globalThis as unknown as { document: Doc }).document.querySelector(sel!)?.textContent ?? '').includes(t!), [selector, text], { timeout: 60_000 });
  } catch {
    /* fall through to the comparison, which names what was shown */
  }
  const shown = (await page.locator(selector).first().textContent()) ?? '';
  expect(shown, selector).toContain(text);
  return shown;
}

/** Click a demo query and read the counted top-10 (junk excluded) once the page shows that query's results. */
async function demoTop10(page: Page, query: string): Promise<string[]> {
  await page.locator(`#demo-queries button[data-path="${query}"]`).click();
  await page.waitForFunction((q) => (globalThis as unknown as { document: Doc }).document.querySelector('#demo-results')?.dataset.query === q, query, { timeout: 60_000 });
  return page.evaluate(() => [...(globalThis as unknown as { document: Doc }).document.querySelectorAll('#demo-results .tile:not(.query):not(.junk)')].map((t) => t.getAttribute('data-path') ?? ''));
}

describe('results explorer in Chromium', () => {
  it('every page loads without console errors (screenshots in dist/explorer-test/)', async () => {
    const pages: [string, string][] = [
      ['overview', '#/'], ...built.site.grids.map((g) => [`grid-${g.id.replace('/', '-')}`, `#/grid/${g.id}`] as [string, string]),
      ['paper-tables', '#/paper'], ['ranked-record', `#/ranked/${encodeURIComponent(built.site.ranked[0]!.runKey)}`], ['ranked-demo', `#/ranked/${encodeURIComponent(built.demos[0]!.id)}`],
    ];
    // one page, routed by hash (as a reader clicks through); problems are attributed to the route that was shown
    const { page, problems } = await open('#/');
    for (const [name, hash] of pages) {
      const before = problems.length;
      await page.evaluate((h) => { (globalThis as unknown as { location: { hash: string } }).location.hash = h; }, hash);
      await page.waitForSelector(`main section[data-route="${hash}"]`);
      await page.waitForFunction(() => [...(globalThis as unknown as { document: { images: Iterable<{ complete: boolean }> } }).document.images].every((i) => i.complete));
      await shot(page, name);
      expect(problems.slice(before), name).toEqual([]);
    }
    await page.close();
    const demo = await open('#/demo');
    await demo.page.waitForSelector('#demo-queries button');
    await demoTop10(demo.page, built.demos[0]!.queries[0]!.path);
    await shot(demo.page, 'demo');
    expect(demo.problems).toEqual([]);
    await demo.page.close();
  });

  it('each grid\'s table shows the committed report\'s numbers; mAP is the records\' seed mean ± std', async () => {
    expect(records().length).toBeGreaterThanOrEqual(9);
    for (const { grid, record, md } of records()) {
      const { page } = await open(`#/grid/${grid}`);
      const shown = await pageTable(page);
      const committed = mdTable(md);
      expect(shown.header, grid).toEqual(committed.header);
      expect(shown.rows, grid).toEqual(committed.rows);
      const mapCol = shown.header.indexOf('mAP (%)');
      for (const v of record.variants) {
        const seeds = record.runs.filter((r) => r.variant === v.name && r.summary).map((r) => r.summary!.metrics.mAP * 100);
        const row = shown.rows.find((r) => r[0] === v.name)!;
        expect(row[mapCol], `${grid} ${v.name}`).toBe(seeds.length === 0 ? 'not run' : fmtMeanStd(meanStd(seeds)!));
      }
      await page.close();
    }
  });

  it('sorts a grid table by a column, and back', async () => {
    const { page } = await open('#/grid/main/default');
    const before = await pageTable(page);
    const col = before.header.indexOf('mAP (%)');
    await page.locator('#grid-table thead th').nth(col).click();
    const asc = (await pageTable(page)).rows.map((r) => Number.parseFloat(r[col]!));
    expect(asc).toEqual([...asc].sort((a, b) => a - b));
    await page.locator('#grid-table thead th').nth(col).click();
    const desc = (await pageTable(page)).rows.map((r) => Number.parseFloat(r[col]!));
    expect(desc).toEqual([...asc].reverse());
    await page.close();
  });

  it.each([['default backend', ''], ['wasm', '?backend=wasm']])('the demo\'s top-10 for every query equals the Node ranking (%s)', async (name, qs) => {
    const { page, problems } = await open(`${qs}#/demo`);
    await page.waitForSelector('#demo-queries button', { timeout: 60_000 });
    const backend = await page.locator('#demo-backend').getAttribute('data-backend');
    if (qs) expect(backend).toBe('wasm');
    const queries = built.demos[0]!.queries.map((q) => q.path);
    expect(queries.length).toBe(nodeTop10.size);
    for (const q of queries) expect(await demoTop10(page, q), `${name} (${backend}): ${q}`).toEqual(nodeTop10.get(q));
    await waitText(page, '#demo-timing', `on ${backend}`);
    expect(Number(await page.locator('#demo-check').getAttribute('data-max-diff'))).toBeLessThan(1e-4);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('on WebGPU (Chromium\'s SwiftShader adapter) the top-10 for every query equals the Node ranking too', async () => {
    const gpu = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'] });
    try {
      const { page, problems } = await open('?backend=webgpu#/demo', gpu);
      await page.waitForSelector('#demo-queries button', { timeout: 120_000 });
      expect(await page.locator('#demo-backend').getAttribute('data-backend')).toBe('webgpu');
      for (const q of built.demos[0]!.queries.map((x) => x.path)) expect(await demoTop10(page, q), `webgpu: ${q}`).toEqual(nodeTop10.get(q));
      await waitText(page, '#demo-timing', 'on webgpu');
      await shot(page, 'demo-webgpu');
      expect(problems).toEqual([]);
    } finally {
      await gpu.close();
    }
  });

  it('without WebGL the demo says so, falls back to wasm and ranks the same', async () => {
    const noGl = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--disable-webgl', '--disable-webgl2', '--disable-gpu'] });
    try {
      const { page, problems } = await open('#/demo', noGl);
      await page.waitForSelector('#demo-queries button', { timeout: 60_000 });
      expect(await page.locator('#demo-backend').getAttribute('data-backend')).toBe('wasm');
      await waitText(page, '#demo-backend', 'WebGL unavailable');
      await waitText(page, '#demo-backend', 'using the wasm fallback');
      const q = built.demos[0]!.queries[1]!.path;
      expect(await demoTop10(page, q)).toEqual(nodeTop10.get(q));
      await shot(page, 'demo-no-webgl');
      expect(problems).toEqual([]);
    } finally {
      await noGl.close();
    }
  });

  it('bad input is said in place and the rest works: an undecodable image, runs without weights, a record without figures', async () => {
    const { page, problems } = await open('#/demo');
    await page.waitForSelector('#demo-queries button', { timeout: 60_000 });
    await page.locator('#demo-file').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
    await waitText(page, '#demo-error', 'cannot decode broken.png');
    await shot(page, 'demo-bad-image');
    // a decodable image of unknown identity still ranks (10 unmarked entries)
    await page.locator('#demo-file').setInputFiles(galleryImage);
    await page.waitForFunction(() => [...(globalThis as unknown as { document: Doc }).document.querySelectorAll('#demo-results .tile:not(.query)')].length === 10);
    expect(await page.locator('#demo-error').textContent()).toBe('');
    // the grid's runs have no folders here: listed with the reason, not offered
    await waitText(page, '#demo-unavailable', 'does not exist');
    expect(problems).toEqual([]);
    await page.close();
    const grid = built.site.grids.find((g) => g.ablation === STRIPPED)!;
    const p2 = await open(`#/grid/${grid.id}`);
    await p2.page.waitForSelector('#grid-table');
    const notes = await p2.page.locator('#figures [data-missing]').allTextContents();
    expect(notes).toHaveLength(3);
    for (const n of notes) expect(n).toMatch(new RegExp(`${STRIPPED}-(train|curves|ranked)\\.png is missing`));
    expect(await p2.page.locator('#chart-train svg path[data-variant]').count()).toBeGreaterThan(0);
    await shot(p2.page, 'grid-without-figures');
    expect(p2.problems).toEqual([]);
    await p2.page.close();
  });

  it('a build without any run with weights says so on the demo page', async () => {
    const plain = await buildExplorer({ outDir: join(dir, 'site-plain'), reportsDir: join(dir, 'reports'), runsDir: join(dir, 'no-runs'), log: () => undefined });
    expect(plain.site.demoMissing).toContain('no run with weights was found');
    const s = await serveSite(plain.outDir, 0);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(`${s.url}#/demo`);
      await waitText(page, '#demo-model', 'No run with weights in this build');
      await page.waitForSelector('#demo-backend');
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await s.close();
    }
  });

  it('`explorer --serve` prints the URL, serves the site and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'experiments', 'src', 'explorer', 'main.ts'), '--no-build', '--out', built.outDir, '--serve', '--port', '0'], { cwd: join(REPO_ROOT, 'experiments'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const url = await new Promise<string>((ok, fail) => {
      const t = setInterval(() => {
        const m = /serving .* at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) { clearInterval(t); ok(m[1]!); }
      }, 100);
      child.once('exit', (code) => { clearInterval(t); fail(new Error(`explorer --serve exited (${code}) before printing a URL:\n${out}`)); });
    });
    const r = await fetch(`${url}data/site.json`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { grids: unknown[] }).grids).toHaveLength(built.site.grids.length);
    expect((await fetch(`${url}no-such-file.json`)).status).toBe(404);
    const code = await new Promise<number | null>((ok) => { child.once('exit', ok); child.kill('SIGINT'); });
    expect(code).toBe(0);
    expect(out).toContain('explorer: stopped');
    expect(existsSync(join(built.outDir, 'index.html'))).toBe(true);
  });
});
