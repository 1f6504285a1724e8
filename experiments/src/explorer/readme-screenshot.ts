/**
 * The README's explorer screenshot (docs/explorer-demo.png): a built site's live demo in headless Chromium with the
 * first test-split query ranked. Usage (a site built with a run, e.g. the tiny config's):
 *   npx tsx src/explorer/readme-screenshot.ts --site ../dist/explorer --out ../docs/explorer-demo.png
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { serveSite } from './serve';

const { values } = parseArgs({ options: { site: { type: 'string' }, out: { type: 'string' }, chromium: { type: 'string' } } });
if (!values.site || !values.out) throw new Error('readme-screenshot: --site <built site> and --out <png> are required');
const server = await serveSite(resolve(values.site), 0);
const browser = await chromium.launch({ executablePath: values.chromium ?? '/usr/bin/chromium', args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 720 } });
  await page.goto(`${server.url}?backend=wasm#/demo`);
  await page.locator('#demo-queries button').nth(2).click({ timeout: 60_000 });
  await page.waitForSelector('#demo-results .tile:not(.query)');
  await page.screenshot({ path: resolve(values.out) });
  console.log(`wrote ${resolve(values.out)}`);
} finally {
  await browser.close();
  await server.close();
}
