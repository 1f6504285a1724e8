/**
 * Registry contract tests: every entry builds; tiny presets run forward/backward at 32×32 with declared
 * shapes, finite outputs, a gradient on every trainable variable and no leaked tensors; big presets
 * build with the published parameter counts and run one forward on a tiny input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { backbones, backboneSpecs, buildBackbone, buildTextEncoder, resolveBackbone, type Backbone } from './registry';
import { BackboneConfigSchema, CNN_PRESETS, defaultBackboneConfig, VIT_PRESETS, type BackboneConfigInput } from './config';
import { countParams } from './module';
import { ResNet, STAGES } from './resnet';

beforeAll(async () => {
  await initBackend('auto', { log: null });
});

/** Parameter counts without the classifier head: torchvision / IBN-Net / OpenAI CLIP published totals. */
const PUBLISHED: Record<string, number> = {
  resnet18: 11_689_512 - 513_000,
  resnet34: 21_797_672 - 513_000,
  resnet50: 25_557_032 - 2_049_000,
  resnet101: 44_549_160 - 2_049_000,
  'resnet50-ibn-a': 25_557_032 - 2_049_000, // IN(affine) + BN on split channels: same count as BN
  'resnet101-ibn-a': 44_549_160 - 2_049_000,
  'resnext101-32x4d-ibn-a': 44_177_704 - 2_049_000, // = torchvision-style resnext101_32x4d
  'se-resnet101-ibn-a': 49_292_328 - 2_049_000,
  'openai-vit-b-16': 86_192_640,
  'openai-vit-b-32': 87_849_216,
};

const TINY = ['resnet-tiny', 'resnet-tiny-ibn-a', 'resnext-tiny-ibn-a', 'se-resnet-tiny-ibn-a', 'clip-vit-tiny'];

function gradCheck(model: Backbone, x: tf.Tensor4D): void {
  const proj = tf.randomNormal([model.featureDim, 1], 0, 1, 'float32', 1);
  const { value, grads } = tf.variableGrads(() => {
    const { features } = model.forward(x, { training: true });
    return tf.sum(tf.matMul(features, proj)) as tf.Scalar;
  }, model.trainableVariables());
  expect(Number.isFinite(value.dataSync()[0])).toBe(true);
  const dead: string[] = [];
  for (const [name, v] of model.params) {
    const g = grads[v.name];
    const ok = g && tf.tidy(() => tf.any(tf.notEqual(g, 0)).dataSync()[0] === 1 && tf.all(tf.isFinite(g)).dataSync()[0] === 1);
    if (!ok) dead.push(name);
  }
  expect(dead).toEqual([]);
  tf.dispose([value, proj, ...Object.values(grads)]);
}

describe('registry', () => {
  it('lists every preset of the config schema, and only those', () => {
    expect(backbones.list()).toEqual([...CNN_PRESETS, ...VIT_PRESETS].sort());
  });

  it('every entry carries the union member its configs validate with, a resolver of its own family and a description', () => {
    for (const name of backbones.list()) {
      const entry = backbones.get(name);
      const own = entry.schema.parse({ name });
      expect(BackboneConfigSchema.parse({ name }), name).toEqual(own); // the entry's schema is the union's member for this name
      expect(resolveBackbone({ name } as BackboneConfigInput).family, name).toBe(entry.family);
      expect(entry.describe, name).toMatch(entry.family === 'cnn' ? /^(ResNet|ResNeXt)/ : /^CLIP ViT/);
      expect(entry.describe, name).toContain(entry.source);
    }
    expect(backbones.get('resnext101-32x4d-ibn-a').describe).toBe('ResNeXt 32×4d [3, 4, 23, 3], IBN-a; weights ibn-net: github.com/XingangPan/IBN-Net releases v1.0');
    expect(() => backbones.get('resnet50').schema.parse({ name: 'resnet50', posInterpAntialias: true })).toThrow(/posInterpAntialias/);
  });

  it('rejects unknown names and unknown keys; default is the paper backbone', () => {
    expect(() => buildBackbone({ name: 'resnet5' } as unknown as BackboneConfigInput)).toThrow(/resnet5/);
    expect(() => BackboneConfigSchema.parse({ name: 'resnet50', lastStrid: 1 })).toThrow(/lastStrid/);
    expect(() => BackboneConfigSchema.parse({ name: 'tinyclip-vit-8m-16', pooling: 'gem' })).toThrow(/pooling/);
    expect(defaultBackboneConfig).toMatchObject({ name: 'resnext101-32x4d-ibn-a', pooling: 'avg', lastStride: 2 });
  });

  it('ViT presets take an activation override; entries carry their input normalisation', () => {
    expect(resolveBackbone({ name: 'tinyclip-vit-8m-16' }).arch).toMatchObject({ activation: 'gelu', width: 256 });
    expect(resolveBackbone({ name: 'tinyclip-vit-8m-16', activation: 'quick-gelu' }).arch).toMatchObject({ activation: 'quick-gelu' });
    expect(backbones.get('openai-vit-b-32').normalization.mean[0]).toBeCloseTo(0.48145466, 8);
    expect(backbones.get('resnet50-ibn-a').normalization.std).toEqual([0.229, 0.224, 0.225]);
  });

  for (const name of TINY) {
    it(`${name}: shapes, finite, gradients to every variable, no leaks`, () => {
      expectNoLeaksSync(() => {
        const model = buildBackbone({ name } as BackboneConfigInput, { rng: new Rng(1) });
        const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
        expectNoLeaksSync(() => {
          for (const training of [false, true]) {
            if (model instanceof ResNet) {
              const out = model.forward(x, { training, returnStages: true });
              expect(out.features.shape).toEqual([2, model.featureDim]);
              const declared = model.stageShapes(2, 32, 32);
              for (const s of STAGES) expect(out.stages![s].shape, s).toEqual(declared[s]);
              tf.dispose([out.features, ...Object.values(out.stages!)]);
            } else {
              const out = model.forward(x, { training, returnCls: true, returnTokens: true });
              expect(out.features.shape).toEqual([2, model.featureDim]);
              expect(out.cls!.shape).toEqual([2, model.arch.width]);
              expect(out.tokens!.shape).toEqual([2, 1 + 16, model.arch.width]);
              expect(tf.tidy(() => tf.all(tf.isFinite(out.features)).dataSync()[0])).toBe(1);
              tf.dispose([out.features, out.cls!, out.tokens!]);
            }
          }
          const { features } = model.forward(x);
          expect(tf.tidy(() => tf.all(tf.isFinite(features)).dataSync()[0])).toBe(1);
          features.dispose();
        }, `${name}: forward in eval and training mode`);
        expectNoLeaksSync(() => gradCheck(model, x), `${name}: backward (gradients to every variable)`);
        x.dispose();
        model.dispose();
      }, `${name}: build, forward, backward, dispose`);
    });
  }

  it('GeM pooling (learnable p) and last stride 1 on a tiny preset', () => {
    const model = buildBackbone({ name: 'resnet-tiny-ibn-a', pooling: 'gem', lastStride: 1 }) as ResNet;
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const out = model.forward(x, { returnStages: true });
    expect(out.stages!.layer4.shape).toEqual([2, 2, 2, 256]); // stride 1: layer4 keeps layer3's 2×2
    expect(model.params.has('gem.p')).toBe(true);
    tf.dispose([out.features, ...Object.values(out.stages!)]);
    gradCheck(model, x);
    x.dispose();
    model.dispose();
  });

  it('clip-vit-tiny at a non-native resolution (bicubic position embeddings) keeps gradients', () => {
    const model = buildBackbone({ name: 'clip-vit-tiny' });
    const x = tf.randomNormal([1, 48, 40, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    gradCheck(model, x);
    x.dispose();
    model.dispose();
  });

  it('text tower: finite, gradients to every variable, no leaks', () => {
    const text = buildTextEncoder({ name: 'clip-text', vocabSize: 12, contextLength: 6 });
    expectNoLeaksSync(() => {
      const tokens = tf.tensor2d([[10, 2, 3, 11, 0, 0], [10, 4, 5, 6, 7, 11]], [2, 6], 'int32');
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(text.forward(tokens).features)) as tf.Scalar, text.trainableVariables());
      const dead = [...text.params].filter(([, v]) => tf.tidy(() => tf.any(tf.notEqual(grads[v.name]!, 0)).dataSync()[0]) !== 1).map(([n]) => n);
      expect(dead).toEqual([]);
      tf.dispose([value, tokens, ...Object.values(grads)]);
    }, 'the text tower forward and gradients');
    text.dispose();
  });

  const BIG = backbones.list().filter((n) => !TINY.includes(n));
  it('big presets declare the published parameter counts', () => {
    for (const name of BIG) {
      const count = countParams(backboneSpecs({ name } as BackboneConfigInput));
      if (PUBLISHED[name] !== undefined) expect(count, name).toBe(PUBLISHED[name]);
      else expect(count, name).toBeGreaterThan(1e6);
    }
  });

  /** The paper's backbones are built for real (the others share their code paths; keeps the suite < 90 s). */
  for (const name of ['resnet50-ibn-a', 'resnext101-32x4d-ibn-a', 'se-resnet101-ibn-a', 'tinyclip-vit-8m-16', 'tinyclip-vit-40m-32']) {
    it(`${name}: builds and runs a tiny forward without leaks`, () => {
      expectNoLeaksSync(() => {
        const model = buildBackbone({ name } as BackboneConfigInput);
        expect(model.numParams()).toBe(countParams(backboneSpecs({ name } as BackboneConfigInput)));
        const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
        const { features } = model.forward(x);
        expect(features.shape).toEqual([1, name.includes('vit') ? 512 : 2048]);
        expect(tf.tidy(() => tf.all(tf.isFinite(features)).dataSync()[0])).toBe(1);
        tf.dispose([x, features]);
        model.dispose();
      }, `${name}: build and forward`);
    });
  }
});
