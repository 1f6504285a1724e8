/**
 * Validate once: a value out of `validated` / `markValidated` is deep-frozen and recognised downstream (returned as
 * is, no second parse); anything else is parsed, and a bad literal is zod's error.
 */
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { isValidated, markValidated, validated } from './validated';

const Inner = z.strictObject({ k: z.number().int().default(3) });
const Outer = z.strictObject({ name: z.string(), inner: Inner.prefault({}), list: z.array(Inner).default([]) });

describe('validated', () => {
  it('parses a literal once, freezes and marks every object and array in the result', () => {
    const out = validated(Outer, { name: 'a', list: [{ k: 1 }] });
    expect(out).toEqual({ name: 'a', inner: { k: 3 }, list: [{ k: 1 }] });
    for (const part of [out, out.inner, out.list, out.list[0]]) {
      expect(Object.isFrozen(part)).toBe(true);
      expect(isValidated(part)).toBe(true);
    }
    expect(() => {
      (out.inner as { k: number }).k = 4;
    }).toThrow(TypeError);
  });

  it('returns a validated value (or a section of one) as is, without parsing it again', () => {
    const out = validated(Outer, { name: 'a' });
    const outerParse = vi.spyOn(Outer, 'parse');
    const innerParse = vi.spyOn(Inner, 'parse');
    expect(validated(Outer, out)).toBe(out);
    expect(validated(Inner, out.inner)).toBe(out.inner);
    expect(outerParse).not.toHaveBeenCalled();
    expect(innerParse).not.toHaveBeenCalled();
    outerParse.mockRestore();
    innerParse.mockRestore();
  });

  it('parses a copy of a validated value (a spread is a new, unmarked object) and rejects bad literals', () => {
    const out = validated(Outer, { name: 'a' });
    const copy = { ...out.inner };
    expect(isValidated(copy)).toBe(false);
    expect(validated(Inner, copy)).not.toBe(copy);
    expect(() => validated(Inner, { k: 1.5 })).toThrow(/expected int/i);
    expect(() => validated(Inner, { k: 1, extra: true } as never)).toThrow(/extra/);
  });

  it('markValidated leaves typed arrays and scalars alone', () => {
    const data = new Float32Array([1, 2]);
    const v = markValidated({ data, n: 1, s: null });
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(data)).toBe(false);
    expect(isValidated(data)).toBe(false);
    expect(isValidated(null)).toBe(false);
    expect(isValidated(1)).toBe(false);
  });
});
