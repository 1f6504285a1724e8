/** The leak-check helpers: a leak and a double dispose are reported with their counts, `allow`, errors pass through. */
import { afterEach, describe, expect, it } from 'vitest';
import { tf } from './tf';
import { expectNoLeaks, expectNoLeaksSync } from './leak-check';

/** Tensors a test made on purpose (a "leak"), freed after it. */
let kept: tf.Tensor[] = [];
afterEach(() => {
  tf.dispose(kept);
  kept = [];
});
const leak = (n: number): void => {
  for (let i = 0; i < n; i++) kept.push(tf.scalar(i));
};

describe('expectNoLeaksSync', () => {
  it('returns the value of a clean call (tensors made and disposed inside)', () => {
    const before = tf.memory().numTensors;
    const v = expectNoLeaksSync(() => tf.tidy(() => tf.add(tf.ones([3]), tf.ones([3])).dataSync()[0]));
    expect(v).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports a leak with the counts, naming the call (default "the call")', () => {
    const before = tf.memory().numTensors;
    expect(() => expectNoLeaksSync(() => leak(2), 'the forward')).toThrow(
      new Error(`the forward leaked 2 tensor(s) (${before} before, ${before + 2} after)`),
    );
    const mid = tf.memory().numTensors;
    expect(() => expectNoLeaksSync(() => leak(1))).toThrow(new Error(`the call leaked 1 tensor(s) (${mid} before, ${mid + 1} after)`));
  });

  it('reports tensors disposed that the call did not create', () => {
    leak(3);
    const before = tf.memory().numTensors;
    expect(() => expectNoLeaksSync(() => tf.dispose(kept.splice(0, 2)), 'cleanup')).toThrow(
      new Error(`cleanup disposed 2 tensor(s) it did not create (${before} before, ${before - 2} after)`),
    );
  });

  it('allow: exactly that many tensors may stay (a returned tensor), more or fewer is reported', () => {
    const before = tf.memory().numTensors;
    const t = expectNoLeaksSync(() => tf.tidy(() => tf.mul(tf.ones([2]), 3)), 'mul', { allow: 1 });
    kept.push(t);
    expect(Array.from(t.dataSync())).toEqual([3, 3]);
    expect(tf.memory().numTensors).toBe(before + 1);
    const b = tf.memory().numTensors;
    expect(() => expectNoLeaksSync(() => leak(3), 'three', { allow: 2 })).toThrow(
      new Error(`three leaked 1 tensor(s) beyond the 2 allowed (${b} before, ${b + 3} after, 2 allowed)`),
    );
    const c = tf.memory().numTensors;
    expect(() => expectNoLeaksSync(() => leak(1), 'one', { allow: 2 })).toThrow(new Error(`one left 1 tensor(s), not the 2 allowed (${c} before, ${c + 1} after, 2 allowed)`));
    expect(() => expectNoLeaksSync(() => 0, 'x', { allow: -1 })).toThrow(/allow must be a non-negative integer, got -1/);
    expect(() => expectNoLeaksSync(() => 0, 'x', { allow: 0.5 })).toThrow(/allow must be a non-negative integer, got 0.5/);
  });

  it("rethrows fn's own error unchanged (the same object), even when it leaked", () => {
    const own = new TypeError('boom');
    let caught: unknown;
    try {
      expectNoLeaksSync(() => {
        leak(1);
        throw own;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(own);
  });

  it('refuses a function returning a promise (the count would be read too early)', () => {
    expect(() => expectNoLeaksSync(() => Promise.resolve(1), 'async fn')).toThrow(
      new TypeError('expectNoLeaksSync: async fn returned a promise; the tensor count would be read before it settles — use expectNoLeaks'),
    );
  });
});

describe('expectNoLeaks', () => {
  it('awaits fn before counting: a leak after an await is caught', async () => {
    const before = tf.memory().numTensors;
    await expect(expectNoLeaks(async () => {
      await new Promise((r) => setTimeout(r, 5));
      leak(1);
    }, 'the async call')).rejects.toThrow(new Error(`the async call leaked 1 tensor(s) (${before} before, ${before + 1} after)`));
  });

  it('returns the awaited value of a clean call; a tensor made and disposed after an await is no leak', async () => {
    const v = await expectNoLeaks(async () => {
      await new Promise((r) => setTimeout(r, 5));
      const t = tf.ones([4]);
      const sum = t.sum();
      const s = (await sum.data())[0];
      tf.dispose([t, sum]);
      return s;
    });
    expect(v).toBe(4);
  });

  it('a sync fn works too; allow and the disposed message as in the sync variant', async () => {
    expect(await expectNoLeaks(() => 7)).toBe(7);
    const t = await expectNoLeaks(async () => tf.scalar(1), 'scalar', { allow: 1 });
    kept.push(t);
    leak(1);
    const before = tf.memory().numTensors;
    await expect(expectNoLeaks(async () => tf.dispose(kept.splice(0, 2)))).rejects.toThrow(
      new Error(`the call disposed 2 tensor(s) it did not create (${before} before, ${before - 2} after)`),
    );
  });

  it("rethrows fn's rejection unchanged", async () => {
    const own = new RangeError('nope');
    await expect(expectNoLeaks(async () => {
      leak(2);
      throw own;
    })).rejects.toBe(own);
  });
});
