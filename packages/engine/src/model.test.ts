import { beforeAll, describe, expect, it, vi } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf, validated } from '@clip-senet/core';
import { AfemConfigSchema, FusionConfigSchema } from '@clip-senet/afem';
import { BackboneConfigSchema } from '@clip-senet/backbones';
import type { Scalar } from '@clip-senet/core';
import { buildLosses, LossesConfigSchema } from '@clip-senet/losses';
import type { LoadedBatch, Sample } from '@clip-senet/datasets';
import { buildModel } from './build-model';
import { batchInputs } from './model-loss';
import { buildModelAndLosses } from './model-and-losses';
import { defaultModelConfig, ModelConfigSchema, type ModelConfigInput } from './model-config';

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

const tiny = (extra: Partial<ModelConfigInput> = {}): ModelConfigInput => ({
  appearance: { backbone: { name: 'resnet-tiny' }, input: { size: [32, 32], normalization: 'imagenet' } },
  sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } },
  fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 } },
  ...extra,
});

function images(n: number, seed: number): tf.Tensor4D {
  const r = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * 32 * 32 * 3 }, () => r.normal()), [n, 32, 32, 3]);
}

describe('model assembly', () => {
  it('a validated config is validated once: building the model and its losses parses no section again', () => {
    const model = validated(ModelConfigSchema, tiny());
    const losses = validated(LossesConfigSchema, [{ name: 'cross-entropy' }, { name: 'supcon' }]);
    const spies = [ModelConfigSchema, FusionConfigSchema, AfemConfigSchema, BackboneConfigSchema, LossesConfigSchema].map((s) => vi.spyOn(s, 'parse'));
    try {
      expectNoLeaksSync(() => {
        const built = buildModelAndLosses({ model, losses, numClasses: 5, seed: 1 }, null);
        built.model.dispose();
        built.losses.dispose();
      });
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
      // a literal is validated at the builder's door (once per section it names)
      const m = buildModel(tiny(), { numClasses: 5, rng: new Rng(1), log: null });
      m.dispose();
      expect(spies[0]).toHaveBeenCalledTimes(1);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('defaults to the paper: ResNeXt101-IBN-a + frozen TinyCLIP ViT/32 + clip-senet (G = 32) + BNNeck', () => {
    expect(defaultModelConfig.appearance.backbone.name).toBe('resnext101-32x4d-ibn-a');
    expect(defaultModelConfig.sem).toMatchObject({ backbone: { name: 'tinyclip-vit-40m-32' }, freeze: true, input: { size: [224, 224], normalization: 'clip' } });
    expect(defaultModelConfig.fusion).toMatchObject({ name: 'clip-senet', outDim: 2048, afem: { groups: 32 } });
    expect(defaultModelConfig.neck).toEqual({ bnneck: true, retrievalFeature: 'post-bn', metricFeature: 'pre-bn' });
  });

  it('builds, runs, and a gradient reaches every trainable variable (frozen SEM excluded), without leaks', () => {
    const model = buildModel(tiny(), { numClasses: 5, rng: new Rng(1) });
    expect(model.branchInputs()).toEqual([{ size: [32, 32], normalization: 'imagenet' }, { size: [32, 32], normalization: 'clip' }]);
    const trainable = model.trainableParams();
    expect([...trainable.keys()].some((k) => k.startsWith('sem.'))).toBe(false);
    expect([...model.params.keys()].some((k) => k.startsWith('sem.'))).toBe(true);
    expect(model.classifier.params.has('bias')).toBe(false);
    const losses = buildLosses([{ name: 'cross-entropy' }, { name: 'supcon' }]);
    const xa = images(4, 1);
    const xs = images(4, 2);
    const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
    expectNoLeaksSync(() => {
      const { value, grads } = tf.variableGrads(() => {
        model.train(true);
        const out = model.forward({ appearance: xa, semantic: xs });
        expect(out.logits!.shape).toEqual([4, 5]);
        expect(out.features.shape).toEqual([4, 16]);
        return losses.compute({ labels, logits: out.logits!, features: out.metricFeatures }).total as Scalar;
      }, [...trainable.values()]);
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      const names = new Map([...trainable].map(([k, v]) => [v.name, k]));
      const missing = [...trainable.values()].filter((v) => !grads[v.name]).map((v) => names.get(v.name));
      expect(missing).toEqual([]);
      tf.dispose([value, ...Object.values(grads)]);
    }, 'a training forward and backward');

    expectNoLeaksSync(() => {
      model.eval();
      const out = model.forward({ appearance: xa, semantic: xs });
      expect(out.logits).toBeUndefined();
      tf.dispose([out.features, out.metricFeatures]);
    }, 'an eval forward');
    tf.dispose([xa, xs, labels]);
    model.dispose();
    losses.dispose();
  });

  it('fine-tuned SEM is trainable; retrieval feature pre-BN equals the fused feature; appearance-only needs no SEM', () => {
    const tuned = buildModel(tiny({ sem: { backbone: { name: 'clip-vit-tiny' }, freeze: false, input: { size: [32, 32], normalization: 'clip' } }, neck: { retrievalFeature: 'pre-bn', metricFeature: 'post-bn' } }), { numClasses: 3, rng: new Rng(2) });
    expect([...tuned.trainableParams().keys()].some((k) => k.startsWith('sem.'))).toBe(true);
    const xa = images(3, 3);
    const xs = images(3, 4);
    tuned.eval();
    const o = tuned.forward({ appearance: xa, semantic: xs });
    const manual = tf.tidy(() => tuned.fusion.forward({ appearance: tuned.appearance.forward(xa).features, semantic: tuned.sem!.forward(xs).features }));
    expect(Array.from(o.features.dataSync())).toEqual(Array.from(manual.dataSync()));
    expect(Array.from(o.metricFeatures.dataSync())).not.toEqual(Array.from(manual.dataSync()));
    tf.dispose([o.features, o.metricFeatures, manual]);
    tuned.dispose();

    const base = buildModel(tiny({ sem: null, fusion: { name: 'appearance-only', outDim: 16 } }), { numClasses: 3, rng: new Rng(3) });
    expect(base.sem).toBeUndefined();
    expect(base.branchInputs()).toHaveLength(1);
    const b = base.forward({ appearance: xa });
    expect(b.features.shape).toEqual([3, 16]);
    tf.dispose([b.features, b.metricFeatures, xa, xs]);
    base.dispose();
    expect(() => buildModel(tiny({ sem: null }), { numClasses: 3, rng: new Rng(0) })).toThrow(/appearance-only/);
  });
});

describe('batchInputs side information', () => {
  it('passes camera and view ids to a CV model; a sample without a view label is an error naming it, never view 0', () => {
    const model = buildModel(tiny({ fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 }, cameraView: { numCameras: 3, numViews: 2 } } }), { numClasses: 5, rng: new Rng(1) });
    const xa = images(2, 1);
    const xs = images(2, 2);
    const samples = [{ path: '/a.jpg', vehicleId: 1, cameraId: 0, viewId: 1 }, { path: '/b.jpg', vehicleId: 2, cameraId: 2, viewId: 0 }];
    const batch = (s: readonly Sample[]): LoadedBatch => ({ branches: [xa, xs], cameraIds: Int32Array.from(s, (x) => x.cameraId), samples: s }) as unknown as LoadedBatch;
    const inputs = batchInputs(model, batch(samples));
    expect(Array.from(inputs.cameraIds!.dataSync())).toEqual([0, 2]);
    expect(Array.from(inputs.viewIds!.dataSync())).toEqual([1, 0]);
    tf.dispose([inputs.cameraIds!, inputs.viewIds!]);
    expect(() => batchInputs(model, batch([samples[0]!, { path: '/unlabelled.jpg', vehicleId: 2, cameraId: 1 }]))).toThrow(/view embedding \(2 views\) but 1 of 2 images have no view id in \[0, 2\) — first: \/unlabelled\.jpg/);
    tf.dispose([xa, xs]);
    model.dispose();
  });
});
