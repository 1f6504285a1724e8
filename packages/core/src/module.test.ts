/**
 * The one module base: child prefixes are the checkpoint keys (same variable objects as the child's), duplicate
 * names are refused, train/eval reaches the children, disposal frees every variable once, and the two layers
 * beside it (Linear's PyTorch init bound, BatchNorm1d's running statistics).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { expectNoLeaksSync } from './leak-check';
import { BatchNorm1d, Linear } from './layers';
import { Module, uniformArray } from './module';
import { Rng } from './rng';
import { tf } from './tf';
import { values } from './testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

class Pair extends Module {
  readonly a: Linear;
  readonly bn: BatchNorm1d | undefined;
  constructor(rng: Rng, withBn: boolean) {
    super();
    this.addParam('scale', new Float32Array([2]), [1]);
    this.a = this.addChild('a', new Linear({ inDim: 3, outDim: 2 }, rng));
    this.bn = this.addChild('bn', withBn ? new BatchNorm1d({ dim: 2 }) : undefined);
  }
}

class Clash extends Module {
  constructor(rng: Rng) {
    super();
    this.addParam('a.weight', new Float32Array(6), [3, 2]);
    this.addChild('a', new Linear({ inDim: 3, outDim: 2 }, rng));
  }
}

describe('Module', () => {
  it('lists a child\'s tensors under its prefix (the same variables), params and buffers apart, in declaration order', () => {
    expectNoLeaksSync(() => {
      const m = new Pair(new Rng(1), true);
      expect([...m.params.keys()]).toEqual(['scale', 'a.weight', 'a.bias', 'bn.weight', 'bn.bias']);
      expect([...m.buffers.keys()]).toEqual(['bn.running_mean', 'bn.running_var']);
      expect(m.t('a.weight')).toBe(m.a.t('weight'));
      expect(m.has('bn.running_var')).toBe(true);
      expect(m.has('bn.nope')).toBe(false);
      expect(() => m.t('bn.nope')).toThrow(/Pair: no tensor named 'bn.nope'/);
      expect(m.numParams()).toBe(1 + 6 + 2 + 2 + 2);
      expect(m.trainableVariables().every((v) => v.trainable)).toBe(true);
      expect([...m.buffers.values()].some((v) => v.trainable)).toBe(false);
      m.dispose();
    });
  });

  it('an absent optional child adds nothing', () => {
    expectNoLeaksSync(() => {
      const m = new Pair(new Rng(1), false);
      expect(m.bn).toBeUndefined();
      expect([...m.params.keys()]).toEqual(['scale', 'a.weight', 'a.bias']);
      m.dispose();
    });
  });

  it('refuses a name that a child\'s prefixed name repeats', () => {
    expect(() => new Clash(new Rng(2))).toThrow(/Clash: duplicate tensor name 'a.weight'/);
  });

  it('train() and eval() reach the children; forward options override the mode', () => {
    expectNoLeaksSync(() => {
      const m = new Pair(new Rng(1), true);
      m.train();
      expect([m.training, m.a.training, m.bn!.training]).toEqual([true, true, true]);
      m.eval();
      expect([m.training, m.a.training, m.bn!.training]).toEqual([false, false, false]);
      const x = tf.tensor2d([[1, 2], [3, 4]]);
      tf.dispose(m.bn!.forward(x, { training: true })); // updates running stats although the module is in eval mode
      expect(values(m.t('bn.running_mean'))).toEqual([expect.closeTo(0.2, 6), expect.closeTo(0.3, 6)]);
      x.dispose();
      m.dispose();
    });
  });

  it('assign checks the declared shape', () => {
    expectNoLeaksSync(() => {
      const m = new Pair(new Rng(1), false);
      const ok = tf.tensor1d([5]);
      m.assign('scale', ok);
      expect(values(m.t('scale'))).toEqual([5]);
      const bad = tf.tensor1d([1, 2]);
      expect(() => m.assign('scale', bad)).toThrow(/Pair.assign\('scale'\): shape \[2\] ≠ declared \[1\]/);
      tf.dispose([ok, bad]);
      m.dispose();
    });
  });

  it('dispose frees every variable, children included, and is safe twice', () => {
    const before = tf.memory().numTensors;
    const m = new Pair(new Rng(1), true);
    expect(tf.memory().numTensors).toBe(before + 7);
    m.dispose();
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(m.params.size + m.buffers.size + m.a.params.size + m.bn!.buffers.size).toBe(0);
  });
});

describe('Linear', () => {
  it('draws W and b from U(−1/√in, 1/√in) in that order from the seeded generator, y = x·W + b', () => {
    expectNoLeaksSync(() => {
      const l = new Linear({ inDim: 4, outDim: 3 }, new Rng(7));
      const ref = new Rng(7);
      const w = uniformArray(12, ref, -0.5, 0.5);
      const b = uniformArray(3, ref, -0.5, 0.5);
      expect(values(l.t('weight'))).toEqual(Array.from(w));
      expect(values(l.t('bias'))).toEqual(Array.from(b));
      const x = tf.tensor2d([[1, 0, 0, 0]]);
      const y = l.forward(x);
      expect(values(y)).toEqual([0, 1, 2].map((j) => expect.closeTo(w[j]! + b[j]!, 6)));
      tf.dispose([x, y]);
      expect(() => new Linear({ inDim: 0, outDim: 3 }, new Rng(1))).toThrow(/Linear inDim must be a positive integer, got 0/);
      l.dispose();
    });
  });
});
