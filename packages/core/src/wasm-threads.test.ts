import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = resolve(here, '../../../node_modules/.bin/tsx');
const probe = join(here, '../scripts/thread-probe.ts');

function run(threads: number, env: Record<string, string> = {}): { threads: number; hash: number } {
  const out = execFileSync(tsx, [probe], { env: { ...process.env, CLIP_SENET_WASM_THREADS: String(threads), ...env }, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as { threads: number; hash: number };
}

describe('multi-threaded wasm under Node', () => {
  // XNNPACK alone (the oneDNN kernels, where built, split reductions by their own thread count: see the next test).
  it('initialises the requested thread count and gives bit-identical results to one thread', () => {
    const one = run(1, { CLIP_SENET_NATIVE: '0' });
    const two = run(2, { CLIP_SENET_NATIVE: '0' });
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.hash).toBe(one.hash);
  });

  it('with the native kernels at a fixed CLIP_SENET_NATIVE_THREADS, the wasm thread count does not change results', () => {
    const one = run(1, { CLIP_SENET_NATIVE_THREADS: '1' });
    const two = run(2, { CLIP_SENET_NATIVE_THREADS: '1' });
    expect(two.threads).toBe(2);
    expect(two.hash).toBe(one.hash);
  });
});
