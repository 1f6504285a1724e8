#!/usr/bin/env node
// Compiles one library package for publishing: `node ../../scripts/build-package.mjs` in packages/<name> (the Nx
// `build` target) turns src/ into dist/ — ES modules, .d.ts declarations and source maps — with the compiler of
// the workspace and the package's tsconfig.build.json.
//
// Why not plain `tsc -p tsconfig.build.json`: the sources import each other without extensions (`./config`,
// `./kernels/index`), which bundlers, tsx and vitest resolve but plain Node does not. The emit here rewrites
// every relative specifier of the output (static and dynamic imports, re-exports, `import("…")` types in the
// declarations) to the file it names (`./config.js`, `./kernels/index.js`), checked against the sources: a
// specifier that names no source file is an error naming the file. Non-TypeScript files under src/ that the code
// loads at run time (worker entries `*.mjs`, their `.d.mts` types, JSON, wasm) are copied beside the output.
//
// dist/ is replaced only when everything compiled: the build writes a temporary folder and renames it.
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { BUILD_INFO, listAssets, sourceDigests } from './build-info.mjs';

/** Specifiers that already name a run-time file. */
const RUNTIME_EXTENSIONS = ['.js', '.mjs', '.cjs', '.json', '.wasm', '.node'];

const packageDir = process.cwd();
const configPath = join(packageDir, 'tsconfig.build.json');
if (!existsSync(configPath)) fail(`${configPath}: missing (every library package has a tsconfig.build.json)`);

const host = ts.sys;
const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => packageDir, getNewLine: () => '\n' };
const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...host, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.formatDiagnostic(d, formatHost)) });
if (parsed.errors.length > 0) fail(ts.formatDiagnosticsWithColorAndContext(parsed.errors, formatHost));

const srcDir = resolve(packageDir, parsed.options.rootDir ?? 'src');
const outDir = resolve(packageDir, parsed.options.outDir ?? 'dist');
const tmpDir = `${outDir}.tmp-${process.pid}`;
rmSync(tmpDir, { recursive: true, force: true });

const digests = sourceDigests(srcDir, parsed.fileNames); // before compiling: a source edited meanwhile is then stale
const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, outDir: tmpDir }, projectReferences: parsed.projectReferences });
const problems = [];
const rewrite = (ctx) => (sourceFile) => rewriteSpecifiers(ctx, sourceFile, problems);
const emit = program.emit(undefined, undefined, undefined, false, { after: [rewrite], afterDeclarations: [rewrite] });
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics];
if (diagnostics.length > 0 || problems.length > 0 || emit.emitSkipped) {
  rmSync(tmpDir, { recursive: true, force: true });
  fail([diagnostics.length > 0 ? ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost) : '', ...problems].filter(Boolean).join('\n'));
}
const copied = copyAssets(srcDir, tmpDir);
// What this build was made from (prepack.mjs refuses to pack a dist/ whose sources have changed since).
writeFileSync(join(tmpDir, BUILD_INFO), `${JSON.stringify({ sources: digests }, null, 2)}\n`);
rmSync(outDir, { recursive: true, force: true });
renameSync(tmpDir, outDir);
const emitted = parsed.fileNames.length;
process.stdout.write(`${relative(process.cwd(), outDir) || outDir}: ${emitted} modules compiled, ${copied} files copied\n`);

/** The emitted form of a relative specifier written in `fromFile`, or undefined (with a problem) when it names nothing. */
function resolveSpecifier(fromFile, specifier) {
  const ext = extname(specifier);
  if (RUNTIME_EXTENSIONS.includes(ext)) return specifier;
  if (ext === '.ts' || ext === '.mts') return `${specifier.slice(0, -ext.length)}${ext === '.ts' ? '.js' : '.mjs'}`;
  const base = resolve(dirname(fromFile), specifier);
  if (existsSync(`${base}.ts`) || existsSync(`${base}.d.ts`)) return `${specifier}.js`;
  if (existsSync(join(base, 'index.ts'))) return `${specifier.replace(/\/$/, '')}/index.js`;
  return undefined;
}

/** A transformer (for the JS and the declaration emit) that rewrites every relative module specifier. */
function rewriteSpecifiers(ctx, sourceFile, out) {
  if (!ts.isSourceFile(sourceFile)) return sourceFile;
  const f = ctx.factory;
  const fromFile = sourceFile.fileName;
  const fix = (literal) => {
    if (!literal || !ts.isStringLiteral(literal) || !/^\.\.?(\/|$)/.test(literal.text)) return literal;
    const next = resolveSpecifier(fromFile, literal.text);
    if (next === undefined) {
      out.push(`${relative(packageDir, fromFile)}: import '${literal.text}' names no file (expected a .ts module or a folder with index.ts)`);
      return literal;
    }
    return next === literal.text ? literal : f.createStringLiteral(next);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      return f.updateImportDeclaration(node, node.modifiers, node.importClause, fix(node.moduleSpecifier), node.attributes);
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      return f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, fix(node.moduleSpecifier), node.attributes);
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length >= 1) {
      const [first, ...rest] = node.arguments;
      return f.updateCallExpression(node, node.expression, node.typeArguments, [fix(first), ...rest.map((a) => ts.visitNode(a, visit))]);
    }
    if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = fix(node.argument.literal);
      const argument = literal === node.argument.literal ? node.argument : f.updateLiteralTypeNode(node.argument, literal);
      return f.updateImportTypeNode(node, argument, node.attributes, node.qualifier, node.typeArguments, node.isTypeOf);
    }
    return ts.visitEachChild(node, visit, ctx);
  };
  return ts.visitEachChild(sourceFile, visit, ctx);
}

/** Copies the run-time assets of src/ (worker entries, JSON, wasm) to the same place under `to`; returns the count. */
function copyAssets(from, to) {
  const assets = listAssets(from);
  for (const rel of assets) {
    mkdirSync(dirname(join(to, rel)), { recursive: true });
    cpSync(join(from, rel), join(to, rel));
  }
  return assets.length;
}

function fail(message) {
  process.stderr.write(`build-package (${relative(resolve(packageDir, '../..'), packageDir)}): ${message}\n`);
  process.exit(1);
}
