import { describe, expect, it } from 'vitest';
import { assertRegistryName, createRegistry } from './registry';

describe('createRegistry', () => {
  it('registers, gets, has and lists sorted names', () => {
    const r = createRegistry<number>('backbone');
    expect(r.register('resnet50-ibn-a', 1)).toBe(1);
    r.register('afem-vector', 2);
    r.register('vit-b.16', 3);
    expect(r.get('resnet50-ibn-a')).toBe(1);
    expect(r.has('afem-vector')).toBe(true);
    expect(r.has('nope')).toBe(false);
    expect(r.list()).toEqual(['afem-vector', 'resnet50-ibn-a', 'vit-b.16']);
    expect(r.kind).toBe('backbone');
  });

  it('keeps falsy values retrievable', () => {
    const r = createRegistry<number | undefined>('thing');
    r.register('zero', 0);
    r.register('undef', undefined);
    expect(r.get('zero')).toBe(0);
    expect(r.get('undef')).toBeUndefined();
  });

  it('throws on duplicate registration naming kind and name', () => {
    const r = createRegistry<number>('loss');
    r.register('triplet', 1);
    expect(() => r.register('triplet', 2)).toThrow(/Duplicate loss 'triplet'/);
    expect(r.get('triplet')).toBe(1);
  });

  it('throws on unknown names listing the known names sorted', () => {
    const r = createRegistry<number>('backbone');
    r.register('resnet50', 1);
    r.register('ibn-a', 2);
    expect(() => r.get('resnet5')).toThrow("Unknown backbone 'resnet5'. Known backbone names: ibn-a, resnet50");
    const empty = createRegistry<number>('fusion');
    expect(() => empty.get('x')).toThrow(/\(none registered\)/);
  });

  it('rejects invalid names', () => {
    const r = createRegistry<number>('preset');
    for (const bad of ['', 'Upper', 'a b', '-lead', 'trail-', 'double--dash', 'x/y']) {
      expect(() => r.register(bad, 1), bad).toThrow(/Invalid preset name/);
    }
    expect(() => assertRegistryName('preset', 42)).toThrow(/Invalid preset name 42/);
    expect(r.list()).toEqual([]);
  });

  it('rejects an empty kind', () => {
    expect(() => createRegistry(' ')).toThrow(/kind must be a non-empty string/);
  });
});
