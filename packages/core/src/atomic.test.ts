import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from './atomic';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('writes strings (UTF-8), bytes and chunk lists', () => {
    writeFileAtomic(join(dir, 'a.txt'), 'héllo ✓\n');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('héllo ✓\n');
    writeFileAtomic(join(dir, 'b.bin'), Uint8Array.of(0, 255, 7));
    expect([...readFileSync(join(dir, 'b.bin'))]).toEqual([0, 255, 7]);
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    writeFileAtomic(join(dir, 'c.bin'), [Uint8Array.of(1, 2), new Uint8Array(0), big.subarray(5, 10), big]);
    const c = readFileSync(join(dir, 'c.bin'));
    expect(c.byteLength).toBe(2 + 5 + big.byteLength);
    expect([...c.subarray(0, 7)]).toEqual([1, 2, 5, 6, 7, 8, 9]);
    expect(c.subarray(7).equals(Buffer.from(big))).toBe(true);
  });

  it('replaces an existing file (shorter content leaves no stale tail)', () => {
    const p = join(dir, 'state.json');
    writeFileAtomic(p, 'x'.repeat(1000));
    writeFileAtomic(p, 'short');
    expect(readFileSync(p, 'utf8')).toBe('short');
  });

  it('creates missing parent folders', () => {
    const p = join(dir, 'runs', 'exp-1', 'ckpt', 'last.txt');
    writeFileAtomic(p, 'ok');
    expect(readFileSync(p, 'utf8')).toBe('ok');
  });

  it('leaves no temporary files behind, on success or failure', () => {
    for (let i = 0; i < 5; i++) writeFileAtomic(join(dir, 'f.txt'), `v${i}`);
    expect(readdirSync(dir)).toEqual(['f.txt']);
    mkdirSync(join(dir, 'occupied'));
    expect(() => writeFileAtomic(join(dir, 'occupied'), 'data')).toThrow();
    expect(statSync(join(dir, 'occupied')).isDirectory()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['f.txt', 'occupied']);
    expect(readdirSync(join(dir, 'occupied'))).toEqual([]);
  });

  it('writeJsonAtomic writes 2-space JSON with a trailing newline', () => {
    const p = join(dir, 'm.json');
    writeJsonAtomic(p, { a: [1, 2], b: { c: 'd' } });
    expect(readFileSync(p, 'utf8')).toBe('{\n  "a": [\n    1,\n    2\n  ],\n  "b": {\n    "c": "d"\n  }\n}\n');
  });
});
