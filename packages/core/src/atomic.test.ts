import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicTempPath, removeStaleTempFiles, writeFileAtomic, writeJsonAtomic } from './atomic';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function caught(f: () => void): NodeJS.ErrnoException {
  try {
    f();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected an error');
}

/** The pid of a process that has exited (its temporary files are stale). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  expect(child.status).toBe(0);
  return child.pid!;
}

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

  it('a failed write names the file it was writing and keeps the system error code', () => {
    mkdirSync(join(dir, 'occupied'));
    const target = join(dir, 'occupied');
    const err = caught(() => writeFileAtomic(target, 'data'));
    expect(err.message).toMatch(new RegExp(`^Cannot write ${target}: EISDIR`));
    expect(err.code).toBe('EISDIR');
    writeFileSync(join(dir, 'plain'), 'x');
    const nested = join(dir, 'plain', 'sub', 'f.json');
    const err2 = caught(() => writeJsonAtomic(nested, { a: 1 }));
    expect(err2.message).toContain(`Cannot write ${nested}: `);
    expect(['ENOTDIR', 'EEXIST']).toContain(err2.code);
  });

  it('a write that fails mid-file (file size limit, like a full disk) names the file, leaves no temporary file and the old content', () => {
    const target = join(dir, 'big.bin');
    writeFileSync(target, 'old');
    // ulimit -f 8: writes past 8 KiB fail with EFBIG (SIGXFSZ ignored), the way ENOSPC fails a write on a full disk
    const atomic = fileURLToPath(new URL('./atomic.ts', import.meta.url));
    const script = `import { writeFileAtomic } from ${JSON.stringify(atomic)};
      try { writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(1 << 20)); console.log('no error'); }
      catch (e) { console.log(JSON.stringify({ message: e.message, code: e.code })); }`;
    const child = spawnSync('bash', ['-c', 'trap "" XFSZ; ulimit -f 8; exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual({ message: `Cannot write ${target}: EFBIG: file too large, write`, code: 'EFBIG' });
    expect(readdirSync(dir)).toEqual(['big.bin']);
    expect(readFileSync(target, 'utf8')).toBe('old');
  });

  it('writeJsonAtomic writes 2-space JSON with a trailing newline', () => {
    const p = join(dir, 'm.json');
    writeJsonAtomic(p, { a: [1, 2], b: { c: 'd' } });
    expect(readFileSync(p, 'utf8')).toBe('{\n  "a": [\n    1,\n    2\n  ],\n  "b": {\n    "c": "d"\n  }\n}\n');
  });
});

describe('stale temporary files', () => {
  it('removes the leftovers of dead writers and never a file a live writer may be writing', () => {
    const dead = deadPid();
    const ours = atomicTempPath(join(dir, 'ckpt.safetensors')); // this process is (as far as anyone can tell) writing it
    const host = ours.slice(ours.lastIndexOf('.tmp-') + 5).split('-')[1]!;
    const otherHost = (host[0] === '0' ? '1' : '0') + host.slice(1);
    const names = {
      deadOld: `.ckpt-1.safetensors.tmp-${dead}-0-3`, // before the host tag
      deadNew: `.ckpt-2.safetensors.tmp-${dead}-${host}-0-1`,
      ourPidEarlierProcess: `.ckpt-3.safetensors.tmp-${process.pid}-${host}-0-7`, // a container restart can reuse a pid
      ourPidOldFormat: `.ckpt-3b.safetensors.tmp-${process.pid}-0-7`,
      ourPidOtherThread: `.ckpt-3c.safetensors.tmp-${process.pid}-${host}-5-2`, // a worker thread of this process writing now
      live: `.ckpt-4.safetensors.tmp-${process.ppid}-${host}-0-1`, // the parent process is alive
      otherHost: `.ckpt-5.safetensors.tmp-${dead}-${otherHost}-0-1`, // a folder shared with another machine
      notATemp: 'ckpt-6.safetensors',
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
    writeFileSync(ours, 'partial');
    const beforeThisProcess = (Date.now() - process.uptime() * 1000 - 60_000) / 1000; // last written a minute before we started
    for (const n of [names.ourPidEarlierProcess, names.ourPidOldFormat]) utimesSync(join(dir, n), beforeThisProcess, beforeThisProcess);
    const lines: string[] = [];
    const removed = removeStaleTempFiles(dir, (l) => lines.push(l));
    expect(removed.sort()).toEqual([names.deadOld, names.deadNew, names.ourPidEarlierProcess, names.ourPidOldFormat].map((n) => join(dir, n)).sort());
    expect(lines).toHaveLength(4);
    expect(lines.join('\n')).toContain(`${join(dir, names.deadNew)}: a temporary file of an interrupted write (its process ${dead} is gone)`);
    const left = readdirSync(dir).sort();
    expect(left).toEqual([names.live, names.otherHost, names.ourPidOtherThread, names.notATemp, ours.slice(dir.length + 1)].sort());
    expect(removeStaleTempFiles(join(dir, 'absent'), null)).toEqual([]);
  });

  it('writeFileAtomic({ removeStaleTemps }) sweeps the folder before writing', () => {
    const pid = deadPid();
    const stale = join(dir, `.old.bin.tmp-${pid}-0-1`);
    writeFileSync(stale, 'half a checkpoint');
    writeFileAtomic(join(dir, 'a.txt'), 'a');
    expect(readdirSync(dir).sort()).toEqual([stale.slice(dir.length + 1), 'a.txt'].sort());
    const lines: string[] = [];
    writeFileAtomic(join(dir, 'b.txt'), 'b', { removeStaleTemps: true, log: (l) => lines.push(l) });
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'b.txt']);
    expect(lines).toEqual([`removed ${stale}: a temporary file of an interrupted write (its process ${pid} is gone)`]);
  });
});
