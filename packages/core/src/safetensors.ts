/**
 * safetensors read/write (https://github.com/huggingface/safetensors), the checkpoint and pretrained-weight
 * format of the toolkit.
 *
 * Layout: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * `{ "__metadata__"?: {string: string}, "<name>": { dtype, shape, data_offsets: [begin, end] } }`,
 * then the little-endian, C-ordered byte buffer (offsets are relative to its start).
 *
 * Reading validates strictly (one Error naming the source and tensor); tensors view the input bytes
 * when the data is aligned for its dtype and are copied otherwise. Writing follows the reference
 * implementation byte for byte: tensors ordered by descending dtype (alignment) then name, compact JSON
 * header with `__metadata__` first, padded with spaces to a multiple of 8.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomic, type AtomicWriteOptions } from './atomic';

/** Element storage of a {@link SafeTensor}; F16/BF16 are raw bit patterns in a `Uint16Array`, F8 in a `Uint8Array`. */
export type SafeTensorData =
  | Float64Array | Float32Array | BigInt64Array | BigUint64Array | Int32Array
  | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

interface ArrayCtor {
  new (buffer: ArrayBuffer, byteOffset: number, length: number): SafeTensorData;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/**
 * Element types, in the reference implementation's order (increasing alignment); writing sorts by
 * descending position in this list so every tensor is aligned for its dtype.
 */
export const SAFE_DTYPES = [
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64',
] as const;

/** A safetensors element type. */
export type SafeDtype = (typeof SAFE_DTYPES)[number];

const STORAGE: Record<SafeDtype, ArrayCtor> = {
  BOOL: Uint8Array, U8: Uint8Array, I8: Int8Array, F8_E5M2: Uint8Array, F8_E4M3: Uint8Array,
  I16: Int16Array, U16: Uint16Array, F16: Uint16Array, BF16: Uint16Array,
  I32: Int32Array, U32: Uint32Array, F32: Float32Array, F64: Float64Array, I64: BigInt64Array, U64: BigUint64Array,
};

/** One tensor read from (or to be written to) a safetensors file. */
export interface SafeTensor {
  readonly name: string;
  readonly dtype: SafeDtype;
  readonly shape: number[];
  readonly data: SafeTensorData;
}

/** A tensor to write: F16/BF16 accept raw `Uint16Array` bits or a `Float32Array` (rounded to nearest even). */
export interface SafeTensorInput {
  readonly dtype: SafeDtype;
  readonly shape: readonly number[];
  readonly data: SafeTensorData;
}

/** Result of {@link readSafetensors}. */
export interface SafetensorsFile {
  /** Tensors in file (offset) order. */
  readonly tensors: Map<string, SafeTensor>;
  /** The `__metadata__` string map (empty if absent). */
  readonly metadata: Record<string, string>;
}

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of `dtype`. */
export function dtypeSize(dtype: SafeDtype): number {
  return STORAGE[dtype].BYTES_PER_ELEMENT;
}

function isDtype(x: unknown): x is SafeDtype {
  return typeof x === 'string' && Object.hasOwn(STORAGE, x);
}

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('safetensors: big-endian hosts are not supported');
}

// ---------------------------------------------------------------------------------------------------
// Half / bfloat16 / fp8 conversion

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);
let f16Table: Float32Array | undefined;

/** Decode one IEEE-754 binary16 bit pattern (handles subnormals, ±0, ±inf, NaN). */
export function f16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Encode a number as binary16 bits, rounding to nearest even (overflow → ±inf, NaN stays NaN). */
export function numberToF16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e; // subnormal: value / 2^-24 = m · 2^(e-14)
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    let r = m >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r += 1;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r += 1; // may carry into inf: correct
  return sign | r;
}

/** Encode a number as bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN). */
export function numberToBf16Bits(x: number): number {
  f32Scratch[0] = x;
  const b = u32Scratch[0]!;
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

function decodeF8E4M3(v: number): number {
  const sign = v & 0x80 ? -1 : 1;
  const exp = (v >>> 3) & 0xf;
  const mant = v & 0x7;
  if (exp === 0xf && mant === 0x7) return NaN; // E4M3FN: no infinities
  if (exp === 0) return sign * mant * 2 ** -9;
  return sign * (1 + mant / 8) * 2 ** (exp - 7);
}

/**
 * Convert any numeric tensor to float32. F32 data is returned as-is (no copy); F16 uses a 64 Ki
 * lookup table; BF16 is a bit shift; integer and F64 values are rounded to the nearest float32.
 */
export function toFloat32(t: Pick<SafeTensor, 'dtype' | 'data'>): Float32Array {
  const { dtype, data } = t;
  switch (dtype) {
    case 'F32':
      return data as Float32Array;
    case 'F16': {
      f16Table ??= Float32Array.from({ length: 65536 }, (_, h) => f16BitsToNumber(h));
      const table = f16Table;
      const bits = data as Uint16Array;
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
      return out;
    }
    case 'BF16': {
      const bits = data as Uint16Array;
      const out = new Uint32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = bits[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'F8_E5M2':
      return Float32Array.from(data as Uint8Array, (v) => f16BitsToNumber(v << 8));
    case 'F8_E4M3':
      return Float32Array.from(data as Uint8Array, decodeF8E4M3);
    case 'I64':
    case 'U64':
      return Float32Array.from(data as BigInt64Array, (v) => Number(v));
    default:
      return Float32Array.from(data as Exclude<SafeTensorData, BigInt64Array | BigUint64Array>);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reading

function fail(source: string, what: string): never {
  throw new Error(`Invalid safetensors file ${source}: ${what}`);
}

function isSafeUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

interface Entry {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: Entry[];
  metadata: Record<string, string>;
  /** Byte offset of the data buffer in the file. */
  start: number;
}

function parseHeader(bytes: Uint8Array, source: string): Header {
  if (bytes.byteLength < 8) fail(source, `${bytes.byteLength} bytes is shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  const room = bytes.byteLength - 8;
  if (n > BigInt(room)) fail(source, `header length ${n} exceeds the ${room} bytes after the length field`);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(source, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const start = 8 + Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, start)));
  } catch (err) {
    fail(source, `header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isJsonObject(header)) fail(source, 'header is not a JSON object');
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name !== '__metadata__') entries.push(parseEntry(name, info, source));
  }
  return { entries, metadata: parseMetadata(header['__metadata__'], source), start };
}

function isJsonObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseMetadata(meta: unknown, source: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (meta === undefined) return out;
  if (!isJsonObject(meta)) fail(source, `__metadata__ must be an object of strings, got ${JSON.stringify(meta)}`);
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') fail(source, `__metadata__['${k}'] must be a string, got ${JSON.stringify(v)}`);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function parseEntry(name: string, info: unknown, source: string): Entry {
  const bad: (what: string) => never = (what) => fail(source, `tensor '${name}': ${what}`);
  if (!isJsonObject(info)) bad('expected { dtype, shape, data_offsets }');
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (!isDtype(dtype)) bad(`unsupported dtype ${JSON.stringify(dtype)} (supported: ${SAFE_DTYPES.join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isSafeUint)) {
    bad(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSafeUint) || offsets[0] > offsets[1]) {
    bad(`data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const expected = shape.reduce((a: number, b: number) => a * b, 1) * dtypeSize(dtype);
  const actual = offsets[1] - offsets[0];
  if (!Number.isSafeInteger(expected) || expected !== actual) {
    bad(`${actual} bytes in data_offsets but shape [${shape.join(', ')}] × ${dtype} needs ${expected}`);
  }
  return { name, dtype, shape: [...shape], begin: offsets[0], end: offsets[1] };
}

/** Offsets must tile the byte buffer exactly: sorted, contiguous, from 0 to its end. */
function checkCoverage(entries: Entry[], bufferBytes: number, source: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of sorted) {
    const bad: (what: string) => never = (what) =>
      fail(source, `tensor '${e.name}': data_offsets [${e.begin}, ${e.end}] ${what}`);
    if (e.begin < pos) bad(`overlap the previous tensor (ends at ${pos})`);
    if (e.begin > pos) bad(`leave a gap after byte ${pos}`);
    if (e.end > bufferBytes) bad(`exceed the ${bufferBytes}-byte buffer`);
    pos = e.end;
  }
  if (pos !== bufferBytes) {
    fail(source, `tensors cover ${pos} bytes but the buffer after the header has ${bufferBytes} (trailing bytes)`);
  }
}

function viewOf(bytes: Uint8Array, at: number, e: Entry): SafeTensorData {
  const Ctor = STORAGE[e.dtype];
  const count = (e.end - e.begin) / Ctor.BYTES_PER_ELEMENT;
  const offset = bytes.byteOffset + at + e.begin;
  if (offset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer as ArrayBuffer, offset, count);
  const copy = bytes.slice(at + e.begin, at + e.end); // unaligned: copy into a fresh (aligned) buffer
  return new Ctor(copy.buffer, 0, count);
}

/** Options of {@link readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Name of the bytes in error messages (default: the path, or `<bytes>`), e.g. the file they were read from. */
  readonly source?: string;
}

/**
 * Read a safetensors file (path) or buffer. Tensors alias `bytes` where aligned; copy what you keep if
 * you intend to mutate the source buffer.
 *
 * @throws Error naming the file (or `<bytes>`) and the offending tensor for any malformed header,
 *   unsupported dtype, size mismatch, or offsets that do not tile the data buffer exactly.
 */
export function readSafetensors(pathOrBytes: string | Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsFile {
  assertLittleEndianHost();
  const source = options.source ?? (typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>');
  let bytes: Uint8Array;
  try {
    bytes = typeof pathOrBytes === 'string' ? readFileSync(pathOrBytes) : pathOrBytes;
  } catch (err) {
    throw new Error(`Cannot read safetensors file ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const { entries, metadata, start } = parseHeader(bytes, source);
  checkCoverage(entries, bytes.byteLength - start, source);
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    tensors.set(e.name, { name: e.name, dtype: e.dtype, shape: e.shape, data: viewOf(bytes, start, e) });
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------
// Writing

function storageFor(name: string, t: SafeTensorInput): SafeTensorData {
  const bad = (what: string): Error => new Error(`safetensors: tensor '${name}': ${what}`);
  if (!isDtype(t.dtype)) throw bad(`unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${SAFE_DTYPES.join(', ')})`);
  if (!Array.isArray(t.shape) || !t.shape.every(isSafeUint)) {
    throw bad(`shape must be a list of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  let data = t.data;
  if ((t.dtype === 'F16' || t.dtype === 'BF16') && data instanceof Float32Array) {
    data = Uint16Array.from(data, t.dtype === 'F16' ? numberToF16Bits : numberToBf16Bits);
  }
  const Ctor = STORAGE[t.dtype];
  if (!(data instanceof Ctor)) throw bad(`dtype ${t.dtype} needs a ${Ctor.name}, got ${data?.constructor?.name ?? typeof data}`);
  if (data.length !== count) throw bad(`shape [${t.shape.join(', ')}] has ${count} elements but data has ${data.length}`);
  return data;
}

function encodeParts(
  tensors: Record<string, SafeTensorInput> | ReadonlyMap<string, SafeTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array[] {
  assertLittleEndianHost();
  const items = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].map(([name, t]) => {
    if (name === '' || name === '__metadata__') throw new Error(`safetensors: invalid tensor name ${JSON.stringify(name)}`);
    return { name, dtype: t.dtype, shape: [...t.shape], data: storageFor(name, t) };
  });
  const rank = (d: SafeDtype): number => SAFE_DTYPES.indexOf(d);
  items.sort((a, b) => rank(b.dtype) - rank(a.dtype) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    const meta: Record<string, string> = {};
    for (const k of Object.keys(metadata).sort()) {
      if (typeof metadata[k] !== 'string') throw new Error(`safetensors: metadata['${k}'] must be a string`);
      Object.defineProperty(meta, k, { value: metadata[k], enumerable: true });
    }
    header['__metadata__'] = meta;
  }
  let offset = 0;
  for (const it of items) {
    const info = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.data.byteLength] };
    Object.defineProperty(header, it.name, { value: info, enumerable: true }); // also safe for '__proto__'
    offset += it.data.byteLength;
  }
  let json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.byteLength % 8)) % 8;
  if (pad > 0) headerBytes = new TextEncoder().encode((json += ' '.repeat(pad)));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  const parts = items.map((it) => new Uint8Array(it.data.buffer, it.data.byteOffset, it.data.byteLength));
  return [prefix, headerBytes, ...parts];
}

/** Serialise tensors (and optional string metadata) to safetensors bytes, deterministically. */
export function encodeSafetensors(
  tensors: Record<string, SafeTensorInput> | ReadonlyMap<string, SafeTensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const parts = encodeParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Write a safetensors file atomically (temp file + fsync + rename; parent folders created; `options` as for
 * `writeFileAtomic`, e.g. `removeStaleTemps`).
 *
 * @throws Error naming `path`: an invalid tensor (`<path>: safetensors: tensor 'x': …`) before anything is
 *   written, or the write error (`Cannot write <path>: ENOSPC: …`, with its `code`).
 */
export function writeSafetensors(
  path: string,
  tensors: Record<string, SafeTensorInput> | ReadonlyMap<string, SafeTensorInput>,
  metadata?: Record<string, string>,
  options: AtomicWriteOptions = {},
): void {
  let parts: Uint8Array[];
  try {
    parts = encodeParts(tensors, metadata);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
  writeFileAtomic(path, parts, options);
}
