/**
 * Training checkpoints: one safetensors file per checkpoint holding every tensor (`param/<name>`,
 * `buffer/<name>`, `optim/<name>`, float32) with the JSON state (step, epoch, optimiser step count, Rng states,
 * sampler position, config hash) in its `__metadata__`, so a checkpoint is a single file written atomically
 * (temp + fsync + rename). The `latest.json` pointer is replaced (atomically) only after the file is complete,
 * and older checkpoints are pruned last — a crash at any moment leaves the previous good checkpoint usable.
 *
 * Restoring validates every name and shape (model and optimiser) before assigning anything, and fails with
 * one error listing all mismatches.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSafetensors, tf, toFloat32, writeJsonAtomic, writeSafetensors } from '@clip-senet/core';
import type { RngState, SafeTensorInput, Tensor, Variable } from '@clip-senet/core';
import type { NamedArray, Optimizer, OptimizerMeta } from './optimizer';

/** Format tag stored in the metadata. */
export const CHECKPOINT_FORMAT = 'clip-senet-checkpoint/1';
/** Name of the pointer file in a checkpoint folder. */
export const LATEST_FILE = 'latest.json';

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
}

/** JSON with object keys sorted (stable across runs and key orders). */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 16-hex-digit SHA-256 prefix of a config's canonical JSON (key order does not matter). */
export function hashConfig(config: unknown): string {
  return createHash('sha256').update(stableStringify(config)).digest('hex').slice(0, 16);
}

const fileName = (step: number): string => `ckpt-step-${String(step).padStart(8, '0')}.safetensors`;
const CKPT_PATTERN = /^ckpt-step-\d{8,}\.safetensors$/;

function tensorEntries(prefix: string, map: ReadonlyMap<string, Tensor> | undefined, out: Map<string, SafeTensorInput>): void {
  for (const [name, t] of map ?? []) {
    if (t.dtype !== 'float32') throw new Error(`saveCheckpoint: '${name}' is ${t.dtype}; only float32 tensors are checkpointed`);
    out.set(`${prefix}/${name}`, { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) });
  }
}

/**
 * Write a checkpoint into `dir` atomically, then point `latest.json` at it, then prune old ones.
 * Returns the checkpoint's path.
 */
export function saveCheckpoint(dir: string, content: CheckpointContent, options: SaveCheckpointOptions = {}): string {
  const keepLast = options.keepLast ?? 2;
  if (!Number.isInteger(keepLast) || keepLast < 1) throw new Error(`saveCheckpoint: keepLast must be ≥ 1, got ${keepLast}`);
  const tensors = new Map<string, SafeTensorInput>();
  tensorEntries('param', content.params, tensors);
  tensorEntries('buffer', content.buffers, tensors);
  tensorEntries('optim', content.optimizer?.stateTensors(), tensors);
  const state: CheckpointState = { ...content.state, ...(content.optimizer ? { optimizer: content.optimizer.meta() } : {}) };
  const file = fileName(state.step);
  const path = join(dir, file);
  writeSafetensors(path, tensors, { format: CHECKPOINT_FORMAT, state: JSON.stringify(state) });
  writeJsonAtomic(join(dir, LATEST_FILE), { file, step: state.step, epoch: state.epoch });
  const old = readdirSync(dir).filter((f) => CKPT_PATTERN.test(f) && f !== file).sort();
  for (const f of old.slice(0, Math.max(0, old.length - (keepLast - 1)))) rmSync(join(dir, f), { force: true });
  return path;
}

/** Path of the checkpoint `latest.json` in `dir` points to, or undefined when there is none. */
export function latestCheckpoint(dir: string): string | undefined {
  const pointer = join(dir, LATEST_FILE);
  if (!existsSync(pointer)) return undefined;
  const { file } = JSON.parse(readFileSync(pointer, 'utf8')) as { file?: unknown };
  if (typeof file !== 'string' || !CKPT_PATTERN.test(file)) throw new Error(`${pointer}: invalid checkpoint pointer ${JSON.stringify(file)}`);
  const path = join(dir, file);
  if (!existsSync(path)) throw new Error(`${pointer} points to ${file}, which does not exist`);
  return resolve(path);
}

/** Read a checkpoint file (or the latest one of a folder). */
export function loadCheckpoint(pathOrDir: string): LoadedCheckpoint {
  const path = pathOrDir.endsWith('.safetensors') ? pathOrDir : latestCheckpoint(pathOrDir);
  if (path === undefined) throw new Error(`loadCheckpoint: no ${LATEST_FILE} in ${pathOrDir}`);
  const file = readSafetensors(path);
  if (file.metadata.format !== CHECKPOINT_FORMAT || file.metadata.state === undefined) {
    throw new Error(`${path}: not a ${CHECKPOINT_FORMAT} file (metadata format ${JSON.stringify(file.metadata.format)})`);
  }
  const groups = { param: new Map<string, NamedArray>(), buffer: new Map<string, NamedArray>(), optim: new Map<string, NamedArray>() };
  for (const [key, t] of file.tensors) {
    const slash = key.indexOf('/');
    const group = groups[key.slice(0, slash) as keyof typeof groups];
    if (slash < 0 || group === undefined) throw new Error(`${path}: unexpected tensor '${key}'`);
    group.set(key.slice(slash + 1), { shape: t.shape, data: toFloat32(t) });
  }
  return { path, params: groups.param, buffers: groups.buffer, optimizer: groups.optim, state: JSON.parse(file.metadata.state) as CheckpointState };
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
