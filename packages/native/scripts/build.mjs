#!/usr/bin/env node
// Builds the optional oneDNN addon from source (run by the root package's postinstall, i.e. by `npm ci`).
// Never fails the install: where g++, Node's headers or libdnnl-dev are missing, or the build fails, it prints ONE
// line saying what is missing and how to get it, records the reason in build/status.json (the loader repeats it at
// run time), and exits 0 — everything then runs on wasm as before. Nothing is downloaded: node-gyp is pointed at
// the system's Node headers (--nodedir=/usr or $CLIP_SENET_NODEDIR).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const logPath = join(buildDir, 'build.log');
const HOW = 'apt-get install g++ libdnnl-dev';

function finish(built, reason) {
  mkdirSync(buildDir, { recursive: true });
  if (!built) rmSync(join(buildDir, 'Release'), { recursive: true, force: true }); // no stale addon behind a failed build
  writeFileSync(join(buildDir, 'status.json'), `${JSON.stringify({ built, reason, time: new Date().toISOString() })}\n`);
  process.stdout.write(`[clip-senet native] ${built ? 'built' : 'not built'}: ${reason}${built ? '' : ' — the wasm kernels are used'}\n`);
  process.exit(0);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
}

if (process.env.CLIP_SENET_NATIVE_BUILD === '0') finish(false, 'skipped (CLIP_SENET_NATIVE_BUILD=0)');
if (process.platform !== 'linux' || process.arch !== 'x64') finish(false, `unsupported platform ${process.platform}-${process.arch} (linux-x64 only)`);

const cxx = process.env.CXX || 'g++';
if (run(cxx, ['--version']).status !== 0) finish(false, `no C++ compiler (${cxx}); install one with \`${HOW}\`, then \`npm run build -w @clip-senet/native\``);

const nodedir = process.env.CLIP_SENET_NODEDIR || '/usr';
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  finish(false, `no Node headers in ${nodedir}/include/node (Debian's nodejs package ships them; set CLIP_SENET_NODEDIR to a Node install with include/node)`);
}

const probe = run(cxx, ['-x', 'c++', '-std=c++17', '-', '-ldnnl', '-o', '/dev/null'], { input: '#include <dnnl.hpp>\nint main() { return dnnl_version() == nullptr; }\n' });
if (probe.status !== 0) finish(false, `oneDNN (libdnnl-dev) not found by ${cxx}; install it with \`${HOW}\`, then \`npm run build -w @clip-senet/native\``);

// npm exports the path of its bundled node-gyp to scripts; outside npm, find it next to npm itself.
const require = createRequire(import.meta.url);
let nodeGyp = process.env.npm_config_node_gyp;
if (!nodeGyp || !existsSync(nodeGyp)) {
  const npmCli = process.env.npm_execpath;
  const candidates = [npmCli && join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package; npm's bundled copy is the usual one
  }
  const npmRoot = run('npm', ['root', '-g']).stdout?.trim();
  if (npmRoot) candidates.push(join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  nodeGyp = candidates.find((c) => c && existsSync(c));
}
if (!nodeGyp) finish(false, 'node-gyp not found (it ships with npm); run `npm run build -w @clip-senet/native` from npm');

mkdirSync(buildDir, { recursive: true });
const started = Date.now();
const gyp = run(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=max'], { cwd: root, env: { ...process.env, npm_config_nodedir: nodedir } });
writeFileSync(logPath, `${gyp.stdout ?? ''}\n${gyp.stderr ?? ''}`);
if (gyp.status !== 0) finish(false, `node-gyp failed (log: ${logPath})`);
finish(true, `oneDNN addon in ${((Date.now() - started) / 1000).toFixed(0)} s (${join('build', 'Release', 'clip_senet_native.node')})`);
