/**
 * Training checkpoints: one safetensors file per checkpoint holding every tensor (`param/<name>`,
 * `buffer/<name>`, `optim/<name>`, float32) with the JSON state (step, epoch, optimiser step count, Rng states,
 * sampler position, config hash) in its `__metadata__`, so a checkpoint is a single file written atomically
 * (temp + fsync + rename). The `latest.json` pointer is replaced (atomically) only after the file is complete,
 * and older checkpoints are pruned last — a crash at any moment leaves the previous good checkpoint usable.
 *
 * Every checkpoint carries a checksum: `sha256` in its metadata (and in `latest.json`) over the JSON state and every
 * tensor (name, dtype, shape, bytes), verified on load. A damaged checkpoint or pointer — flipped or truncated
 * bytes, invalid JSON — is a {@link CheckpointDamagedError} naming the file and what is wrong, and the error names
 * the previous checkpoint that still verifies, if one is kept (`resumeState` falls back to it with a printed line).
 * Checkpoints written before checksums existed (no `sha256`) load unverified, with a warning line.
 *
 * Restoring validates every name and shape (model and optimiser) before assigning anything, and fails with
 * one error listing all mismatches.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readSafetensors, tf, writeJsonAtomic, writeSafetensors } from '@clip-senet/core';
import type { RngState, SafeTensor, SafeTensorInput, Tensor, Variable } from '@clip-senet/core';
import type { NamedArray, Optimizer, OptimizerMeta } from './optimizer';

/** Format tag stored in the metadata. */
export const CHECKPOINT_FORMAT = 'clip-senet-checkpoint/1';
/** Name of the pointer file in a checkpoint folder. */
export const LATEST_FILE = 'latest.json';
/** Metadata key (and `latest.json` field) of a checkpoint's checksum. */
export const CHECKSUM_KEY = 'sha256';
/** Suffix a damaged file is renamed with when a resume falls back past it (kept as evidence, never pruned). */
export const DAMAGED_SUFFIX = '.damaged';

/** A checkpoint file or `latest.json` that cannot be trusted: `path` names it, `reason` says what is wrong. */
export class CheckpointDamagedError extends Error {
  override readonly name = 'CheckpointDamagedError';
  constructor(
    readonly path: string,
    readonly reason: string,
    message = `Checkpoint ${path} is damaged: ${reason}`,
  ) {
    super(message);
  }
}

/** Where {@link loadCheckpoint} and {@link saveCheckpoint} report warnings (default `console.warn`; `null` = silent). */
export type CheckpointLog = ((line: string) => void) | null | undefined;
const logOf = (log: CheckpointLog): ((line: string) => void) => (log === undefined ? (l) => console.warn(l) : log ?? (() => {}));

/** The JSON part of a checkpoint. */
export interface CheckpointState {
  /** Optimiser steps completed. */
  readonly step: number;
  /** Epoch the next step belongs to. */
  readonly epoch: number;
  readonly configHash?: string;
  readonly optimizer?: OptimizerMeta;
  /** Named generator states (e.g. `{ init: …, dropout: … }`). */
  readonly rngs?: Readonly<Record<string, RngState>>;
  /** Position of the data stream (e.g. a `PKSamplerState`). */
  readonly data?: unknown;
  /** Anything else a hook wants back on resume (JSON). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointContent {
  readonly params: ReadonlyMap<string, Tensor>;
  readonly buffers?: ReadonlyMap<string, Tensor>;
  readonly optimizer?: Optimizer;
  readonly state: Omit<CheckpointState, 'optimizer'>;
}

/** A checkpoint read back from disk. */
export interface LoadedCheckpoint {
  readonly path: string;
  readonly params: ReadonlyMap<string, NamedArray>;
  readonly buffers: ReadonlyMap<string, NamedArray>;
  readonly optimizer: ReadonlyMap<string, NamedArray>;
  readonly state: CheckpointState;
  /** The verified checksum; undefined for a checkpoint written before checksums (loaded unverified). */
  readonly sha256?: string;
}

/** Where restored tensors go. */
export interface RestoreTargets {
  readonly params: ReadonlyMap<string, Variable>;
  readonly buffers?: ReadonlyMap<string, Variable>;
  readonly optimizer?: Optimizer;
  /** When given, the checkpoint's config hash must equal it. */
  readonly configHash?: string;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Checkpoint files kept in the folder (oldest pruned; default 2). */
  readonly keepLast?: number;
  /** Where removed stale temporary files (of a save that was killed) are reported (default `console.warn`). */
  readonly log?: CheckpointLog;
}

/** Options of {@link loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Where an unverified (pre-checksum) checkpoint is reported (default `console.warn`). */
  readonly log?: CheckpointLog;
}

const fileName = (step: number): string => `ckpt-step-${String(step).padStart(8, '0')}.safetensors`;
const CKPT_PATTERN = /^ckpt-step-(\d{8,})\.safetensors$/;

/**
 * The tensors of `map` as `<prefix>/<name>` entries, read with `await data()` (a GPU backend reads them back
 * asynchronously; webgpu in Node cannot read synchronously at all) and copied off the backend.
 */
async function tensorEntries(path: string, prefix: string, map: ReadonlyMap<string, Tensor> | undefined, out: Map<string, SafeTensorInput>): Promise<void> {
  const entries = [...(map ?? [])];
  for (const [name, t] of entries) {
    if (t.dtype !== 'float32') throw new Error(`saveCheckpoint(${path}): '${name}' is ${t.dtype}; only float32 tensors are checkpointed`);
  }
  const values = await Promise.all(entries.map(([, t]) => t.data() as Promise<Float32Array>));
  entries.forEach(([name, t], i) => out.set(`${prefix}/${name}`, { dtype: 'F32', shape: t.shape, data: Float32Array.from(values[i]!) }));
}

/** SHA-256 (hex) over the format, the JSON state and every tensor's name, dtype, shape and bytes, in name order. */
function payloadDigest(format: string, state: string, tensors: Iterable<[string, Pick<SafeTensorInput, 'dtype' | 'shape' | 'data'>]>): string {
  const h = createHash('sha256').update(`${format}\n${state}\n`);
  for (const [name, t] of [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    h.update(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/**
 * Write a checkpoint into `dir` atomically, then point `latest.json` at it, then prune old ones.
 * Resolves to the checkpoint's path. Every tensor is read before anything is written, so a read that fails (a lost
 * GPU device) leaves the folder as it was.
 */
export async function saveCheckpoint(dir: string, content: CheckpointContent, options: SaveCheckpointOptions = {}): Promise<string> {
  const keepLast = options.keepLast ?? 2;
  if (!Number.isInteger(keepLast) || keepLast < 1) throw new Error(`saveCheckpoint: keepLast must be ≥ 1, got ${keepLast}`);
  const state: CheckpointState = { ...content.state, ...(content.optimizer ? { optimizer: content.optimizer.meta() } : {}) };
  const file = fileName(state.step);
  const path = join(dir, file);
  const tensors = new Map<string, SafeTensorInput>();
  await tensorEntries(path, 'param', content.params, tensors);
  await tensorEntries(path, 'buffer', content.buffers, tensors);
  await tensorEntries(path, 'optim', content.optimizer?.stateTensors(), tensors);
  const stateJson = JSON.stringify(state);
  const sha256 = payloadDigest(CHECKPOINT_FORMAT, stateJson, tensors);
  // removeStaleTemps: a save killed mid-write (kill -9) left `.ckpt-step-….tmp-<pid>-…`; removed once its process is gone
  writeSafetensors(path, tensors, { format: CHECKPOINT_FORMAT, state: stateJson, [CHECKSUM_KEY]: sha256 }, { removeStaleTemps: true, log: logOf(options.log) });
  writePointer(dir, file, state, sha256);
  const old = readdirSync(dir).filter((f) => CKPT_PATTERN.test(f) && f !== file).sort();
  for (const f of old.slice(0, Math.max(0, old.length - (keepLast - 1)))) rmSync(join(dir, f), { force: true });
  return path;
}

function writePointer(dir: string, file: string, state: Pick<CheckpointState, 'step' | 'epoch'>, sha256: string | undefined): void {
  writeJsonAtomic(join(dir, LATEST_FILE), { file, step: state.step, epoch: state.epoch, ...(sha256 ? { [CHECKSUM_KEY]: sha256 } : {}) });
}

/** What `latest.json` says: the checkpoint's path and the checksum it recorded (none before checksums). */
interface Pointer {
  readonly path: string;
  readonly sha256?: string;
}

/** The pointer of `dir`, or undefined without one; a pointer that cannot be read as one is damaged. */
function readPointer(dir: string): Pointer | undefined {
  const pointer = join(dir, LATEST_FILE);
  if (!existsSync(pointer)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(pointer, 'utf8'));
  } catch (err) {
    throw new CheckpointDamagedError(pointer, `not valid JSON (${(err as Error).message})`);
  }
  const { file, [CHECKSUM_KEY]: sha256 } = (parsed ?? {}) as { file?: unknown; sha256?: unknown };
  if (typeof file !== 'string' || !CKPT_PATTERN.test(file)) throw new CheckpointDamagedError(pointer, `invalid checkpoint pointer ${JSON.stringify(file)}`);
  if (sha256 !== undefined && (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))) {
    throw new CheckpointDamagedError(pointer, `invalid ${CHECKSUM_KEY} ${JSON.stringify(sha256)}`);
  }
  const path = join(dir, file);
  if (!existsSync(path)) throw new CheckpointDamagedError(pointer, `points to ${file}, which does not exist`);
  return { path: resolve(path), ...(sha256 !== undefined ? { sha256 } : {}) };
}

/**
 * Path of the checkpoint `latest.json` in `dir` points to, or undefined when there is none.
 *
 * @throws CheckpointDamagedError naming `latest.json` when it is not valid JSON, not a pointer, or points to a
 *   file that does not exist.
 */
export function latestCheckpoint(dir: string): string | undefined {
  return readPointer(dir)?.path;
}

/** Names of tensors holding NaN/Inf (a hint of what the damage hit). */
function nonFiniteTensors(tensors: ReadonlyMap<string, SafeTensor>): string[] {
  const out: string[] = [];
  for (const [key, t] of tensors) {
    if (t.dtype === 'F32' && (t.data as Float32Array).some((v) => v - v !== 0)) out.push(key);
  }
  return out;
}

/** Read and verify one checkpoint file; `expected` is the checksum `latest.json` recorded for it. */
function readCheckpointFile(path: string, expected: string | undefined, log: (line: string) => void): LoadedCheckpoint {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`Cannot read checkpoint ${path}: ${(err as Error).message}`, { cause: err });
  }
  const damaged = (reason: string): never => {
    throw new CheckpointDamagedError(path, reason);
  };
  let file: ReturnType<typeof readSafetensors>;
  try {
    file = readSafetensors(bytes, { source: path });
  } catch (err) {
    return damaged((err as Error).message.replace(`Invalid safetensors file ${path}: `, 'not a valid safetensors file: '));
  }
  const { format, state, [CHECKSUM_KEY]: recorded } = file.metadata;
  if (format !== CHECKPOINT_FORMAT || state === undefined) damaged(`not a ${CHECKPOINT_FORMAT} file (metadata format ${JSON.stringify(format)})`);
  if (recorded === undefined && expected !== undefined) damaged(`${LATEST_FILE} records sha256 ${expected.slice(0, 16)}… but the file carries no checksum`);
  if (recorded === undefined) {
    log(`${path}: no ${CHECKSUM_KEY} (written before checkpoints carried a checksum); loaded unverified`);
  } else {
    const actual = payloadDigest(format!, state!, file.tensors);
    if (actual !== recorded) {
      const bad = nonFiniteTensors(file.tensors);
      damaged(
        `its content has sha256 ${actual.slice(0, 16)}…, the checkpoint records ${recorded.slice(0, 16)}… (bytes changed after it was written)` +
          (bad.length ? `; tensors holding NaN/Inf now: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? `, … (${bad.length})` : ''}` : ''),
      );
    }
    if (expected !== undefined && expected !== recorded) {
      damaged(`${LATEST_FILE} records sha256 ${expected.slice(0, 16)}…, the file holds a checkpoint with ${recorded.slice(0, 16)}…`);
    }
  }
  const groups = { param: new Map<string, NamedArray>(), buffer: new Map<string, NamedArray>(), optim: new Map<string, NamedArray>() };
  for (const [key, t] of file.tensors) {
    const slash = key.indexOf('/');
    const group = groups[key.slice(0, slash) as keyof typeof groups];
    if (slash < 0 || group === undefined) damaged(`unexpected tensor '${key}'`);
    if (t.dtype !== 'F32') damaged(`tensor '${key}' is ${t.dtype}; checkpoints hold F32 only`);
    group.set(key.slice(slash + 1), { shape: t.shape, data: t.data as Float32Array });
  }
  let parsed: CheckpointState;
  try {
    parsed = JSON.parse(state!) as CheckpointState;
  } catch (err) {
    return damaged(`its JSON state is invalid (${(err as Error).message})`);
  }
  return { path, params: groups.param, buffers: groups.buffer, optimizer: groups.optim, state: parsed, ...(recorded ? { sha256: recorded } : {}) };
}

/** Checkpoint files of `dir`, newest (highest step) first. */
function checkpointFiles(dir: string): Array<{ path: string; step: number }> {
  const files: Array<{ path: string; step: number }> = [];
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    const m = CKPT_PATTERN.exec(f);
    if (m) files.push({ path: resolve(dir, f), step: Number(m[1]) });
  }
  return files.sort((a, b) => b.step - a.step);
}

/** What {@link findResumable} found. */
export interface ResumableCheckpoint {
  /** The newest checkpoint that verifies, or undefined when none does. */
  readonly checkpoint?: LoadedCheckpoint;
  /** The pointer and checkpoint files passed over (newest first); empty when `latest.json`'s checkpoint verifies. */
  readonly damaged: readonly CheckpointDamagedError[];
}

/**
 * The checkpoint a run in `dir` resumes from: the one `latest.json` points to when it verifies; else (a damaged
 * pointer or file) the newest older checkpoint that verifies, with every damaged one listed; a missing
 * `latest.json` beside checkpoint files counts as damaged. Undefined when `dir` holds neither (a fresh run).
 * Nothing is changed on disk.
 */
export function findResumable(dir: string, options: LoadCheckpointOptions = {}): ResumableCheckpoint | undefined {
  const log = logOf(options.log);
  const damaged: CheckpointDamagedError[] = [];
  let below = Infinity;
  try {
    const pointer = readPointer(dir);
    if (pointer === undefined) {
      // no pointer: a fresh run — unless checkpoint files are here (the pointer was deleted or lost), which a fresh
      // start would prune; resume from the newest of them that verifies instead
      const files = checkpointFiles(dir);
      if (files.length === 0) return undefined;
      throw new CheckpointDamagedError(resolve(dir, LATEST_FILE), `missing, although ${files.length} checkpoint file(s) are in ${dir}`);
    }
    below = Number(CKPT_PATTERN.exec(basename(pointer.path))![1]);
    return { checkpoint: readCheckpointFile(pointer.path, pointer.sha256, log), damaged };
  } catch (err) {
    if (!(err instanceof CheckpointDamagedError)) throw err;
    damaged.push(err);
  }
  for (const f of checkpointFiles(dir).filter((c) => c.step < below)) {
    try {
      return { checkpoint: readCheckpointFile(f.path, undefined, log), damaged };
    } catch (err) {
      if (!(err instanceof CheckpointDamagedError)) throw err;
      damaged.push(err);
    }
  }
  return { damaged };
}

/** Rename a damaged file to `<name>.damaged` (`.damaged-2`, … when taken) and return the new path. */
export function setAsideDamaged(path: string): string {
  let dest = `${path}${DAMAGED_SUFFIX}`;
  for (let k = 2; existsSync(dest); k++) dest = `${path}${DAMAGED_SUFFIX}-${k}`;
  renameSync(path, dest);
  return dest;
}

/** Point `latest.json` of the checkpoint's folder at `ckpt` (after a resume fell back to it). */
export function pointLatestAt(ckpt: LoadedCheckpoint): void {
  writePointer(dirname(ckpt.path), basename(ckpt.path), ckpt.state, ckpt.sha256);
}

/**
 * Read a checkpoint file (or the latest one of a folder), verifying its checksum.
 *
 * @throws CheckpointDamagedError naming the damaged file (or `latest.json`) and what is wrong; for a folder the
 *   message also names the newest older checkpoint that verifies (load it by its path), or says there is none.
 */
export function loadCheckpoint(pathOrDir: string, options: LoadCheckpointOptions = {}): LoadedCheckpoint {
  if (pathOrDir.endsWith('.safetensors')) return readCheckpointFile(pathOrDir, undefined, logOf(options.log));
  const found = findResumable(pathOrDir, options);
  if (found === undefined) throw new Error(`loadCheckpoint: no ${LATEST_FILE} in ${pathOrDir}`);
  const { checkpoint, damaged } = found;
  if (damaged.length === 0) return checkpoint!;
  const first = damaged[0]!;
  const others = damaged.slice(1).map((d) => `\n  also damaged: ${d.message}`).join('');
  const usable = checkpoint
    ? `\n  checkpoint ${checkpoint.path} (step ${checkpoint.state.step}) verifies: load it by its path (a resumed run falls back to it)`
    : `\n  no other checkpoint in ${pathOrDir} verifies`;
  throw new CheckpointDamagedError(first.path, first.reason, `${first.message}${others}${usable}`);
}

function compare(what: string, saved: ReadonlyMap<string, NamedArray>, target: ReadonlyMap<string, Tensor>, problems: string[]): void {
  for (const [name, v] of target) {
    const t = saved.get(name);
    if (!t) problems.push(`${what} '${name}': missing from checkpoint`);
    else if (!tf.util.arraysEqual([...t.shape], v.shape)) problems.push(`${what} '${name}': checkpoint shape [${t.shape}] ≠ model [${v.shape}]`);
  }
  for (const name of saved.keys()) if (!target.has(name)) problems.push(`${what} '${name}': in checkpoint but not in model`);
}

/**
 * Assign a loaded checkpoint to the model variables and optimiser. Validates everything first and throws one
 * error listing every mismatch; returns the checkpoint's JSON state.
 */
export function restoreCheckpoint(ckpt: LoadedCheckpoint, targets: RestoreTargets): CheckpointState {
  const problems: string[] = [];
  compare('param', ckpt.params, targets.params, problems);
  compare('buffer', ckpt.buffers, targets.buffers ?? new Map(), problems);
  compare('optimizer state', ckpt.optimizer, targets.optimizer?.stateTensors() ?? new Map(), problems);
  if (targets.optimizer && ckpt.state.optimizer?.name !== targets.optimizer.name) {
    problems.push(`optimizer: checkpoint has '${ckpt.state.optimizer?.name ?? 'none'}', run uses '${targets.optimizer.name}'`);
  }
  if (targets.configHash !== undefined && ckpt.state.configHash !== targets.configHash) {
    problems.push(`config hash: checkpoint ${ckpt.state.configHash ?? 'none'} ≠ run ${targets.configHash} (the config, or a weights file it loads, changed)`);
  }
  if (problems.length > 0) {
    throw new Error(`Checkpoint ${ckpt.path} does not match this run (${problems.length} problems):\n  ${problems.join('\n  ')}`);
  }
  const assign = (saved: ReadonlyMap<string, NamedArray>, target: ReadonlyMap<string, Variable>): void => {
    for (const [name, v] of target) {
      const t = saved.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(t.data, [...t.shape], 'float32')));
    }
  };
  assign(ckpt.params, targets.params);
  assign(ckpt.buffers, targets.buffers ?? new Map());
  if (targets.optimizer) targets.optimizer.loadState(ckpt.optimizer, ckpt.state.optimizer!);
  return ckpt.state;
}
