/**
 * Pretrained-weight import/export through safetensors: a key map (./key-maps) plus layout conversion
 * (conv `[out, in, kh, kw]` ↔ `[kh, kw, in, out]`, linear transpose, HF q/k/v ↔ fused in_proj,
 * F16/BF16/F64 → F32). Loading validates everything before assigning anything: missing, unexpected
 * and mis-shaped keys are collected and reported together in one error (strict) or in the returned
 * report (non-strict, also logged). A tensor that cannot be a float32 parameter — an integer or bool dtype
 * (never cast), or NaN/±Inf values — is always an error naming the file, the key and what is wrong, strict or not.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { tf, readSafetensors, toFloat32, writeSafetensors, type SafeDtype, type SafeTensor } from '@clip-senet/core';
import { fromTorch, toTorchData, toTorchShape, type SpecModule, type ParamSpec } from './module';
import { isZip, readTorchCheckpoint } from './torch-checkpoint';
import { detectFormat, isIgnorable, keyMapFor, type KeyRule, type ModelFamily, type WeightFormat } from './key-maps';

/** A model with a key map (every backbone and the text tower). */
export type WeightModel = SpecModule & { readonly family: ModelFamily };

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions {
  /** File layout; `auto` (default) detects it from the keys. */
  readonly format?: WeightFormat | 'auto';
  /** Throw on any missing / unexpected / mis-shaped key (default true). */
  readonly strict?: boolean;
  /**
   * Only read keys under this prefix, with the prefix removed (e.g. `'base.'` for BoT re-ID checkpoints,
   * `'backbone.'` for fast-reid); all other keys are reported as ignored.
   */
  readonly prefix?: string;
  /** Where a non-strict load reports problems (default: `console.warn`; `null` = silent). */
  readonly log?: ((line: string) => void) | null;
}

/** What a load did. */
export interface LoadReport {
  readonly format: WeightFormat;
  /** Canonical names assigned from the file. */
  readonly loaded: string[];
  /** File keys the model needs but the file lacks. */
  readonly missing: string[];
  /** File keys in the model's namespace that no tensor consumes. */
  readonly unexpected: string[];
  /** `key: file [..] ≠ expected [..]` lines. */
  readonly mismatched: string[];
  /** Known, deliberately skipped file keys (other tower, classifier head, num_batches_tracked). */
  readonly ignored: string[];
  /** Local tensors (e.g. GeM `p`) absent from the file, kept at their current value. */
  readonly keptLocal: string[];
}

function stripModule(tensors: Map<string, SafeTensor>): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  for (const [k, t] of tensors) out.set(k.startsWith('module.') ? k.slice('module.'.length) : k, t);
  return out;
}

/** Tensors of a safetensors file or a PyTorch zip checkpoint (`.pt`/`.pth`, detected by content). */
function readTensors(pathOrBytes: string | Uint8Array): Map<string, SafeTensor> {
  let head: Uint8Array = pathOrBytes as Uint8Array;
  if (typeof pathOrBytes === 'string') {
    head = new Uint8Array(4);
    const fd = openSync(pathOrBytes, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  }
  return isZip(head) ? readTorchCheckpoint(pathOrBytes) : readSafetensors(pathOrBytes).tensors;
}

/** Expected PyTorch shape of each file key of a rule. */
function expectedShapes(spec: ParamSpec, rule: KeyRule): number[][] {
  const full = toTorchShape(spec.shape, rule.layout);
  if (rule.keys.length === 1) return [full];
  return rule.keys.map(() => [full[0]! / rule.keys.length, ...full.slice(1)]);
}

/** File dtypes a float32 parameter is read from (converted to F32); integer and bool tensors are refused. */
const FLOAT_DTYPES: ReadonlySet<SafeDtype> = new Set(['F32', 'F16', 'BF16', 'F64', 'F8_E5M2', 'F8_E4M3']);

/** Why a file tensor cannot become a float32 parameter (wrong dtype, NaN/±Inf values), or undefined. */
function unusable(key: string, t: SafeTensor, param: string): string | undefined {
  if (!FLOAT_DTYPES.has(t.dtype)) {
    return `${key}: dtype ${t.dtype} in the file, expected F32 (or F16/BF16/F64, converted) for float32 parameter '${param}'; an integer tensor is not cast`;
  }
  const data = toFloat32(t);
  let nan = 0;
  let inf = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) continue; // finite
    if (Number.isNaN(v)) nan++;
    else inf++;
    if (first < 0) first = i;
  }
  if (first < 0) return undefined;
  return `${key}: ${nan} NaN and ${inf} ±Inf of ${data.length} values (${t.dtype} [${t.shape.join(', ')}], first at flat index ${first})`;
}

interface Problems {
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly mismatched: readonly string[];
  readonly invalid: readonly string[];
}

function describe(source: string, format: WeightFormat, r: Problems): string {
  const lines = [
    `loadWeights(${source}, format '${format}'): ${r.missing.length} missing, ${r.unexpected.length} unexpected, ${r.mismatched.length} mis-shaped key(s)` +
      (r.invalid.length ? `, ${r.invalid.length} unusable tensor(s)` : ''),
  ];
  if (r.missing.length) lines.push(`  missing: ${r.missing.join(', ')}`);
  if (r.unexpected.length) lines.push(`  unexpected: ${r.unexpected.join(', ')}`);
  if (r.mismatched.length) lines.push(`  mis-shaped: ${r.mismatched.join('; ')}`);
  for (const line of r.invalid) lines.push(`  unusable: ${line}`);
  return lines.join('\n');
}

/**
 * Load a safetensors file or a PyTorch zip checkpoint (`torch.save` state dict; path or bytes) into `model`.
 *
 * @throws Error listing every missing, unexpected and mis-shaped key when `strict` (default), and — strict
 *   or not — every tensor with a non-float dtype (`I32` where an F32 parameter goes is refused, not cast) or
 *   NaN/±Inf values, each named with its key; nothing is assigned in that case.
 */
export function loadWeights(model: WeightModel, pathOrBytes: string | Uint8Array, opts: LoadWeightsOptions = {}): LoadReport {
  const source = typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>';
  const all = stripModule(readTensors(pathOrBytes));
  const outside: string[] = [];
  let tensors = all;
  if (opts.prefix) {
    tensors = new Map();
    for (const [k, t] of all) {
      if (k.startsWith(opts.prefix)) tensors.set(k.slice(opts.prefix.length), t);
      else outside.push(k);
    }
  }
  const keys = new Set(tensors.keys());
  const format = !opts.format || opts.format === 'auto' ? detectFormat(model.family, keys) : opts.format;
  const map = keyMapFor(model.family, format, keys);
  const consumed = new Set<string>();
  const missing: string[] = [];
  const mismatched: string[] = [];
  const keptLocal: string[] = [];
  const invalid: string[] = [];
  const plan: Array<{ spec: ParamSpec; rule: KeyRule }> = [];
  for (const spec of model.specs.values()) {
    const rule = map.rule(spec);
    const absent = rule.keys.filter((k) => !tensors.has(k));
    rule.keys.forEach((k) => tensors.has(k) && consumed.add(k));
    if (absent.length) {
      if (spec.local && absent.length === rule.keys.length) keptLocal.push(spec.name);
      else missing.push(...absent);
      continue;
    }
    const want = expectedShapes(spec, rule);
    const bad = rule.keys.filter((k, i) => !tf.util.arraysEqual(tensors.get(k)!.shape, want[i]!));
    for (const k of bad) mismatched.push(`${k}: file [${tensors.get(k)!.shape.join(', ')}] ≠ expected [${want[rule.keys.indexOf(k)]!.join(', ')}]`);
    const wrong = bad.length ? [] : rule.keys.map((k) => unusable(k, tensors.get(k)!, spec.name)).filter((l) => l !== undefined);
    invalid.push(...wrong);
    if (!bad.length && !wrong.length) plan.push({ spec, rule });
  }
  const ignored: string[] = [...outside];
  const unexpected: string[] = [];
  for (const k of keys) {
    if (consumed.has(k)) continue;
    if (isIgnorable(model.family, k) || !map.owns(k)) ignored.push(k);
    else unexpected.push(k);
  }
  const problems = { missing, unexpected, mismatched, invalid };
  const hasProblems = missing.length + unexpected.length + mismatched.length > 0;
  if (invalid.length || (hasProblems && (opts.strict ?? true))) throw new Error(describe(source, format, problems));
  if (hasProblems) {
    const log = opts.log === undefined ? (l: string) => console.warn(l) : opts.log;
    log?.(`${describe(source, format, problems)}\n  (strict: false — loaded the ${plan.length} matching tensors)`);
  }
  for (const { spec, rule } of plan) {
    const parts = rule.keys.map((k) => toFloat32(tensors.get(k)!));
    const data = parts.length === 1 ? parts[0]! : concatFloat32(parts);
    const value = fromTorch(data, toTorchShape(spec.shape, rule.layout), rule.layout);
    model.assign(spec.name, value);
    value.dispose();
  }
  return { format, loaded: plan.map((p) => p.spec.name), missing, unexpected, mismatched, ignored, keptLocal };
}

function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Options of {@link saveWeights}. */
export interface SaveWeightsOptions {
  /** Target layout (default: `torchvision` for CNNs, `openai` for CLIP towers). */
  readonly format?: WeightFormat;
  /** Also write local tensors such as GeM `p` (default true; `false` gives a file PyTorch loads strictly). */
  readonly includeLocal?: boolean;
  /** Extra string metadata. */
  readonly metadata?: Record<string, string>;
}

/** The F32 PyTorch-layout tensors `saveWeights` would write, by file key. */
export function exportWeights(model: WeightModel, opts: Omit<SaveWeightsOptions, 'metadata'> = {}): Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> {
  const format = opts.format ?? (model.family === 'cnn' ? 'torchvision' : 'openai');
  const map = keyMapFor(model.family, format, new Set());
  const out = new Map<string, { dtype: 'F32'; shape: number[]; data: Float32Array }>();
  for (const spec of model.specs.values()) {
    if (spec.local && opts.includeLocal === false) continue;
    const rule = map.rule(spec);
    const data = toTorchData(model.t(spec.name), rule.layout);
    const shapes = expectedShapes(spec, rule);
    let at = 0;
    rule.keys.forEach((k, i) => {
      const n = shapes[i]!.reduce((a, b) => a * b, 1);
      out.set(k, { dtype: 'F32', shape: shapes[i]!, data: data.slice(at, at + n) });
      at += n;
    });
  }
  return out;
}

/** Write `model`'s tensors as safetensors in the PyTorch layout of `format`. */
export function saveWeights(model: WeightModel, path: string, opts: SaveWeightsOptions = {}): void {
  const format = opts.format ?? (model.family === 'cnn' ? 'torchvision' : 'openai');
  writeSafetensors(path, exportWeights(model, opts), { format: 'pt', 'clip-senet.format': format, ...opts.metadata });
}
