import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { Rng } from './rng';
import { errorOf, gradCheck, tempDirs } from './testing';
import { tf } from './tf';

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

describe('gradCheck', () => {
  it('catches a wrong gradient (so the gradient tests built on it can fail) and passes a right one', () => {
    const x = tf.tidy(() => tf.variable(tf.tensor1d([0.5, -1, 2])));
    // True gradient of Σa² is 2a; this custom gradient returns a.
    const wrong = tf.customGrad((a) => ({ value: tf.sum(tf.square(a as tf.Tensor)), gradFunc: (dy) => tf.mul(dy as tf.Tensor, a as tf.Tensor) }));
    const [bad] = gradCheck(() => wrong(x) as tf.Scalar, new Map([['x', x]]), new Rng(0));
    expect(bad!.relError).toBeGreaterThan(0.3);
    const [good] = gradCheck(() => tf.sum(tf.square(x)) as tf.Scalar, new Map([['x', x]]), new Rng(0));
    expect(good!.relError).toBeLessThan(1e-2);
    x.dispose();
  });
});

describe('errorOf / tempDirs', () => {
  it('errorOf returns the thrown message and fails when nothing is thrown', () => {
    expect(errorOf(() => { throw new Error('bad key'); })).toBe('bad key');
    expect(() => errorOf(() => 1)).toThrow('expected an error');
  });

  it('tempDirs makes folders and removes every one of them', () => {
    const dirs = tempDirs('core-testing-');
    const a = dirs.make();
    const b = dirs.make();
    expect(a).not.toBe(b);
    expect(existsSync(a) && existsSync(b)).toBe(true);
    dirs.removeAll();
    expect(existsSync(a) || existsSync(b)).toBe(false);
  });
});
