import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config';
import { browserEntry, bundleBrowser, isNodeBuiltin, nodeGlobalsIn } from './bundle';
import { PAGE_ENTRY } from './build';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clip-senet-bundle-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A throw-away repository layout: packages/<pkg>/src/<file> and an entry importing them. */
function fakeRepo(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('explorer bundle: the browser entries of the packages, nothing Node-only', () => {
  it('the page bundles from the packages\' browser entries (afem: its Node-free index), never a Node index', async () => {
    const r = await bundleBrowser({ entry: PAGE_ENTRY, outFile: join(dir, 'app.js'), minify: false });
    const entries = Object.fromEntries(r.packages.map((p) => p.split(': ') as [string, string]));
    expect(entries['@clip-senet/engine']).toBe('packages/engine/src/browser.ts');
    expect(entries['@clip-senet/backbones']).toBe('packages/backbones/src/browser.ts');
    expect(entries['@clip-senet/metrics']).toBe('packages/metrics/src/browser.ts');
    expect(entries['@clip-senet/afem']).toBe('packages/afem/src/index.ts');
    // the model path itself is the packages' code, not a copy
    for (const f of ['packages/engine/src/model.ts', 'packages/backbones/src/resnet.ts', 'packages/afem/src/afem.ts', 'packages/metrics/src/distance.ts', 'packages/datasets/src/resize.ts']) {
      expect(r.sources).toContain(f);
    }
    for (const f of ['packages/engine/src/index.ts', 'packages/core/src/index.ts', 'packages/core/src/backend.ts', 'packages/backbones/src/weights.ts', 'packages/engine/src/train.ts']) {
      expect(r.sources).not.toContain(f);
    }
    expect(readFileSync(join(dir, 'app.js'), 'utf8')).not.toMatch(/from\s*["']node:/);
  }, 120_000);

  it('a Node builtin reaching the bundle fails the build, naming the module, the file and the import chain', async () => {
    const root = fakeRepo('builtin', {
      'packages/foo/src/browser.ts': "export { readIt } from './io';\n",
      'packages/foo/src/io.ts': "import { readFileSync } from 'node:fs';\nexport const readIt = (p: string): string => readFileSync(p, 'utf8');\n",
      'page/main.ts': "import { readIt } from '@clip-senet/foo';\nconsole.log(readIt);\n",
    });
    await expect(bundleBrowser({ entry: join(root, 'page/main.ts'), outFile: join(root, 'out.js'), repoRoot: root })).rejects.toThrow(
      "Node builtin 'node:fs' imported by page/main.ts → packages/foo/src/browser.ts → packages/foo/src/io.ts",
    );
  });

  it('a Node global (process, Buffer) in a repository source fails the build; a bare builtin name too', async () => {
    const root = fakeRepo('global', {
      'packages/foo/src/browser.ts': "import os from 'os';\nexport const threads = (): number => Number(process.env.THREADS ?? os.cpus().length);\n",
      'page/main.ts': "import { threads } from '@clip-senet/foo';\nconsole.log(threads());\n",
    });
    const err = await bundleBrowser({ entry: join(root, 'page/main.ts'), outFile: join(root, 'out.js'), repoRoot: root }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain("Node builtin 'os' imported by page/main.ts → packages/foo/src/browser.ts");
    expect(err?.message).toContain("Node global 'process' used in page/main.ts → packages/foo/src/browser.ts");
  });

  it('resolves @clip-senet/* to browser entries and refuses other subpaths', () => {
    expect(browserEntry('@clip-senet/core/base')).toEqual({ path: join(REPO_ROOT, 'packages/core/src/browser-base.ts') });
    expect(browserEntry('@clip-senet/engine/browser')).toEqual({ path: join(REPO_ROOT, 'packages/engine/src/browser.ts') });
    expect(browserEntry('@clip-senet/core/testing')).toEqual({ error: "@clip-senet/core/testing: the subpath 'testing' has no browser entry (only '@clip-senet/core' and '@clip-senet/core/browser' do)" });
    expect(isNodeBuiltin('node:fs')).toBe(true);
    expect(isNodeBuiltin('fs/promises')).toBe(true);
    expect(isNodeBuiltin('worker_threads')).toBe(true);
    expect(isNodeBuiltin('zod')).toBe(false);
    expect(nodeGlobalsIn('// process.env\nconst a = x.process; /* Buffer */ const b = Buffer.from(a);')).toEqual(['Buffer']);
  });
});
