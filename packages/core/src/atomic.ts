/**
 * Atomic file writes: write to a temporary sibling, fsync, then rename over the target, so a reader
 * (or a resumed run) never sees a half-written file even if the process is killed mid-write.
 *
 * A process killed mid-write (`kill -9`, power loss) leaves its temporary file behind. Temporary names carry
 * the writer's pid and a host tag (`.<name>.tmp-<pid>-<host>-<thread>-<n>`), so {@link removeStaleTempFiles} (or
 * `writeFileAtomic(…, { removeStaleTemps: true })`) can tell a leftover of a dead writer from a file a live writer
 * is still writing, and removes only the former.
 *
 * Every error names the file being written (`Cannot write <path>: ENOSPC: no space left on device, write`) and
 * keeps the original `code` / `errno` / `syscall` (the original error is the `cause`).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, basename, join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** 8 hex digits naming this machine, so a folder shared over the network is not swept by another host. */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/**
 * When this process started (the same in every worker thread). A temporary file with our pid last written
 * before it belongs to an earlier process that had the same pid (a restarted container); the margin absorbs
 * timestamp granularity.
 */
const PROCESS_START_MS = Date.now() - process.uptime() * 1000;
const START_MARGIN_MS = 2000;

/** `.<target>.tmp-<pid>-<host>-<thread>-<n>`; the older `.<target>.tmp-<pid>-<thread>-<n>` (no host) is still recognised. */
const TEMP_PATTERN = /^\..+\.tmp-(\d+)-(?:([0-9a-f]{8})-)?\d+-\d+$/;

let counter = 0;

/**
 * A fresh temporary path next to `path`, as {@link writeFileAtomic} uses: unique per process, worker thread and
 * call (the file is opened with `wx`, so a clash fails loudly).
 */
export function atomicTempPath(path: string): string {
  counter += 1;
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${HOST_TAG}-${threadId}-${counter}`);
}

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** First remove temporary files that dead writers left in the target's folder ({@link removeStaleTempFiles}). */
  readonly removeStaleTemps?: boolean;
  /** Where a removed stale file is reported (default `console.warn`; `null` = silent). */
  readonly log?: ((line: string) => void) | null;
}

/** False only when the writer of the temporary file `dir/name` is certainly gone. */
function writerMayBeAlive(dir: string, name: string): boolean {
  const m = TEMP_PATTERN.exec(name);
  if (!m) return true; // not ours: leave it
  const [, pidText, host] = m;
  if (host !== undefined && host !== HOST_TAG) return true; // another machine sharing the folder: cannot tell
  const pid = Number(pidText);
  if (pid === process.pid) {
    // this process (any thread may be writing it), unless last written before it started: an earlier process with our pid
    try {
      return statSync(join(dir, name)).mtimeMs >= PROCESS_START_MS - START_MARGIN_MS;
    } catch {
      return true; // gone already
    }
  }
  return processExists(pid);
}

/** Whether a process with this pid exists on this host (signal 0 only checks; EPERM: it exists, owned by another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temporary files (or folders, named by {@link atomicTempPath}) of atomic writes in `dir` whose writer
 * process no longer exists (left by a crash
 * or `kill -9`). Files of live writers — other processes on this host, this process and its worker threads, and
 * anything written from another host — are never touched. A pid reused by an unrelated live process keeps its
 * file (the safe side); a file with this process's pid that was last written before this process started is an
 * earlier process's (a restarted container) and is removed.
 * Returns the removed paths; each is also reported to `log` (default `console.warn`).
 */
export function removeStaleTempFiles(dir: string, log: ((line: string) => void) | null = (l) => console.warn(l)): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMP_PATTERN.test(name) || writerMayBeAlive(dir, name)) continue;
    const path = join(dir, name);
    rmSync(path, { recursive: true, force: true }); // a temporary folder too (a world being generated)
    removed.push(path);
    log?.(`removed ${path}: a temporary file of an interrupted write (its process ${TEMP_PATTERN.exec(name)![1]} is gone)`);
  }
  return removed;
}

/** Best-effort fsync of the folder so the rename itself survives a power loss (not possible on every OS). */
function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // directories cannot be opened/fsynced on some platforms (e.g. Windows); the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `err` with the target path in its message; `code`, `errno` and `syscall` kept, the original as `cause`. */
function writeError(err: unknown, path: string): Error {
  const e = err as NodeJS.ErrnoException;
  const out: NodeJS.ErrnoException = new Error(`Cannot write ${path}: ${e?.message ?? String(err)}`, { cause: err });
  if (e?.code !== undefined) out.code = e.code;
  if (e?.errno !== undefined) out.errno = e.errno;
  if (e?.syscall !== undefined) out.syscall = e.syscall;
  out.path = path;
  return out;
}

function writeChunks(fd: number, data: string | Uint8Array | readonly Uint8Array[]): void {
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  for (const chunk of chunks) {
    let off = 0;
    while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
  }
  fsyncSync(fd);
}

/**
 * Atomically replace `path` with `data` (parent folders are created).
 *
 * @throws Error `Cannot write <path>: <system message>` with the system error's `code` (ENOSPC, EISDIR, …);
 *   the temporary file is removed and `path` keeps its previous content.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[], options: AtomicWriteOptions = {}): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    if (options.removeStaleTemps) removeStaleTempFiles(dirname(path), options.log === undefined ? (l) => console.warn(l) : options.log);
    const tmp = atomicTempPath(path);
    const fd = openSync(tmp, 'wx');
    try {
      writeChunks(fd, data);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw err;
    }
    closeSync(fd);
    try {
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  } catch (err) {
    throw writeError(err, path);
  }
  fsyncDir(dirname(path));
}

/** Atomically write JSON (2-space indented, trailing newline). */
export function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}
