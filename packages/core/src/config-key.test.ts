/**
 * The one config identity: the key is SHA-256 of the config's YAML text plus one line per input digest, so the same
 * config gives the same key, any changed value or input digest a different one.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringifyConfig } from './config';
import { configIdentity, sha256Hex } from './config-key';

describe('configIdentity', () => {
  it('keys the YAML text and the input digests (12 hex digits of SHA-256, recomputed here independently)', () => {
    const config = { model: { fusion: { name: 'clip-senet', outDim: 16 } }, train: { seed: 1 } };
    const id = configIdentity(config, { 'model.sem.weights': 'ab'.repeat(32) });
    expect(id.text).toBe(stringifyConfig(config));
    const want = createHash('sha256').update(`${id.text}# input model.sem.weights sha256 ${'ab'.repeat(32)}\n`).digest('hex').slice(0, 12);
    expect(id.key).toBe(want);
    expect(configIdentity(config).key).toBe(createHash('sha256').update(id.text).digest('hex').slice(0, 12));
  });

  it('same config → same key; a changed value or input digest → another key', () => {
    const a = { train: { seed: 1, lr: 0.1 } };
    expect(configIdentity(structuredClone(a)).key).toBe(configIdentity(a).key);
    expect(configIdentity({ train: { seed: 2, lr: 0.1 } }).key).not.toBe(configIdentity(a).key);
    expect(configIdentity(a, { w: 'missing' }).key).not.toBe(configIdentity(a, { w: sha256Hex('weights') }).key);
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
