#!/usr/bin/env node
// `npm pack` / `npm publish` of a library package run this first (its `prepack` script, in packages/<name>):
// the tarball ships dist/, so dist/ must be a build of the current sources — the same set of files with the same
// contents as recorded by the build (dist/.build-sources.json). Otherwise it stops with the command that builds
// it, rather than pack a missing or stale build. It also copies the repository's LICENSE into the package (npm
// packs a package's own LICENSE file; the copy is git-ignored).
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import ts from 'typescript';
import { BUILD_INFO, sourceDigests } from './build-info.mjs';

const packageDir = process.cwd();
const name = basename(packageDir);
const config = ts.getParsedCommandLineOfConfigFile(join(packageDir, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
if (!config) fail('tsconfig.build.json is unreadable');
const infoPath = join(packageDir, 'dist', BUILD_INFO);
if (!existsSync(infoPath)) fail(`no build in dist/ — build it first: npx nx run ${name}:build`);
const built = JSON.parse(readFileSync(infoPath, 'utf8')).sources;
const now = sourceDigests(join(packageDir, 'src'), config.fileNames);
const changed = [...new Set([...Object.keys(built), ...Object.keys(now)])].filter((f) => built[f] !== now[f]).sort();
if (changed.length > 0) {
  const shown = changed.slice(0, 5).map((f) => `src/${f}`).join(', ');
  fail(`dist/ is stale: ${shown}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''} changed since it was built — rebuild: npx nx run ${name}:build`);
}
copyFileSync(join(packageDir, '..', '..', 'LICENSE'), join(packageDir, 'LICENSE'));

function fail(message) {
  process.stderr.write(`prepack (@clip-senet/${name}): ${message}\n`);
  process.exit(1);
}
