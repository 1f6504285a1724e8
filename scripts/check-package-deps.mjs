#!/usr/bin/env node
// Checks that every library package declares exactly what its published code needs, so that it installs and
// runs on its own, without this workspace's hoisted node_modules (CI: .ci/run; by hand:
// `node scripts/check-package-deps.mjs`). It reads the files a build publishes (tsconfig.build.json's sources and
// the .mjs assets) with the TypeScript parser and checks, per package:
//
//   1. every package it imports (static, dynamic or `require`d; type imports too, the declarations carry them) is
//      in dependencies, peerDependencies or optionalDependencies — development-only imports excepted (DEV_ONLY);
//   2. every @clip-senet subpath it imports is in that package's exports map;
//   3. every dependency is used: imported (or required by its binding.gyp), or needed by what it imports from another
//      @clip-senet package — that package's entry reaches it while declaring it only as an optional peer (core's main entry and
//      tfjs: metrics imports only @clip-senet/core/base, so it must not depend on tfjs, and does not);
//   4. its exports map is consistent: each subpath has the clip-senet-source, types and import conditions, the
//      source file exists and the built files are its compiled names; tsconfig.base.json's paths cover it.
//
// Each problem names the package and the file (and line) it comes from.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Imports only the from-source branch of a file takes (never a build); the package that makes them → why. */
const DEV_ONLY = { tsx: 'worker entries register tsx only when they run from src/ (a build imports the compiled worker)' };

const problems = [];
const packages = new Map();
for (const dir of readdirSync(join(ROOT, 'packages'))) {
  const manifestPath = join(ROOT, 'packages', dir, 'package.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (manifest.private === true) continue;
  packages.set(manifest.name, { dir, root: join(ROOT, 'packages', dir), manifest, files: new Map() });
}
for (const pkg of packages.values()) pkg.files = readPublishedFiles(pkg);

const paths = ts.readConfigFile(join(ROOT, 'tsconfig.base.json'), ts.sys.readFile).config?.compilerOptions?.paths ?? {};
for (const pkg of packages.values()) {
  const m = pkg.manifest;
  const declared = { ...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies };
  const where = (file, line) => `${m.name}: ${relative(ROOT, file)}${line ? `:${line}` : ''}`;
  const used = new Set();
  for (const [file, imports] of pkg.files) {
    for (const imp of imports) {
      const name = packageName(imp.specifier);
      if (name === undefined || name === m.name) continue;
      used.add(name);
      if (!(name in declared) && !(imp.dynamic && name in DEV_ONLY)) {
        problems.push(`${where(file, imp.line)}: imports '${imp.specifier}' but ${name} is not in dependencies, peerDependencies or optionalDependencies`);
      }
      const dep = packages.get(name);
      if (dep && !exportsSubpath(dep, imp.specifier)) problems.push(`${where(file, imp.line)}: imports '${imp.specifier}', which is not in ${name}'s exports`);
      if (dep && !imp.typeOnly) for (const peer of requiredPeers(dep, imp.specifier)) used.add(peer);
    }
  }
  // a native addon's build (binding.gyp, run at install) requires its header packages, e.g. node-addon-api
  const gyp = join(pkg.root, 'binding.gyp');
  if (existsSync(gyp)) for (const r of readFileSync(gyp, 'utf8').matchAll(/require\('([^']+)'\)/g)) used.add(packageName(r[1]));
  for (const name of Object.keys(m.dependencies ?? {})) {
    if (!used.has(name)) problems.push(`${m.name}: package.json lists ${name} in dependencies, but nothing it publishes imports it or needs it`);
  }
  for (const name of requiredPeersOfImports(pkg)) {
    if (!(m.dependencies ?? {})[name] && !(m.peerDependencies ?? {})[name]) {
      problems.push(`${m.name}: what it imports from @clip-senet needs ${name} (an optional peer there), so its package.json must list ${name}`);
    }
  }
  checkExports(pkg);
}

if (problems.length > 0) {
  process.stderr.write(`check-package-deps: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`check-package-deps: ${packages.size} packages declare what they import (${[...packages.values()].reduce((n, p) => n + p.files.size, 0)} published files read)\n`);

/** file → its imports, for the files a build of `pkg` publishes. */
function readPublishedFiles(pkg) {
  const config = ts.getParsedCommandLineOfConfigFile(join(pkg.root, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) {
    problems.push(`${pkg.manifest.name}: tsconfig.build.json is missing or unreadable`);
    return new Map();
  }
  const assets = listFiles(join(pkg.root, 'src')).filter((f) => /\.(mjs|cjs)$/.test(f) && !f.includes('.test.'));
  return new Map([...config.fileNames, ...assets].map((f) => [f, importsOf(f)]));
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every module specifier in `file`: { specifier, line, typeOnly, dynamic }. */
function importsOf(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out = [];
  const add = (literal, typeOnly, dynamic) => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    out.push({ specifier: literal.text, line: source.getLineAndCharacterOfPosition(literal.getStart()).line + 1, typeOnly, dynamic });
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, typeOnly, false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true, false);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = (ts.isIdentifier(callee) && callee.text === 'require') || (ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'require' && callee.name.text === 'resolve');
      if (isImport || isRequire) add(node.arguments[0], false, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The package a bare specifier names; undefined for relative paths, URLs and Node builtins. */
function packageName(specifier) {
  if (/^(\.|\/|[a-z]+:)/.test(specifier) || isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The exports key of `specifier` in `dep` ('.' or './sub'), or undefined when dep does not export it. */
function exportsSubpath(dep, specifier) {
  const sub = specifier === dep.manifest.name ? '.' : `.${specifier.slice(dep.manifest.name.length)}`;
  return dep.manifest.exports?.[sub] !== undefined ? sub : undefined;
}

/**
 * Packages that importing `specifier` from the library `dep` needs at run time without `dep` installing them: the
 * packages its entry file reaches — static imports and dynamic imports of a literal name, within dep and on through
 * other libraries — that dep lists only as optional peers (packages imported under a computed name, like the GPU
 * backends, stay optional).
 */
function requiredPeers(dep, specifier, seen = new Set()) {
  const sub = exportsSubpath(dep, specifier);
  const entry = sub && dep.manifest.exports[sub]['clip-senet-source'];
  if (!entry) return [];
  const needed = new Set();
  const stack = [resolve(dep.root, entry)];
  while (stack.length > 0) {
    const file = stack.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of dep.files.get(file) ?? importsOf(file)) {
      // a dynamic import of a named package is a path the entry takes (initBackend's wasm); computed names are not
      if (imp.dynamic && packageName(imp.specifier) in DEV_ONLY) continue;
      if (imp.specifier.startsWith('.')) {
        const base = resolve(dirname(file), imp.specifier);
        const target = [base, `${base}.ts`, join(base, 'index.ts'), base.replace(/\.js$/, '.ts')].find((f) => existsSync(f) && f.match(/\.(ts|mjs|js)$/));
        if (target) stack.push(target);
        continue;
      }
      const name = packageName(imp.specifier);
      if (name === undefined || name === dep.manifest.name) continue;
      const optionalPeer = dep.manifest.peerDependenciesMeta?.[name]?.optional === true && !(dep.manifest.dependencies ?? {})[name];
      if (optionalPeer) needed.add(name);
      const lib = packages.get(name);
      if (lib) for (const p of requiredPeers(lib, imp.specifier, seen)) needed.add(p);
    }
  }
  return [...needed];
}

/** Every optional peer that some value import of `pkg` from another library needs. */
function requiredPeersOfImports(pkg) {
  const needed = new Set();
  for (const imports of pkg.files.values()) {
    for (const imp of imports) {
      const dep = packages.get(packageName(imp.specifier) ?? '');
      if (dep && dep !== pkg && !imp.typeOnly) for (const p of requiredPeers(dep, imp.specifier)) needed.add(p);
    }
  }
  return needed;
}

function checkExports(pkg) {
  const m = pkg.manifest;
  for (const [sub, target] of Object.entries(m.exports ?? {})) {
    if (sub === './package.json') continue;
    const src = target?.['clip-senet-source'];
    if (typeof target !== 'object' || !src || !target.types || !target.import) {
      problems.push(`${m.name}: package.json exports['${sub}'] needs clip-senet-source, types and import conditions`);
      continue;
    }
    if (Object.keys(target)[0] !== 'clip-senet-source') problems.push(`${m.name}: exports['${sub}']: clip-senet-source must come first (conditions match in order)`);
    if (!existsSync(join(pkg.root, src))) problems.push(`${m.name}: exports['${sub}'] names ${src}, which does not exist`);
    const stem = src.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '');
    if (target.types !== `${stem}.d.ts` || target.import !== `${stem}.js`) problems.push(`${m.name}: exports['${sub}'] should build ${src} to ${stem}.js and ${stem}.d.ts`);
    const key = sub === '.' ? m.name : `${m.name}${sub.slice(1)}`;
    const mapped = paths[key] ?? paths[`${m.name}/*`]?.map((p) => p.replace('*', sub.slice(2)));
    if (sub === '.' ? !paths[key] : !mapped) problems.push(`${m.name}: tsconfig.base.json paths do not map '${key}'`);
    else if (resolve(ROOT, mapped[0]) !== resolve(pkg.root, src)) problems.push(`${m.name}: tsconfig.base.json paths map '${key}' to ${mapped[0]}, exports to ${src}`);
  }
}
