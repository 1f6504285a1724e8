#!/usr/bin/env node
// The consumer test (CI: .ci/run; by hand: `node scripts/consumer-test.mjs [--keep]` from the repository root):
// the library packages as a researcher gets them. It builds them (Nx, cached), packs each with `npm pack`, and
// installs the tarballs into scratch projects in the OS temp folder — outside the workspace, so nothing resolves
// through it — with `npm ci --offline`: third-party packages come from the npm cache that the workspace's `npm ci`
// filled, at the versions of the workspace's package-lock.json (the scratch lockfile is cut from it). Then:
//
//   1. metrics only: installing @clip-senet/metrics pulls no tfjs, no native addon, no GPU package, and the
//      metrics README example runs in plain Node;
//   2. all the libraries: each package README's example — taken verbatim from the README, so the docs cannot rot —
//      runs in plain Node (no tsx) and prints exactly the output its README shows: metrics evaluates a small
//      ranking, datasets reads a miniature VeRi-776 tree written here, backbones builds a tiny CNN and runs a
//      forward pass, and so on;
//   3. the same examples as TypeScript files pass `tsc --noEmit` (strict, module nodenext) against the packages'
//      published declarations.
//
// Every failure names the step, the command and its output. --keep leaves the scratch folder for inspection.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeExample } from './readme-example.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const started = Date.now();

/** Library packages: every packages/<name> whose package.json is not private. */
const LIBS = readdirSync(join(ROOT, 'packages'))
  .filter((d) => existsSync(join(ROOT, 'packages', d, 'package.json')))
  .map((d) => ({ dir: d, manifest: readJson(join(ROOT, 'packages', d, 'package.json')) }))
  .filter((p) => p.manifest.private !== true);
const byName = new Map(LIBS.map((p) => [p.manifest.name, p]));
/** Packages a metrics-only user must never get. */
const HEAVY = /^(@tensorflow\/|@clip-senet\/native$|webgpu$|@napi-rs\/)/;

const scratch = mkdtempSync(join(tmpdir(), 'clip-senet-consumer-'));
// The child processes must not see the repository's development settings (the source condition, Nx, tsx).
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('npm_') && !k.startsWith('NX_')));
let failed = false;
try {
  step('build', () => run('npx', ['nx', 'run-many', '-t', 'build', '-p', ...LIBS.map((p) => p.dir), '--outputStyle=static'], { cwd: ROOT, env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' } }));
  const tarballs = step('pack', () => pack(join(scratch, 'tarballs')));

  step('metrics only: install', () => install(join(scratch, 'metrics-only'), tarballs, ['@clip-senet/metrics'], {}));
  step('metrics only: no tfjs, native or GPU package installed', () => {
    const heavy = installedPackages(join(scratch, 'metrics-only')).filter((n) => HEAVY.test(n));
    if (heavy.length > 0) throw new Error(`installing @clip-senet/metrics also installed ${heavy.join(', ')}`);
  });
  step('metrics only: README example (node)', () => runExample(join(scratch, 'metrics-only'), 'metrics'));

  // core with tfjs but without its optional peer @clip-senet/native: it imports, trains on wasm, and says why no
  // oneDNN kernels are active
  const coreOnly = join(scratch, 'core-without-native');
  step('core without native: install', () => install(coreOnly, tarballs, ['@clip-senet/core'], { '@tensorflow/tfjs': true, '@tensorflow/tfjs-backend-wasm': true }));
  step('core without native: initBackend(wasm) runs and names the missing addon', () => {
    if (existsSync(join(coreOnly, 'node_modules', '@clip-senet', 'native'))) throw new Error('@clip-senet/native was installed although nothing asked for it');
    const probe = "import { initBackend, backendInfo, tf } from '@clip-senet/core'; await initBackend('wasm', { log: null }); const y = tf.tidy(() => tf.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 1]), 1, 'same').sum()); console.log(`${backendInfo().provenance}; conv sum ${(await y.data())[0]}; ${backendInfo().native.detail}`);";
    const file = join(coreOnly, 'probe.mjs');
    writeFileSync(file, probe);
    const out = run(process.execPath, [file], { cwd: coreOnly }).stdout.trim();
    const expected = 'wasm; conv sum 100; native kernels unavailable: @clip-senet/native not installed (npm install @clip-senet/native: it builds its oneDNN addon where g++ and libdnnl-dev are present)';
    if (out !== expected) throw new Error(`printed\n${out}\nexpected\n${expected}`);
  });

  // every library, as `npm install` of them all would: the README example of each one that has a README runs
  const app = join(scratch, 'app');
  const examples = LIBS.map((p) => p.dir);
  step('app: install', () => install(app, tarballs, LIBS.map((p) => p.manifest.name), { typescript: true, '@types/node': true }));
  step('app: miniature VeRi-776 tree', () => writeMiniVeRi(join(app, 'VeRi')));
  for (const pkg of examples) step(`app: ${pkg} README example (node)`, () => runExample(app, pkg));
  step('app: README examples type-check (tsc --noEmit)', () => typecheck(app, examples));
  process.stdout.write(`consumer test passed in ${((Date.now() - started) / 1000).toFixed(0)} s (${LIBS.length} packages; scratch ${keep ? scratch : 'removed'})\n`);
} catch (err) {
  failed = true;
  process.stderr.write(`consumer test FAILED: ${err.message}\n${keep ? `scratch kept: ${scratch}\n` : ''}`);
} finally {
  if (!keep && !failed) rmSync(scratch, { recursive: true, force: true });
  else if (!keep) process.stderr.write(`scratch kept for inspection: ${scratch}\n`);
}
process.exitCode = failed ? 1 : 0;

function step(name, fn) {
  const t = Date.now();
  try {
    const out = fn();
    process.stdout.write(`ok  ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
    return out;
  } catch (err) {
    throw new Error(`${name}: ${err.message}`);
  }
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: cleanEnv, ...opts });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`\`${cmd} ${args.join(' ')}\` (in ${opts.cwd ?? process.cwd()}) exited ${r.status ?? r.signal}:\n${output}`);
  }
  return r;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** `npm pack` every library into `dest` (their prepack refuses a missing or stale dist/); name → tarball. */
function pack(dest) {
  mkdirSync(dest, { recursive: true });
  const r = run('npm', ['pack', '--json', '--pack-destination', dest, ...LIBS.flatMap((p) => ['-w', `packages/${p.dir}`])], { cwd: ROOT });
  const packed = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  const tarballs = new Map();
  for (const p of packed) {
    const file = join(dest, p.filename);
    if (p.files.some((f) => /^src\/.*\.ts$/.test(f.path) || f.path.endsWith('.test.js'))) throw new Error(`${p.name}: the tarball ships sources or tests`);
    if (!p.files.some((f) => f.path === 'dist/index.js')) throw new Error(`${p.name}: the tarball has no dist/index.js`);
    tarballs.set(p.name, { file, integrity: `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}` });
  }
  for (const p of LIBS) if (!tarballs.has(p.manifest.name)) throw new Error(`npm pack produced no tarball for ${p.manifest.name}`);
  return tarballs;
}

/**
 * Writes a project at `dir` depending on `names` (as tarballs) and `dev` (third-party, at the workspace's locked
 * versions), plus a lockfile cut from the workspace's, and runs `npm ci --offline` in it.
 */
function install(dir, tarballs, names, dev) {
  mkdirSync(dir, { recursive: true });
  const lock = readJson(join(ROOT, 'package-lock.json')).packages;
  const entries = new Map(); // scratch path → lock entry
  const source = new Map(); // scratch path → identity (to tell equal placements apart)

  /** The workspace-lock path a dependency `name` of the package at lock path `from` resolves to. */
  const resolveInLock = (name, from) => {
    for (let at = from; ; ) {
      const candidate = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (lock[candidate]?.link) return { workspace: lock[candidate].resolved };
      if (lock[candidate]) return { path: candidate };
      if (!at) return undefined;
      const i = at.lastIndexOf('/node_modules/');
      at = i >= 0 ? at.slice(0, i) : '';
    }
  };
  /** Places package `name` (identity `id`, entry `entry`) where the package at scratch path `requester` finds it. */
  const place = (name, id, entry, requester, recurse) => {
    for (let at = requester; ; ) {
      const candidate = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (source.has(candidate)) {
        if (source.get(candidate) === id) return;
        break; // a different version is in the way: nest under the requester
      }
      if (!at) {
        entries.set(candidate, entry);
        source.set(candidate, id);
        recurse(candidate);
        return;
      }
      const i = at.lastIndexOf('/node_modules/');
      at = i >= 0 ? at.slice(0, i) : '';
    }
    const nested = `${requester ? `${requester}/` : ''}node_modules/${name}`;
    entries.set(nested, entry);
    source.set(nested, id);
    recurse(nested);
  };
  const requiredPeers = (e) => Object.keys(e.peerDependencies ?? {}).filter((n) => !e.peerDependenciesMeta?.[n]?.optional);
  const placeThirdParty = (name, lockFrom, requester, optional) => {
    const found = resolveInLock(name, lockFrom);
    if (found === undefined) {
      if (optional) return;
      throw new Error(`${name} (needed from ${lockFrom || 'the workspace root'}) is not in package-lock.json`);
    }
    if (found.workspace) return placeLibrary(name, requester);
    const at = found.path;
    const e = lock[at];
    place(name, `${name}@${e.version}:${e.integrity}`, e, requester, (here) => {
      for (const d of Object.keys(e.dependencies ?? {})) placeThirdParty(d, at, here, false);
      for (const d of Object.keys(e.optionalDependencies ?? {})) placeThirdParty(d, at, here, true);
      for (const d of requiredPeers(e)) placeThirdParty(d, at, here, true);
    });
  };
  const placeLibrary = (name, requester) => {
    const lib = byName.get(name);
    if (!lib) throw new Error(`${name} is not a publishable package of this repository`);
    const t = tarballs.get(name);
    const m = lib.manifest;
    const entry = {
      version: m.version,
      resolved: `file:${relative(dir, t.file)}`,
      integrity: t.integrity,
      license: m.license,
      ...(m.dependencies ? { dependencies: m.dependencies } : {}),
      ...(m.optionalDependencies ? { optionalDependencies: m.optionalDependencies } : {}),
      ...(m.peerDependencies ? { peerDependencies: m.peerDependencies, peerDependenciesMeta: m.peerDependenciesMeta } : {}),
      ...(m.engines ? { engines: m.engines } : {}),
    };
    place(name, `${name}@${m.version}:${t.integrity}`, entry, '', (here) => {
      for (const d of Object.keys(m.dependencies ?? {})) placeThirdParty(d, `packages/${lib.dir}`, here, false);
      for (const d of Object.keys(m.optionalDependencies ?? {})) placeThirdParty(d, `packages/${lib.dir}`, here, true);
    });
  };

  const dependencies = Object.fromEntries(names.map((n) => [n, `file:${relative(dir, tarballs.get(n).file)}`]));
  for (const n of names) placeLibrary(n, '');
  const devDependencies = {};
  for (const n of Object.keys(dev)) {
    placeThirdParty(n, '', '', false);
    devDependencies[n] = entries.get(`node_modules/${n}`).version;
    entries.get(`node_modules/${n}`).dev = true;
  }
  const manifest = { name: 'clip-senet-consumer', version: '1.0.0', private: true, type: 'module', dependencies, devDependencies };
  const packages = { '': { name: manifest.name, version: manifest.version, dependencies, devDependencies } };
  for (const [path, e] of [...entries].sort(([a], [b]) => a.localeCompare(b))) packages[path] = e;
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages }, null, 2)}\n`);
  run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir });
}

/** Names of every package installed under `dir`/node_modules (nested ones too). */
function installedPackages(dir) {
  const lock = readJson(join(dir, 'node_modules', '.package-lock.json')).packages;
  return [...new Set(Object.keys(lock).map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length)))].sort();
}

/** Runs the README example of `pkg` with plain node in `dir`; its stdout must be the README's output block. */
function runExample(dir, pkg) {
  const readme = join(ROOT, 'packages', pkg, 'README.md');
  const { code, output } = readmeExample(readme);
  const file = join(dir, `${pkg}-example.mjs`);
  writeFileSync(file, code);
  const r = run(process.execPath, [file], { cwd: dir });
  if (r.stdout.trim() !== output.trim()) {
    throw new Error(`${relative(ROOT, readme)}: the example printed\n${r.stdout.trim()}\nbut the README says it prints\n${output.trim()}`);
  }
}

/** The README examples as .ts files of a strict nodenext TypeScript project, checked with its own tsc. */
function typecheck(dir, pkgs) {
  const files = pkgs.map((pkg) => {
    const name = `${pkg}-example.ts`;
    writeFileSync(join(dir, name), readmeExample(join(ROOT, 'packages', pkg, 'README.md')).code);
    return name;
  });
  // skipLibCheck off, so that the packages' own declarations are checked too; tfjs's declarations have errors of
  // their own under strict settings (tfjs-layers, tfjs-core's `Long`), which are not ours and are left out.
  const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const r = spawnSync(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8', env: cleanEnv });
  const errors = [];
  let ours = false;
  for (const line of r.stdout.split('\n')) {
    const at = /^(\S.*?)\(\d+,\d+\): error /.exec(line);
    if (at) ours = !at[1].startsWith('node_modules/') || at[1].startsWith('node_modules/@clip-senet/');
    if (ours && line.trim()) errors.push(line);
  }
  if (errors.length > 0 || (r.status !== 0 && !/error TS/.test(r.stdout))) throw new Error(`tsc -p ${dir}:\n${errors.join('\n') || r.stdout + r.stderr}`);
}

/**
 * A miniature VeRi-776 tree: lists and (empty) images of 2 training identities, 1 query identity and a gallery of
 * 2 identities over 3 cameras, in the real naming scheme `<vid>_c<cam>_<frame>_<n>.jpg`.
 */
function writeMiniVeRi(root) {
  const splits = {
    train: ['0001_c001_00000010_0.jpg', '0001_c002_00000020_0.jpg', '0003_c001_00000030_0.jpg', '0003_c003_00000040_0.jpg'],
    query: ['0002_c001_00000050_0.jpg'],
    test: ['0002_c002_00000060_0.jpg', '0002_c003_00000070_0.jpg', '0004_c001_00000080_0.jpg'],
  };
  for (const [split, names] of Object.entries(splits)) {
    mkdirSync(join(root, `image_${split}`), { recursive: true });
    for (const n of names) writeFileSync(join(root, `image_${split}`, n), '');
    writeFileSync(join(root, `name_${split}.txt`), `${names.join('\n')}\n`);
  }
}
