/**
 * Run ownership for the ablation runner: a run folder is trained by whoever holds its `runner.lock`, and taking
 * the lock is atomic — the file is created with `O_CREAT | O_EXCL` (`wx`), so of N runners (or N shards of a
 * Slurm array on a shared filesystem) that reach the same run at the same moment exactly one wins; the others see
 * it owned and move on to other runs.
 *
 * The lock holds JSON `{ host, runner, trainer, token, since }`: the host name, the runner's pid, the trainer's pid
 * once started, and a random token. The owner refreshes the file's mtime every {@link HEARTBEAT_MS} while it holds
 * it. A lock is **stale** when
 * - it was written on this host and neither its runner nor its trainer process is alive (a trainer orphaned by a
 *   killed runner keeps the run until it has checkpointed and exited), or
 * - its heartbeat is older than the stale age (another host's owner that died; default {@link DEFAULT_STALE_MS},
 *   `CLIP_SENET_LOCK_STALE_S` overrides), or
 * - it cannot be parsed (a writer killed between create and write).
 *
 * Breaking a stale lock is itself serialised by a second exclusive file (`runner.lock.break`), so two runners that
 * both find the same stale lock cannot both take the run: only the one holding the breaker re-checks, removes and
 * re-creates the lock.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync, renameSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { processExists } from '@clip-senet/core/base';
import { RUN_FILES } from './summarize';

/** Lock file name inside a run folder. */
export const LOCK_FILE = RUN_FILES.lock;
/** How often a holder refreshes its lock's mtime. */
export const HEARTBEAT_MS = 30_000;
/** Age of a heartbeat after which a lock of another host counts as abandoned. */
export const DEFAULT_STALE_MS = 10 * 60_000;
/** Age after which a leftover breaker file is removed (its holder died in the few ms it needs). */
const BREAKER_STALE_MS = 60_000;

/** What a lock file says. */
export interface LockInfo {
  readonly host: string;
  readonly runner: number;
  readonly trainer: number | null;
  readonly token: string;
  readonly since: string;
  /** When the trainer was started (its pid is only trusted for a process that started then). */
  readonly trainerSince?: string;
}

/** A held lock. */
export interface RunLock {
  readonly file: string;
  readonly token: string;
  /** Record the trainer's pid in the lock (so an orphaned trainer keeps the run until it exits). */
  setTrainer(pid: number | undefined): void;
  /** Release it (only if it is still ours). */
  release(): void;
}

/** Why a run could not be taken. */
export interface LockBusy {
  readonly file: string;
  readonly holder: string;
  /** The holder is a trainer on this host whose runner is gone: it checkpoints and exits within a step. */
  readonly orphan: boolean;
}

const pidAlive = processExists;

function staleMs(env: NodeJS.ProcessEnv): number {
  const raw = env.CLIP_SENET_LOCK_STALE_S;
  if (raw === undefined || raw === '') return DEFAULT_STALE_MS;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new Error(`CLIP_SENET_LOCK_STALE_S must be a positive number of seconds, got '${raw}'`);
  return s * 1000;
}

function readLock(file: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    return typeof info.host === 'string' && Number.isInteger(info.runner) ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Undefined when the lock is held by someone live; otherwise why it is stale. */
/** Tokens of the locks this process holds: a lock naming our pid but another token is an earlier process's. */
const HELD_TOKENS = new Set<string>();

let bootMs: number | undefined;
let ticksPerSecond: number | undefined;

/** When process `pid` started (ms since the epoch), from /proc; undefined where that cannot be read. */
function pidStartMs(pid: number): number | undefined {
  try {
    if (bootMs === undefined) {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
      if (btime === undefined) return undefined;
      bootMs = Number(btime) * 1000;
      try {
        ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
      } catch {
        ticksPerSecond = 100;
      }
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields after "pid (comm)": state is [0]
    return bootMs + (Number(fields[19]) / ticksPerSecond!) * 1000; // field 22: starttime in clock ticks
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is (still) the process the lock names: alive, and — where /proc tells — started no later than
 * `notAfter` (+ slack for clock granularity), so a pid reused by a later process does not keep a dead owner's lock.
 */
function sameProcessAlive(pid: number | null, notAfter: string | undefined): boolean {
  if (pid === null || !pidAlive(pid)) return false;
  if (notAfter === undefined) return true;
  const started = pidStartMs(pid);
  const bound = Date.parse(notAfter);
  return started === undefined || !Number.isFinite(bound) || started <= bound + 5_000;
}

function staleReason(file: string, env: NodeJS.ProcessEnv): string | undefined {
  let mtime: number;
  try {
    mtime = statSync(file).mtimeMs;
  } catch {
    return 'gone';
  }
  const info = readLock(file);
  if (!info) return Date.now() - mtime > 5_000 ? 'unreadable' : undefined; // a writer may be between create and write
  if (info.host === hostname()) {
    if (info.runner === process.pid) return HELD_TOKENS.has(info.token) ? undefined : 'written by an earlier process with this pid';
    const alive = sameProcessAlive(info.runner, info.since) || sameProcessAlive(info.trainer, info.trainerSince);
    return alive ? undefined : `its processes (${[info.runner, info.trainer].filter((p) => p !== null).join(', ')}) are gone`;
  }
  const age = Date.now() - mtime;
  return age > staleMs(env) ? `no heartbeat from ${info.host} for ${Math.round(age / 1000)} s` : undefined;
}

function busy(file: string, holder?: string): LockBusy {
  const info = readLock(file);
  const orphan = info !== undefined && info.host === hostname() && !sameProcessAlive(info.runner, info.since) && sameProcessAlive(info.trainer, info.trainerSince);
  const who = info ? `runner ${info.runner}${info.trainer !== null ? ` (trainer ${info.trainer})` : ''} on ${info.host} since ${info.since}` : 'an unreadable lock';
  return { file, holder: holder ?? who, orphan };
}

function createExclusive(file: string, content: string, what = 'lock'): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`${file}: cannot create the ${what}: ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, content);
  } catch (err) {
    rmSync(file, { force: true }); // never leave an empty lock behind
    throw new Error(`${file}: cannot write the ${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Replace the content of a lock we hold (rename over it, so readers never see half a file). */
function rewrite(file: string, info: LockInfo): void {
  const tmp = `${file}.${info.token}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(info)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Options of {@link tryLockRun}. */
export interface LockOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Lock file name inside the folder (default {@link LOCK_FILE}; `clip-senet train` takes `train.lock`). */
  readonly file?: string;
  /** Called with a line when a stale lock is broken. */
  readonly log?: (line: string) => void;
}

/**
 * Take the run folder's lock, or report who holds it. Never blocks: a live holder means "someone else trains this
 * run". A stale lock is broken (and said so through `log`) and taken in the same call.
 */
export function tryLockRun(runDir: string, options: LockOptions = {}): RunLock | LockBusy {
  const env = options.env ?? process.env;
  const file = join(runDir, options.file ?? LOCK_FILE);
  const token = randomBytes(8).toString('hex');
  let info: LockInfo = { host: hostname(), runner: process.pid, trainer: null, token, since: new Date().toISOString() };
  const content = (): string => `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file, content(), 'run lock')) return held();
    const reason = staleReason(file, env);
    if (reason === undefined) return busy(file);
    const breaker = `${file}.break`;
    if (!createExclusive(breaker, `${process.pid}\n`)) {
      try {
        if (Date.now() - statSync(breaker).mtimeMs > BREAKER_STALE_MS) rmSync(breaker, { force: true });
      } catch {
        // gone meanwhile
      }
      return busy(file, 'another runner breaking a stale lock');
    }
    try {
      const again = staleReason(file, env); // re-check under the breaker: someone may have taken it meanwhile
      if (again === undefined) return busy(file);
      options.log?.(`${file}: stale lock (${again}) removed`);
      rmSync(file, { force: true });
      if (createExclusive(file, content(), 'run lock')) return held();
    } finally {
      rmSync(breaker, { force: true });
    }
  }
  return busy(file);

  function held(): RunLock {
    HELD_TOKENS.add(token);
    const beat = setInterval(() => {
      try {
        const now = new Date();
        utimesSync(file, now, now);
      } catch {
        // the folder went away; release() will notice
      }
    }, HEARTBEAT_MS);
    beat.unref();
    return {
      file,
      token,
      setTrainer(pid) {
        info = { ...info, trainer: pid ?? null, trainerSince: new Date().toISOString() };
        rewrite(file, info);
      },
      release() {
        clearInterval(beat);
        HELD_TOKENS.delete(token);
        if (readLock(file)?.token === token) rmSync(file, { force: true });
      },
    };
  }
}

/** Type guard: did {@link tryLockRun} take the lock? */
export function isHeld(r: RunLock | LockBusy): r is RunLock {
  return 'release' in r;
}

/**
 * Run `fn` while holding an exclusive lock on `target` (`<target>.lock`, created with `wx`): for the grid record,
 * which every shard of a Slurm array rebuilds and rewrites — under the lock the last writer rebuilds it from every
 * finished run, so a slower shard can never put back a smaller record. A lock whose process is gone (same host) or
 * older than `staleMs` is broken; waiting gives up after `timeoutMs`.
 */
export async function withFileLock<T>(target: string, fn: () => T | Promise<T>, options: { timeoutMs?: number; staleMs?: number } = {}): Promise<T> {
  const file = `${target}.lock`;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const stale = options.staleMs ?? 120_000;
  const token = randomBytes(8).toString('hex');
  const t0 = Date.now();
  const isStale = (): { holder?: { host?: string; pid?: number }; age: number; stale: boolean } | undefined => {
    let holder: { host?: string; pid?: number; since?: string } | undefined;
    try {
      holder = JSON.parse(readFileSync(file, 'utf8')) as { host?: string; pid?: number; since?: string };
    } catch {
      holder = undefined;
    }
    let age: number;
    try {
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      return undefined; // released meanwhile
    }
    const dead = holder?.host === hostname() && typeof holder.pid === 'number' && holder.pid !== process.pid && !sameProcessAlive(holder.pid, holder.since);
    return { ...(holder ? { holder } : {}), age, stale: dead || age > stale || (holder === undefined && age > 5_000) };
  };
  for (let attempt = 0; ; attempt++) {
    const content = `${JSON.stringify({ host: hostname(), pid: process.pid, token, since: new Date().toISOString() })}\n`;
    if (createExclusive(file, content, 'record lock')) break;
    const seen = isStale();
    if (seen?.stale) {
      // break it under a second exclusive file, re-checking there, so two breakers never both enter
      const breaker = `${file}.break`;
      if (createExclusive(breaker, `${process.pid}\n`, 'record lock breaker')) {
        try {
          if (isStale()?.stale) rmSync(file, { force: true });
        } finally {
          rmSync(breaker, { force: true });
        }
        continue;
      }
      try {
        if (Date.now() - statSync(breaker).mtimeMs > 60_000) rmSync(breaker, { force: true });
      } catch {
        // gone meanwhile
      }
    }
    if (seen && Date.now() - t0 > timeoutMs) {
      throw new Error(`${file}: held by pid ${seen.holder?.pid ?? '?'} on ${seen.holder?.host ?? '?'} for ${Math.round(seen.age / 1000)} s; remove it if that process is gone`);
    }
    // back off by a pid-dependent amount, so waiting processes do not retry in lock-step (no randomness needed)
    await new Promise((r) => setTimeout(r, 50 + ((process.pid * 37 + attempt * 13) % 100)));
  }
  try {
    return await fn();
  } finally {
    // only our own lock: one broken as stale meanwhile belongs to someone else now
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as { token?: string }).token === token) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  }
}
