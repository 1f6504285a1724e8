import { describe, expect, it } from 'vitest';
import { packPayload, SHARED_PAYLOAD_MIN_BYTES, unpackPayload } from './data-parallel-protocol';

describe('shard payloads through the shared inbox', () => {
  const big = Float32Array.from({ length: SHARED_PAYLOAD_MIN_BYTES / 4 + 3 }, (_, i) => i * 0.5);
  const ids = Int32Array.from({ length: SHARED_PAYLOAD_MIN_BYTES / 2 }, (_, i) => i - 7);
  const payload = { branches: [{ data: big.subarray(3), shape: [1, 2, 3, 4] }], labels: new Int32Array([1, 2]), ids, note: 'x' };

  it('moves large typed arrays into shared memory (grown as needed) and leaves small ones and the rest to the clone', () => {
    const packed = packPayload(payload, new SharedArrayBuffer(0));
    expect(packed.inbox.byteLength).toBeGreaterThanOrEqual(big.byteLength - 12 + ids.byteLength);
    const p = packed.payload as { branches: { data: unknown; shape: number[] }[]; labels: Int32Array; ids: unknown; note: string };
    expect(p.branches[0]!.data).toMatchObject({ $sharedPayload: 'Float32Array', byteOffset: 0, length: big.length - 3 });
    expect(p.ids).toMatchObject({ $sharedPayload: 'Int32Array', length: ids.length });
    expect(p.labels).toBe(payload.labels);
    expect(p.branches[0]!.shape).toEqual([1, 2, 3, 4]);
    expect(structuredClone(p)).toEqual(p); // what postMessage sends

    const views = unpackPayload(structuredClone(p), packed.inbox, false) as typeof payload;
    expect(Array.from(views.branches[0]!.data)).toEqual(Array.from(big.subarray(3)));
    expect(Array.from(views.ids)).toEqual(Array.from(ids));
    expect(views.branches[0]!.data.buffer).toBe(packed.inbox); // a view: no copy on wasm
    expect(views.note).toBe('x');

    const copies = unpackPayload(structuredClone(p), packed.inbox, true) as typeof payload;
    expect(copies.branches[0]!.data.buffer).not.toBe(packed.inbox); // other backends may keep the array

    // the next step reuses the inbox when it is large enough, and grows a new one when not
    expect(packPayload(payload, packed.inbox).inbox).toBe(packed.inbox);
    const twice = { a: payload, b: payload };
    const grown = packPayload(twice, packed.inbox);
    expect(grown.inbox).not.toBe(packed.inbox);
    const back = unpackPayload(grown.payload, grown.inbox, false) as typeof twice;
    expect(Array.from(back.b.ids)).toEqual(Array.from(ids));
    expect(Array.from(back.a.branches[0]!.data)).toEqual(Array.from(big.subarray(3)));
  });
});
