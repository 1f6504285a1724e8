import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = resolve(here, '../../../node_modules/.bin/tsx');
const probe = join(here, '../scripts/thread-probe.ts');

function run(threads: number): { threads: number; hash: number } {
  const out = execFileSync(tsx, [probe], { env: { ...process.env, CLIP_SENET_WASM_THREADS: String(threads) }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as { threads: number; hash: number };
}

describe('multi-threaded wasm under Node', () => {
  it('initialises the requested thread count and gives bit-identical results to one thread', () => {
    const one = run(1);
    const two = run(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.hash).toBe(one.hash);
  });
});
