/**
 * Run ownership: exactly one of several processes racing for a run folder's lock wins; a lock whose processes are
 * gone, or whose heartbeat from another host is too old, is broken; a live or fresh one is respected.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '@clip-senet/core/testing';
import { isHeld, LOCK_FILE, tryLockRun } from './run-lock';

const dirs = tempDirs('clip-senet-lock-');
afterAll(() => dirs.removeAll());
const runFile = promisify(execFile);
const lockModule = fileURLToPath(new URL('./run-lock.ts', import.meta.url));

/** A pid that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('run lock', () => {
  it('of 6 processes racing for one run folder exactly one takes it', async () => {
    const dir = dirs.make();
    const bar = join(dir, 'barrier');
    mkdirSync(bar);
    // a file barrier, not the clock: each process says it is ready and spins until 'go'; the winner holds the lock
    // until every other process has reported
    const script = `import { existsSync, readdirSync, writeFileSync } from 'node:fs';
      import { tryLockRun, isHeld } from ${JSON.stringify(lockModule)};
      const me = process.argv[2];
      writeFileSync(${JSON.stringify(bar)} + '/ready-' + me, '');
      while (!existsSync(${JSON.stringify(join(bar, 'go'))})) {}
      const r = tryLockRun(${JSON.stringify(dir)});
      writeFileSync(${JSON.stringify(bar)} + '/result-' + me, isHeld(r) ? 'won' : 'busy');
      if (isHeld(r)) {
        while (readdirSync(${JSON.stringify(bar)}).filter((f) => f.startsWith('result-')).length < 6) await new Promise((res) => setTimeout(res, 20));
        r.release();
      }`;
    const file = join(dir, 'race.mts');
    writeFileSync(file, script);
    const children = Array.from({ length: 6 }, (_, i) => runFile(process.execPath, ['--import', 'tsx', file, String(i)]));
    while (readdirSync(bar).filter((f) => f.startsWith('ready-')).length < 6) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(bar, 'go'), '');
    await Promise.all(children);
    const words = readdirSync(bar).filter((f) => f.startsWith('result-')).map((f) => readFileSync(join(bar, f), 'utf8')).sort();
    expect(words).toEqual(['busy', 'busy', 'busy', 'busy', 'busy', 'won']);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false); // the winner released it
  });

  it('a lock naming a reused pid is stale: this pid with another token, or a live process that started after the lock', () => {
    const dir = dirs.make();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), runner: process.pid, trainer: null, token: 'an-earlier-process', since: new Date().toISOString() }));
    const lines: string[] = [];
    const a = tryLockRun(dir, { log: (l) => lines.push(l) });
    expect(isHeld(a)).toBe(true);
    expect(lines.join('\n')).toContain('stale lock (written by an earlier process with this pid) removed');
    if (isHeld(a)) a.release();
    // the parent (vitest) is alive, but it started long after this lock claims to have been taken
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), runner: process.ppid, trainer: null, token: 't', since: '2001-01-01T00:00:00.000Z' }));
    const b = tryLockRun(dir, { log: (l) => lines.push(l) });
    expect(isHeld(b)).toBe(true);
    expect(lines.at(-1)).toMatch(/stale lock \(its processes \(\d+\) are gone\) removed/);
    if (isHeld(b)) b.release();
  });

  it('a held lock is busy for a second taker and free again after release', () => {
    const dir = dirs.make();
    const a = tryLockRun(dir);
    expect(isHeld(a)).toBe(true);
    // a lock of this very process counts as live (e.g. two job slots of one runner)
    const b = tryLockRun(dir);
    expect(isHeld(b)).toBe(false);
    if (!isHeld(b)) expect(b.holder).toContain(`runner ${process.pid} on ${hostname()}`);
    if (isHeld(a)) a.release();
    const c = tryLockRun(dir);
    expect(isHeld(c)).toBe(true);
    if (isHeld(c)) c.release();
  });

  it('breaks a lock whose runner and trainer are dead, and says so', async () => {
    const dir = dirs.make();
    const pid = await deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), runner: pid, trainer: pid, token: 'x', since: 'then' }));
    const lines: string[] = [];
    const r = tryLockRun(dir, { log: (l) => lines.push(l) });
    expect(isHeld(r)).toBe(true);
    expect(lines.join('\n')).toMatch(/stale lock \(its processes .* are gone\) removed/);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).runner).toBe(process.pid);
    if (isHeld(r)) r.release();
  });

  it('waits for an orphaned trainer of a dead runner (reported as orphan), and respects another host until its heartbeat is stale', async () => {
    const dir = dirs.make();
    const dead = await deadPid();
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ host: hostname(), runner: dead, trainer: sleeper.pid, token: 'x', since: 'then' }));
      const r = tryLockRun(dir);
      expect(isHeld(r)).toBe(false);
      if (!isHeld(r)) expect(r.orphan).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
    const other = join(dirs.make(), 'run');
    mkdirSync(other);
    const file = join(other, LOCK_FILE);
    writeFileSync(file, JSON.stringify({ host: 'some-other-node', runner: 1, trainer: 2, token: 'y', since: 'then' }));
    const fresh = tryLockRun(other);
    expect(isHeld(fresh)).toBe(false);
    if (!isHeld(fresh)) expect(fresh.orphan).toBe(false);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(file, old, old);
    const lines: string[] = [];
    const taken = tryLockRun(other, { log: (l) => lines.push(l) });
    expect(isHeld(taken)).toBe(true);
    expect(lines.join('\n')).toMatch(/no heartbeat from some-other-node for \d+ s/);
    if (isHeld(taken)) taken.release();
  });

  it('withFileLock serialises read-modify-write across processes: 4 × 25 increments give 100', async () => {
    const dir = dirs.make();
    const counter = join(dir, 'count.txt');
    writeFileSync(counter, '0');
    const script = `import { readFileSync, writeFileSync } from 'node:fs';
      import { withFileLock } from ${JSON.stringify(lockModule)};
      for (let i = 0; i < 25; i++) {
        await withFileLock(${JSON.stringify(counter)}, () => {
          const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8'));
          writeFileSync(${JSON.stringify(counter)}, String(n + 1));
        });
      }`;
    const file = join(dir, 'inc.mts');
    writeFileSync(file, script);
    await Promise.all(Array.from({ length: 4 }, () => runFile(process.execPath, ['--import', 'tsx', file])));
    expect(readFileSync(counter, 'utf8')).toBe('100');
    expect(existsSync(`${counter}.lock`)).toBe(false);
  });
});
