/**
 * Reads PyTorch zip checkpoints (`torch.save` since 1.6: a zip holding `<archive>/data.pkl` and one
 * `<archive>/data/<key>` file per storage) into the same tensor map `readSafetensors` returns, so
 * `loadWeights` accepts `.pt`/`.pth` files directly. Implements just enough of the zip format (stored or
 * deflated entries, zip64) and of the pickle VM (protocols 2–4) for state dicts: OrderedDict/dict,
 * `_rebuild_tensor_v2`, `_rebuild_parameter`, storages via persistent ids. Nothing is executed: unknown
 * globals become inert placeholders. TorchScript archives (OpenAI's CLIP `.pt`) are not state dicts;
 * convert those with scripts/pt_to_safetensors.py.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import type { SafeDtype, SafeTensor, SafeTensorData } from '@clip-senet/core';

/** True if `bytes` start like a zip file (`PK\x03\x04`). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function zipEntries(bytes: Uint8Array, source: string): Map<string, () => Uint8Array> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${source}: not a zip file (no end-of-central-directory record)`);
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) throw new Error(`${source}: zip64 locator missing`);
    const z = Number(dv.getBigUint64(loc + 8, true));
    count = Number(dv.getBigUint64(z + 32, true));
    cdOffset = Number(dv.getBigUint64(z + 48, true));
  }
  const out = new Map<string, () => Uint8Array>();
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (dv.getUint32(p, true) !== 0x02014b50) throw new Error(`${source}: corrupt zip central directory`);
    const method = dv.getUint16(p + 10, true);
    let compSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let local = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    for (let x = p + 46 + nameLen; x < p + 46 + nameLen + extraLen; ) {
      const id = dv.getUint16(x, true);
      const len = dv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) {
          size = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (compSize === 0xffffffff) {
          compSize = Number(dv.getBigUint64(q, true));
          q += 8;
        }
        if (local === 0xffffffff) local = Number(dv.getBigUint64(q, true));
      }
      x += 4 + len;
    }
    const at = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    const [m, cs, us] = [method, compSize, size];
    out.set(name, () => {
      const raw = bytes.subarray(at, at + cs);
      if (m === 0) return raw;
      if (m === 8) return new Uint8Array(inflateRawSync(raw)).subarray(0, us);
      throw new Error(`${source}: zip entry '${name}' uses unsupported compression method ${m}`);
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

interface Global {
  readonly global: string;
}
interface StorageRef {
  readonly storage: SafeDtype;
  readonly key: string;
}
interface TensorRef {
  readonly tensor: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly stride: number[];
}
type Value = unknown;

const STORAGE_DTYPES: Record<string, SafeDtype> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

const isGlobal = (v: Value): v is Global => typeof v === 'object' && v !== null && 'global' in v;

function reduce(fn: Value, args: Value[]): Value {
  const name = isGlobal(fn) ? fn.global : '?';
  if (name === 'collections.OrderedDict' || name === 'builtins.dict') return new Map();
  if (name === 'torch._utils._rebuild_tensor_v2' || name === 'torch._utils._rebuild_tensor') {
    const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
    return { tensor: storage, offset, shape: [...shape], stride: [...stride] } satisfies TensorRef;
  }
  if (name.startsWith('torch._utils._rebuild_parameter')) return args[0];
  return { global: name, args };
}

/** Run the pickle program in `data`; `persistent` resolves BINPERSID ids. */
function unpickle(data: Uint8Array, persistent: (pid: Value) => Value, source: string): Value {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dec = new TextDecoder();
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  let p = 0;
  const popMark = (): Value[] => {
    const m = marks.pop()!;
    return stack.splice(m);
  };
  const setItems = (d: Value, kv: Value[]): void => {
    if (d instanceof Map) for (let i = 0; i < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
  };
  for (;;) {
    const op = data[p++]!;
    switch (op) {
      case 0x80: p++; break; // PROTO
      case 0x95: p += 8; break; // FRAME
      case 0x7d: stack.push(new Map()); break; // } EMPTY_DICT
      case 0x5d: stack.push([]); break; // ] EMPTY_LIST
      case 0x29: stack.push([]); break; // ) EMPTY_TUPLE
      case 0x28: marks.push(stack.length); break; // ( MARK
      case 0x74: stack.push(popMark()); break; // t TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x71: memo.set(data[p++]!, stack[stack.length - 1]); break; // q BINPUT
      case 0x72: memo.set(dv.getUint32(p, true), stack[stack.length - 1]); p += 4; break; // r LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: stack.push(memo.get(data[p++]!)); break; // h BINGET
      case 0x6a: stack.push(memo.get(dv.getUint32(p, true))); p += 4; break; // j LONG_BINGET
      case 0x58: { const n = dv.getUint32(p, true); p += 4; stack.push(dec.decode(data.subarray(p, p + n))); p += n; break; } // X BINUNICODE
      case 0x8c: { const n = data[p++]!; stack.push(dec.decode(data.subarray(p, p + n))); p += n; break; } // SHORT_BINUNICODE
      case 0x55: { const n = data[p++]!; stack.push(dec.decode(data.subarray(p, p + n))); p += n; break; } // U SHORT_BINSTRING
      case 0x54: { const n = dv.getUint32(p, true); p += 4; stack.push(dec.decode(data.subarray(p, p + n))); p += n; break; } // T BINSTRING
      case 0x43: { const n = data[p++]!; stack.push(data.slice(p, p + n)); p += n; break; } // C SHORT_BINBYTES
      case 0x42: { const n = dv.getUint32(p, true); p += 4; stack.push(data.slice(p, p + n)); p += n; break; } // B BINBYTES
      case 0x63: { // c GLOBAL "module\nname\n"
        const nl1 = data.indexOf(0x0a, p);
        const nl2 = data.indexOf(0x0a, nl1 + 1);
        stack.push({ global: `${dec.decode(data.subarray(p, nl1))}.${dec.decode(data.subarray(nl1 + 1, nl2))}` });
        p = nl2 + 1;
        break;
      }
      case 0x93: { const n = stack.pop(); const m = stack.pop(); stack.push({ global: `${String(m)}.${String(n)}` }); break; } // STACK_GLOBAL
      case 0x51: stack.push(persistent(stack.pop())); break; // Q BINPERSID
      case 0x4b: stack.push(data[p++]); break; // K BININT1
      case 0x4d: stack.push(dv.getUint16(p, true)); p += 2; break; // M BININT2
      case 0x4a: stack.push(dv.getInt32(p, true)); p += 4; break; // J BININT
      case 0x8a: { // LONG1
        const n = data[p++]!;
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]!);
        if (n > 0 && data[p + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        p += n;
        break;
      }
      case 0x47: stack.push(dv.getFloat64(p, false)); p += 8; break; // G BINFLOAT
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4e: stack.push(null); break; // N NONE
      case 0x52: { const args = stack.pop() as Value[]; const fn = stack.pop(); stack.push(reduce(fn, args)); break; } // R REDUCE
      case 0x81: { const args = stack.pop() as Value[]; const cls = stack.pop(); stack.push(reduce(cls, args)); break; } // NEWOBJ
      case 0x62: stack.pop(); break; // b BUILD: state ignored (OrderedDict _metadata, object attrs)
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItems(stack[stack.length - 1], [k, v]); break; } // s SETITEM
      case 0x75: { const kv = popMark(); setItems(stack[stack.length - 1], kv); break; } // u SETITEMS
      case 0x61: { const v = stack.pop(); (stack[stack.length - 1] as Value[]).push(v); break; } // a APPEND
      case 0x65: { const items = popMark(); const l = stack[stack.length - 1]; if (Array.isArray(l)) l.push(...items); break; } // e APPENDS
      case 0x8f: stack.push([]); break; // EMPTY_SET
      case 0x90: { const items = popMark(); (stack[stack.length - 1] as Value[]).push(...items); break; } // ADDITEMS
      case 0x2e: return stack.pop(); // . STOP
      default:
        throw new Error(`${source}: unsupported pickle opcode 0x${op.toString(16)} at byte ${p - 1} (not a plain state dict?)`);
    }
  }
}

const CTORS: Partial<Record<SafeDtype, new (b: ArrayBuffer) => SafeTensorData>> = {
  F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, F64: Float64Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};
const SIZES: Partial<Record<SafeDtype, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function materialise(name: string, t: TensorRef, storage: Uint8Array): SafeTensor {
  const dtype = t.tensor.storage;
  const size = SIZES[dtype]!;
  const count = t.shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * size);
  const contiguous = t.shape.every((_, i) => t.shape[i] === 1 || t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) out.set(storage.subarray(t.offset * size, (t.offset + count) * size));
  else {
    const idx = new Array<number>(t.shape.length).fill(0);
    for (let e = 0; e < count; e++) {
      let src = t.offset;
      for (let d = 0; d < idx.length; d++) src += idx[d]! * t.stride[d]!;
      out.set(storage.subarray(src * size, (src + 1) * size), e * size);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < t.shape[d]!) break;
        idx[d] = 0;
      }
    }
  }
  return { name, dtype, shape: t.shape, data: new CTORS[dtype]!(out.buffer) };
}

/**
 * Read the tensors of a PyTorch zip checkpoint. Accepts a bare state dict or one wrapped as
 * `{ state_dict: … }` / `{ model: … }`; non-tensor entries are skipped.
 */
export function readTorchCheckpoint(pathOrBytes: string | Uint8Array): Map<string, SafeTensor> {
  const source = typeof pathOrBytes === 'string' ? pathOrBytes : '<bytes>';
  const bytes = typeof pathOrBytes === 'string' ? new Uint8Array(readFileSync(pathOrBytes)) : pathOrBytes;
  const entries = zipEntries(bytes, source);
  const pkl = [...entries.keys()].find((k) => k.endsWith('/data.pkl') && k.split('/').length === 2);
  if (!pkl) throw new Error(`${source}: no <archive>/data.pkl — not a torch.save checkpoint`);
  const root = pkl.slice(0, -'data.pkl'.length);
  if (entries.has(`${root}constants.pkl`)) throw new Error(`${source}: a TorchScript archive, not a state dict — convert it with scripts/pt_to_safetensors.py`);
  const order = entries.get(`${root}byteorder`)?.();
  if (order && new TextDecoder().decode(order) !== 'little') throw new Error(`${source}: big-endian checkpoints are not supported`);
  const persistent = (pid: Value): Value => {
    const [kind, type, key] = pid as [string, Global, string];
    const dtype = STORAGE_DTYPES[type.global.split('.').pop()!];
    if (kind !== 'storage' || !dtype) throw new Error(`${source}: unsupported storage ${JSON.stringify(pid)}`);
    return { storage: dtype, key } satisfies StorageRef;
  };
  let obj = unpickle(entries.get(pkl)!(), persistent, source);
  for (const wrapper of ['state_dict', 'model']) if (obj instanceof Map && obj.get(wrapper) instanceof Map) obj = obj.get(wrapper);
  if (!(obj instanceof Map)) throw new Error(`${source}: the checkpoint is not a dict of tensors`);
  const out = new Map<string, SafeTensor>();
  for (const [k, v] of obj as Map<string, Value>) {
    if (typeof v !== 'object' || v === null || !('tensor' in v)) continue;
    const t = v as TensorRef;
    const file = entries.get(`${root}data/${t.tensor.key}`);
    if (!file) throw new Error(`${source}: storage data/${t.tensor.key} of '${k}' is missing`);
    out.set(k, materialise(k, t, file()));
  }
  return out;
}
