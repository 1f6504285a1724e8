import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeSafetensors,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from './safetensors';
import type { SafeTensor, SafeTensorData, SafeTensorInput } from './safetensors';

const FIXTURE = new URL('../fixtures/torch-dtypes.safetensors', import.meta.url).pathname;

/** Hand-build a file: u64 header length, header text (unpadded unless given padded), data bytes. */
function build(header: unknown, data: ArrayLike<number> = [], lengthOverride?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(Array.from(data), 8 + text.length);
  return out;
}

const le16 = (...xs: number[]): number[] => xs.flatMap((x) => [x & 0xff, x >>> 8]);
const values = (d: SafeTensorData): unknown[] => Array.from(d as ArrayLike<unknown>);
const f32Bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

function tensor(file: { tensors: Map<string, SafeTensor> }, name: string): SafeTensor {
  const t = file.tensors.get(name);
  if (t === undefined) throw new Error(`fixture lacks ${name}`);
  return t;
}

/** Equal float32 bit patterns, treating any two NaNs as equal. */
function expectSameF32(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = f32Bits(actual);
  const e = f32Bits(expected);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(expected[i]!)) expect(Number.isNaN(actual[i]!), `index ${i}`).toBe(true);
    else if (a[i] !== e[i]) expect(`${i}: ${actual[i]} (0x${a[i]!.toString(16)})`).toBe(`${i}: ${expected[i]} (0x${e[i]!.toString(16)})`);
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'core-st-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('encodeSafetensors / readSafetensors round trip', () => {
  const all: Record<string, SafeTensorInput> = {
    f32: { dtype: 'F32', shape: [2, 3], data: Float32Array.of(0, 1.5, -2, 3e-8, Infinity, -0) },
    f64: { dtype: 'F64', shape: [2], data: Float64Array.of(1 / 3, -1e300) },
    f16: { dtype: 'F16', shape: [3], data: Uint16Array.of(0x3c00, 0x0001, 0xfc00) },
    bf16: { dtype: 'BF16', shape: [1], data: Uint16Array.of(0x3f80) },
    i64: { dtype: 'I64', shape: [2], data: BigInt64Array.of(-(2n ** 62n), 5n) },
    u64: { dtype: 'U64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
    i32: { dtype: 'I32', shape: [1, 1], data: Int32Array.of(-7) },
    u32: { dtype: 'U32', shape: [1], data: Uint32Array.of(0xffffffff) },
    i16: { dtype: 'I16', shape: [1], data: Int16Array.of(-3) },
    u16: { dtype: 'U16', shape: [1], data: Uint16Array.of(65535) },
    i8: { dtype: 'I8', shape: [3], data: Int8Array.of(-128, 0, 127) },
    u8: { dtype: 'U8', shape: [3], data: Uint8Array.of(1, 2, 3) },
    bool: { dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
    scalar: { dtype: 'F32', shape: [], data: Float32Array.of(42) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };

  it('round-trips every dtype, shape and metadata', () => {
    const bytes = encodeSafetensors(all, { format: 'pt', note: 'é ✓' });
    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'é ✓' });
    expect([...back.tensors.keys()].sort()).toEqual(Object.keys(all).sort());
    for (const [name, t] of Object.entries(all)) {
      const r = back.tensors.get(name)!;
      expect(r.name).toBe(name);
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(r.data.constructor).toBe(t.data.constructor);
      expect(values(r.data)).toEqual(values(t.data));
    }
  });

  it('is deterministic: insertion order does not matter, header is padded to 8, data aligned', () => {
    const reversed = Object.fromEntries(Object.entries(all).reverse());
    const a = encodeSafetensors(all);
    expect(encodeSafetensors(reversed)).toEqual(a);
    expect(encodeSafetensors(new Map(Object.entries(all)))).toEqual(a);
    const n = Number(new DataView(a.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    for (const t of readSafetensors(a).tensors.values()) {
      expect((t.data.byteOffset) % t.data.BYTES_PER_ELEMENT).toBe(0);
      expect(t.data.buffer).toBe(a.buffer); // aligned → aliases the input
    }
  });

  it('writes atomically to disk and reads back from a path', () => {
    const path = join(dir, 'nested', 'ckpt.safetensors');
    writeSafetensors(path, all, { epoch: '3' });
    expect(readdirSync(join(dir, 'nested'))).toEqual(['ckpt.safetensors']);
    expect(readFileSync(path)).toEqual(Buffer.from(encodeSafetensors(all, { epoch: '3' })));
    const back = readSafetensors(path);
    expect(back.metadata).toEqual({ epoch: '3' });
    expect(Array.from(back.tensors.get('f32')!.data as Float32Array)).toEqual([0, 1.5, -2, Math.fround(3e-8), Infinity, -0]);
  });

  it('encodes a Float32Array given for F16/BF16 (round to nearest even)', () => {
    const back = readSafetensors(
      encodeSafetensors({
        h: { dtype: 'F16', shape: [3], data: Float32Array.of(1, 65520, 2 ** -24) },
        b: { dtype: 'BF16', shape: [1], data: Float32Array.of(1 + 2 ** -8) },
      }),
    );
    expect(values(back.tensors.get('h')!.data)).toEqual([0x3c00, 0x7c00, 0x0001]);
    expect(values(back.tensors.get('b')!.data)).toEqual([0x3f80]);
  });
});

describe('reference implementation byte vectors (huggingface/safetensors tensor.rs tests)', () => {
  const pad = (s: string): number[] => [...new TextEncoder().encode(s)];
  it('serialises an empty file, with and without metadata', () => {
    expect(Array.from(encodeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...pad('{}      ')]);
    const withMeta = pad('{"__metadata__":{"framework":"pt"}}     ');
    expect(Array.from(encodeSafetensors({}, { framework: 'pt' }))).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...withMeta]);
  });

  it('serialises one F32 tensor without and with alignment padding', () => {
    const data = Float32Array.of(0, 1, 2, 3, 4, 5);
    const dataBytes = Array.from(new Uint8Array(data.buffer));
    const h1 = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(Array.from(encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } }))).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, ...pad(h1), ...dataBytes,
    ]);
    const h2 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ';
    expect(Array.from(encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data } }))).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, ...pad(h2), ...dataBytes,
    ]);
  });
});

describe('dtype conversion on hand-built bytes', () => {
  it('decodes F16 including subnormals, ±0, ±inf and NaN', () => {
    const bits = [0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555];
    const file = build({ h: { dtype: 'F16', shape: [bits.length], data_offsets: [0, 2 * bits.length] } }, le16(...bits));
    const f = toFloat32(readSafetensors(file).tensors.get('h')!);
    expect(Array.from(f.slice(0, 8))).toEqual([1, -2, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, Infinity, -Infinity]);
    expect(Number.isNaN(f[8]!)).toBe(true);
    expect(Object.is(f[9], -0)).toBe(true);
    expect(f[10]).toBeCloseTo(1 / 3, 3);
  });

  it('decodes BF16 by bit shift', () => {
    const file = build({ b: { dtype: 'BF16', shape: [4], data_offsets: [0, 8] } }, le16(0x3f80, 0xc020, 0x7f80, 0x0001));
    const f = toFloat32(readSafetensors(file).tensors.get('b')!);
    expect(Array.from(f)).toEqual([1, -2.5, Infinity, 2 ** -133]);
  });

  it('decodes I64 (little-endian two’s complement) to float32', () => {
    const bytes = [...[255, 255, 255, 255, 255, 255, 255, 255], ...[0, 0, 0, 0, 0, 1, 0, 0]]; // -1, 2^40
    const file = build({ l: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, bytes);
    const t = readSafetensors(file).tensors.get('l')!;
    expect(Array.from(t.data as BigInt64Array)).toEqual([-1n, 2n ** 40n]);
    expect(Array.from(toFloat32(t))).toEqual([-1, 2 ** 40]);
  });

  it('decodes F8 formats', () => {
    const e5m2 = toFloat32({ dtype: 'F8_E5M2', data: Uint8Array.of(0x3c, 0x7c, 0x01) });
    expect(Array.from(e5m2)).toEqual([1, Infinity, 2 ** -16]);
    const e4m3 = toFloat32({ dtype: 'F8_E4M3', data: Uint8Array.of(0x38, 0x7e, 0x01, 0xc0) });
    expect(Array.from(e4m3)).toEqual([1, 448, 2 ** -9, -2]);
    expect(Number.isNaN(toFloat32({ dtype: 'F8_E4M3', data: Uint8Array.of(0x7f) })[0]!)).toBe(true);
  });

  it('rounds f32 → f16 to nearest even at ties, subnormals and overflow', () => {
    const cases: [number, number][] = [
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [65519, 0x7bff], [65520, 0x7c00], [2 ** -25, 0x0000],
      [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002], [-(2 ** -14), 0x8400], [-0, 0x8000], [-Infinity, 0xfc00],
    ];
    for (const [x, bits] of cases) expect(numberToF16Bits(x), String(x)).toBe(bits);
    expect(f16BitsToNumber(numberToF16Bits(NaN))).toBeNaN();
    expect(numberToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('returns F32 data as-is and converts integers', () => {
    const data = Float32Array.of(1, 2);
    expect(toFloat32({ dtype: 'F32', data })).toBe(data);
    expect(Array.from(toFloat32({ dtype: 'I32', data: Int32Array.of(-3, 7) }))).toEqual([-3, 7]);
  });
});

describe('PyTorch fixture (scripts/make-safetensors-fixture.py)', () => {
  const file = readSafetensors(FIXTURE);

  it('matches torch f16 / bf16 / i64 / f64 → f32 conversions bit for bit', () => {
    for (const name of ['f16', 'bf16', 'i64', 'f64']) {
      expectSameF32(toFloat32(tensor(file, name)), tensor(file, `${name}_as_f32`).data as Float32Array);
    }
  });

  it('matches torch f32 → f16 / bf16 rounding', () => {
    const src = tensor(file, 'enc_src').data as Float32Array;
    expect(Array.from(src, numberToF16Bits)).toEqual(values(tensor(file, 'enc_f16').data));
    expect(Array.from(src, numberToBf16Bits)).toEqual(values(tensor(file, 'enc_bf16').data));
  });

  it('re-encodes to the identical bytes, metadata included', () => {
    expect(file.metadata.format).toBe('pt');
    expect(values(tensor(file, 'mask').data)).toEqual([1, 0, 1, 0, 0, 1]);
    expect(encodeSafetensors(file.tensors, file.metadata)).toEqual(new Uint8Array(readFileSync(FIXTURE)));
  });
});

describe('strict validation of malformed files', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const eight = new Array(8).fill(0);
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', Uint8Array.of(1, 2, 3), /3 bytes is shorter than the 8-byte header length/],
    ['header length beyond the file', build(ok, eight, 10_000n), /header length 10000 exceeds the \d+ bytes after/],
    ['header length 2^64-1', build(ok, eight, 2n ** 64n - 1n), /header length 18446744073709551615 exceeds/],
    ['invalid JSON', build('{"a": {', eight), /header is not valid UTF-8 JSON/],
    ['invalid UTF-8', build('{"\u0000"}', eight).map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8 JSON/],
    ['a JSON array header', build([1, 2]), /header is not a JSON object/],
    ['unknown dtype', build({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Array(16).fill(0)), /tensor 'a': unsupported dtype "F128" \(supported: BOOL, U8/],
    ['bad shape', build({ a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }), /tensor 'a': shape must be a list of non-negative integers, got \[-1\]/],
    ['fractional shape', build({ a: { dtype: 'U8', shape: [1.5], data_offsets: [0, 0] } }), /tensor 'a': shape must be/],
    ['missing offsets', build({ a: { dtype: 'U8', shape: [1] } }, [0]), /tensor 'a': data_offsets must be \[begin, end\]/],
    ['reversed offsets', build({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, [0, 0, 0, 0]), /tensor 'a': data_offsets must be/],
    ['byte length ≠ shape × itemsize', build({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight), /tensor 'a': 8 bytes in data_offsets but shape \[3\] × F32 needs 12/],
    ['offsets beyond the buffer', build(ok, [0, 0, 0, 0]), /tensor 'a': data_offsets \[0, 8\] exceed the 4-byte buffer/],
    ['overlapping tensors', build({ ...ok, b: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }, eight), /tensor 'b': data_offsets \[4, 8\] overlap the previous tensor \(ends at 8\)/],
    ['a gap between tensors', build({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] } }, [0, 0, 0, 0, 0, 0]), /tensor 'b': data_offsets \[4, 6\] leave a gap after byte 2/],
    ['not starting at 0', build({ a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, [0, 0, 0, 0]), /tensor 'a'.*leave a gap after byte 0/],
    ['trailing bytes', build(ok, new Array(12).fill(0)), /tensors cover 8 bytes but the buffer after the header has 12/],
    ['non-string metadata', build({ __metadata__: { epoch: 3 } }), /__metadata__\['epoch'\] must be a string, got 3/],
    ['non-object entry', build({ a: 5 }), /tensor 'a': expected \{ dtype, shape, data_offsets \}/],
  ];
  for (const [what, bytes, pattern] of cases) {
    it(`rejects ${what}`, () => {
      expect(() => readSafetensors(bytes)).toThrow(pattern);
      expect(() => readSafetensors(bytes)).toThrow(/^Invalid safetensors file <bytes>: /);
    });
  }

  it('names the file path in errors', () => {
    const path = join(dir, 'bad.safetensors');
    writeSafetensors(path, {});
    const bytes = readFileSync(path);
    bytes[8] = 0x5b; // '[' instead of '{'
    writeFileSync(path, bytes);
    expect(() => readSafetensors(path)).toThrow(`Invalid safetensors file ${path}: header is not`);
    expect(() => readSafetensors(join(dir, 'missing.safetensors'))).toThrow(/Cannot read safetensors file .*missing\.safetensors: ENOENT/);
    expect(() => readSafetensors(bytes, { source: 'checkpoint ckpt-3.safetensors' })).toThrow(/^Invalid safetensors file checkpoint ckpt-3\.safetensors: header is not/);
  });

  it('copies tensors whose data is not aligned for their dtype', () => {
    const header = { b: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, f: { dtype: 'F32', shape: [1], data_offsets: [1, 5] } };
    const padded = JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8, ' ');
    const bytes = build(padded, [9, ...new Uint8Array(Float32Array.of(2.5).buffer)]);
    const f = readSafetensors(bytes).tensors.get('f')!;
    expect(f.data.buffer).not.toBe(bytes.buffer);
    expect(values(f.data)).toEqual([2.5]);
    expect(readSafetensors(bytes).tensors.get('b')!.data.buffer).toBe(bytes.buffer);
  });
});

describe('writeSafetensors input validation', () => {
  it('rejects mismatched storage, lengths, names and metadata', () => {
    const path = join(dir, 'x.safetensors');
    expect(() => writeSafetensors(path, { a: { dtype: 'I64', shape: [1], data: Int32Array.of(1) } })).toThrow(
      `${path}: safetensors: tensor 'a': dtype I64 needs a BigInt64Array, got Int32Array`,
    );
    expect(() => writeSafetensors(path, { a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      "tensor 'a': shape [2, 2] has 4 elements but data has 3",
    );
    expect(() => writeSafetensors(path, { __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(/invalid tensor name/);
    expect(() => writeSafetensors(path, { a: { dtype: 'Q4' as 'U8', shape: [0], data: new Uint8Array(0) } })).toThrow(/unsupported dtype "Q4"/);
    expect(() => writeSafetensors(path, {}, { n: 3 as unknown as string })).toThrow(/metadata\['n'\] must be a string/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failed write names the file and keeps the error code', () => {
    const path = join(dir, 'ckpt.safetensors');
    mkdirSync(path); // a folder where the file should go: the final rename fails
    let err: NodeJS.ErrnoException | undefined;
    try {
      writeSafetensors(path, { a: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.message).toMatch(new RegExp(`^Cannot write ${path}: EISDIR`));
    expect(err?.code).toBe('EISDIR');
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
  });
});
