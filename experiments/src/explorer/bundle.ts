/**
 * The explorer page's browser bundle (esbuild, platform browser). The page imports the toolkit's own packages —
 * not a copy: `@clip-senet/<pkg>` (and `…/browser`) resolve to the package's browser entry `src/browser.ts` (its
 * index when it has none: afem, whose index is Node-free), `@clip-senet/core/base` to core's `src/browser-base.ts`.
 * That is what a `"browser"` export condition pointing at `./src/browser.ts` gives any bundler.
 *
 * The build fails when anything Node-only reaches the bundle from the repository's sources: a Node builtin import
 * (`node:fs`, `worker_threads`, …) or a `process` / `Buffer` / `__dirname` reference, each named with its file and
 * the import chain from the entry. Dependencies in node_modules keep their own `browser` field mappings (tfjs maps
 * `fs` etc. to empty modules); an unmapped builtin there is esbuild's own error.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { REPO_ROOT } from '../config';

/** Where `@clip-senet/<pkg>[/<sub>]` resolves in a browser bundle, or an error text when the subpath is Node-only. */
export function browserEntry(specifier: string, repoRoot = REPO_ROOT): { path: string } | { error: string } {
  const m = /^@clip-senet\/([^/]+)(?:\/(.+))?$/.exec(specifier);
  if (!m) return { error: `${specifier}: not a @clip-senet package` };
  const [, pkg, sub] = m;
  const src = join(repoRoot, 'packages', pkg!, 'src');
  if (!existsSync(src)) return { error: `${specifier}: no package folder packages/${pkg}/src` };
  if (pkg === 'core' && sub === 'base') return { path: join(src, 'browser-base.ts') };
  if (sub === undefined || sub === 'browser') {
    const browser = join(src, 'browser.ts');
    return { path: existsSync(browser) ? browser : join(src, 'index.ts') };
  }
  return { error: `${specifier}: the subpath '${sub}' has no browser entry (only '@clip-senet/${pkg}' and '@clip-senet/${pkg}/browser' do)` };
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Whether `specifier` names a Node builtin module (`fs`, `node:fs`, `fs/promises`, …). */
export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!);
}

const inRepoSources = (file: string, repoRoot: string): boolean => {
  const rel = relative(repoRoot, file);
  return !rel.startsWith('..') && !rel.split(sep).includes('node_modules');
};

/** Node globals a browser does not have, as used in code (comments removed). */
export function nodeGlobalsIn(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found = new Set<string>();
  for (const m of code.matchAll(/(?<![.\w$])(process|Buffer|__dirname|__filename)(?![\w$])/g)) found.add(m[1]!);
  return [...found].sort();
}

/** Options of {@link bundleBrowser}. */
export interface BundleOptions {
  readonly entry: string;
  readonly outFile: string;
  readonly repoRoot?: string;
  readonly minify?: boolean;
}

/** What the bundle holds. */
export interface BundleResult {
  /** Repository source files in the bundle (repository-relative). */
  readonly sources: readonly string[];
  /** `@clip-senet/*` packages the bundle loaded, as `<pkg>: <entry file>`. */
  readonly packages: readonly string[];
  readonly bytes: number;
}

/**
 * Bundle `entry` for the browser into `outFile` (ESM, one file).
 * @throws Error naming every Node-only import or global that reached the bundle, with its import chain
 */
export async function bundleBrowser(options: BundleOptions): Promise<BundleResult> {
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const parents = new Map<string, string>();
  const problems: string[] = [];
  const packages = new Set<string>();
  const chain = (file: string): string => {
    const steps = [relative(repoRoot, file)];
    for (let at = parents.get(file); at !== undefined && steps.length < 12; at = parents.get(at)) steps.push(relative(repoRoot, at));
    return steps.reverse().join(' → ');
  };
  const plugin: Plugin = {
    name: 'clip-senet-browser',
    setup(b) {
      b.onResolve({ filter: /^@clip-senet\// }, (args) => {
        const r = browserEntry(args.path, repoRoot);
        if ('error' in r) return { errors: [{ text: `${r.error} (imported by ${chain(args.importer)})` }] };
        packages.add(`${args.path.split('/').slice(0, 2).join('/')}: ${relative(repoRoot, r.path)}`);
        if (!parents.has(r.path)) parents.set(r.path, args.importer);
        return { path: r.path };
      });
      b.onResolve({ filter: /.*/ }, (args) => {
        if (isNodeBuiltin(args.path) && inRepoSources(args.importer, repoRoot)) {
          problems.push(`Node builtin '${args.path}' imported by ${chain(args.importer)}`);
          return { path: args.path, external: true };
        }
        if (args.path.startsWith('.') && inRepoSources(args.importer, repoRoot)) {
          for (const ext of ['', '.ts', '.mjs', '.js']) {
            const file = resolve(args.resolveDir, args.path + ext);
            if (existsSync(file) && !parents.has(file)) parents.set(file, args.importer);
          }
        }
        return undefined;
      });
      b.onLoad({ filter: /\.(ts|mjs|js)$/ }, (args) => {
        if (!inRepoSources(args.path, repoRoot)) return undefined;
        const globals = nodeGlobalsIn(readFileSync(args.path, 'utf8'));
        for (const g of globals) problems.push(`Node global '${g}' used in ${chain(args.path)}`);
        return undefined;
      });
    },
  };
  const result = await build({
    entryPoints: [options.entry],
    outfile: options.outFile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [plugin],
    write: false,
    absWorkingDir: repoRoot,
  }).catch((err: Error) => {
    throw new Error(`explorer bundle (${relative(repoRoot, options.entry)}): ${err.message}`);
  });
  if (problems.length > 0) {
    throw new Error(
      `explorer bundle (${relative(repoRoot, options.entry)}): Node-only code reached the browser bundle — move it behind the package's Node entry (src/index.ts) and keep src/browser.ts free of it:\n  ${problems.join('\n  ')}`,
    );
  }
  for (const f of result.outputFiles) writeFileSync(f.path, f.contents);
  const meta = result.metafile as Metafile;
  const sources = Object.keys(meta.inputs).map((p) => resolve(repoRoot, p)).filter((p) => inRepoSources(p, repoRoot)).map((p) => relative(repoRoot, p)).sort();
  const bytes = Object.values(meta.outputs).reduce((a, o) => a + o.bytes, 0);
  return { sources, packages: [...packages].sort(), bytes };
}
