/**
 * Loss registry and weighted list: defaults (paper CE + SupCon 1:1), validation, total = Σ weight · term,
 * and a contract over every registered loss (finite named scalar, gradient to its parameters, no leaks).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { buildLosses, defaultLossesConfig, LOSS_ENTRIES, losses, LossesConfigSchema, type LossConfigInput, type LossInputs, type LossName } from './registry';

beforeAll(async () => {
  await initBackend('wasm', { log: null });
});

const N = 6;
const K = 3;
const D = 4;

function batch(): LossInputs & { dispose(): void } {
  const t = tf.tidy(() => ({
    labels: tf.tensor1d([0, 0, 1, 1, 2, 2], 'int32'),
    logits: tf.randomNormal([N, K], 0, 1, 'float32', 1) as tf.Tensor2D,
    features: tf.randomNormal([N, D], 0, 1, 'float32', 2) as tf.Tensor2D,
    imageEmbeddings: tf.randomNormal([N, D], 0, 1, 'float32', 3) as tf.Tensor2D,
    textEmbeddings: tf.randomNormal([N, D], 0, 1, 'float32', 4) as tf.Tensor2D,
  }));
  return { ...t, dispose: () => tf.dispose(Object.values(t)) };
}

describe('loss registry', () => {
  it('lists every loss; the default list is the paper (CE ε 0.1 + SupCon τ 0.07, 1:1)', () => {
    expect(losses.list()).toEqual(['center', 'clip-infonce', 'cross-entropy', 'supcon', 'triplet']);
    expect(defaultLossesConfig).toEqual([
      { name: 'cross-entropy', weight: 1, epsilon: 0.1 },
      { name: 'supcon', weight: 1, temperature: 0.07, baseTemperature: 0.07 },
    ]);
    expect(LossesConfigSchema.parse([{ name: 'center' }])[0]).toMatchObject({ weight: 5e-4 });
    expect(LossesConfigSchema.parse([{ name: 'triplet' }])[0]).toMatchObject({ margin: 0.3, softMargin: false });
    expect(LossesConfigSchema.parse([{ name: 'clip-infonce' }])[0]).toMatchObject({ learnableScale: true, maxScale: 100, initLogitScale: Math.log(1 / 0.07) });
  });

  it('rejects unknown names, unknown keys, duplicate labels, missing inputs and missing sizes', () => {
    expect(() => buildLosses([{ name: 'arcface' } as unknown as LossConfigInput])).toThrow(/arcface/);
    expect(() => buildLosses([{ name: 'supcon', temp: 0.1 } as unknown as LossConfigInput])).toThrow(/temp/);
    expect(() => buildLosses([{ name: 'triplet' }, { name: 'triplet', margin: 0.5 }])).toThrow(/duplicate loss label 'triplet'/);
    expect(() => buildLosses([{ name: 'center' }])).toThrow(/numClasses and featureDim/);
    const set = buildLosses([{ name: 'cross-entropy' }, { name: 'supcon' }]);
    const b = batch();
    // the CE term computed first is freed
    expectNoLeaksSync(() => expect(() => set.compute({ labels: b.labels, logits: b.logits })).toThrow(/loss 'supcon' needs inputs.features/), 'a compute missing an input');
    b.dispose();
  });

  it('total = Σ weight · term, each term logged by label (two triplets with distinct labels)', () => {
    const set = buildLosses([
      { name: 'cross-entropy', weight: 1 },
      { name: 'supcon', weight: 0.5 },
      { name: 'triplet', weight: 2, label: 'tri-hard' },
      { name: 'triplet', weight: 0.25, softMargin: true, label: 'tri-soft' },
    ]);
    const b = batch();
    const { total, terms } = set.compute(b);
    expect(Object.keys(terms)).toEqual(['cross-entropy', 'supcon', 'tri-hard', 'tri-soft']);
    const v = (k: string): number => terms[k]!.dataSync()[0]!;
    expect(total.dataSync()[0]).toBeCloseTo(v('cross-entropy') + 0.5 * v('supcon') + 2 * v('tri-hard') + 0.25 * v('tri-soft'), 5);
    tf.dispose([total, ...Object.values(terms)]);
    b.dispose();
    set.dispose();
  });

  it('every entry carries its own schema (the list union\'s member for its name), a description, and the inputs it reads', () => {
    expect(losses.list()).toEqual(LOSS_ENTRIES.map((e) => e.name).sort());
    for (const e of LOSS_ENTRIES) {
      expect(LossesConfigSchema.parse([{ name: e.name }])[0], e.name).toEqual(e.schema.parse({ name: e.name }));
      expect(e.describe.length, e.name).toBeGreaterThan(10);
      // leaving out any input it declares is one clear error naming that input
      for (const key of e.reads) {
        expectNoLeaksSync(() => {
          const set = buildLosses([{ name: e.name } as LossConfigInput], { numClasses: K, featureDim: D, rng: new Rng(1) });
          const b = batch();
          expect(() => set.compute({ ...b, [key]: undefined }), `${e.name} without ${key}`).toThrow(new RegExp(`loss '${e.name}' needs inputs\\.${key}`));
          b.dispose();
          set.dispose();
        });
      }
    }
  });

  for (const name of losses.list() as LossName[]) {
    it(`${name}: finite named scalar, gradient to every loss parameter, no leaked tensors`, () => {
      expectNoLeaksSync(() => {
        const set = buildLosses([{ name } as LossConfigInput], { numClasses: K, featureDim: D, rng: new Rng(1) });
        const b = batch();
        const { total, terms } = set.compute(b);
        expect(Object.keys(terms)).toEqual([name]);
        expect(Number.isFinite(total.dataSync()[0])).toBe(true);
        tf.dispose([total, ...Object.values(terms)]);
        if (set.params.size > 0) {
          expect([...set.params.keys()]).toEqual([name === 'center' ? 'center.centers' : 'clip-infonce.logit_scale']);
          const { value, grads } = tf.variableGrads(() => set.compute(b).total, [...set.params.values()]);
          for (const g of Object.values(grads)) expect(Array.from(g.dataSync()).some((x) => x !== 0)).toBe(true);
          tf.dispose([value, ...Object.values(grads)]);
        }
        b.dispose();
        set.dispose();
      }, `building, computing and differentiating ${name}`);
    });
  }
});
