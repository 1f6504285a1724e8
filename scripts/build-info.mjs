// What a package build (build-package.mjs) records about its sources, and what prepack.mjs checks before packing:
// the sha256 of every compiled source and copied asset under src/, in dist/.build-sources.json.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The record of the sources a dist/ was built from, inside dist/. */
export const BUILD_INFO = '.build-sources.json';
/** Files under src/ copied to dist/ as they are (everything else in src/ is compiled or left out). */
export const ASSET_EXTENSIONS = ['.mjs', '.cjs', '.d.mts', '.d.cts', '.json', '.wasm'];

/** sha256 of every compiled source (`compiled`: absolute paths) and asset, keyed by its path under `srcDir`. */
export function sourceDigests(srcDir, compiled) {
  const files = [...compiled.map((f) => relative(srcDir, f)), ...listAssets(srcDir)].sort();
  return Object.fromEntries(files.map((f) => [f, createHash('sha256').update(readFileSync(join(srcDir, f))).digest('hex')]));
}

/** Paths under `dir` of the run-time assets a build copies (no tests). */
export function listAssets(dir, prefix = '') {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) return listAssets(dir, rel);
    return ASSET_EXTENSIONS.some((x) => e.name.endsWith(x)) && !e.name.includes('.test.') ? [rel] : [];
  });
}
