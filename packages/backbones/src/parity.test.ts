/**
 * Parity with PyTorch: fixtures built by scripts/make_parity_fixtures.py (torchvision ResNet, the official
 * IBN-Net block structure, OpenAI-layout CLIP towers, random weights) loaded through buildBackbone +
 * loadWeights must reproduce PyTorch's outputs within 1e-4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '@clip-senet/core';
import { buildBackbone, buildTextEncoder } from './registry';
import type { BackboneConfigInput } from './config';
import type { ResNet } from './resnet';
import type { ClipVisionTransformer } from './clip-vit';
import { loadWeights, type WeightModel } from './weights';
import { toTorchData } from './module';
import { fixturePath, maxAbsDiff, readFixtureRaw, readFixtureTensors, scaledMaxDiff } from './testing';

const TOL = 1e-4;

beforeAll(async () => {
  await initBackend('auto', { log: null });
});

const cnnCases: Array<[string, BackboneConfigInput, boolean]> = [
  ['resnet-basic', { name: 'resnet', block: 'basic', layers: [1, 1, 1, 1], baseWidth: 8, lastStride: 2 }, true],
  ['resnet-bottleneck-ls1', { name: 'resnet', block: 'bottleneck', layers: [1, 2, 1, 1], baseWidth: 8, lastStride: 1 }, true],
  ['resnext-tv', { name: 'resnet', block: 'bottleneck', layers: [1, 1, 1, 1], baseWidth: 8, groups: 4, widthPerGroup: 16, lastStride: 2 }, false],
  ['resnet-ibn-a', { name: 'resnet', block: 'bottleneck', layers: [1, 2, 1, 1], baseWidth: 8, ibn: true, lastStride: 2 }, true],
  ['resnext-ibn-a', { name: 'resnet', block: 'bottleneck', layers: [1, 1, 1, 1], baseWidth: 8, ibn: true, groups: 4, widthPerGroup: 16, lastStride: 2 }, true],
  ['se-resnet-ibn-a', { name: 'resnet', block: 'bottleneck', layers: [1, 1, 1, 1], baseWidth: 8, ibn: true, se: true, seReduction: 4, lastStride: 1 }, false],
];

describe('CNN parity with PyTorch', () => {
  for (const [name, config, trainStep] of cnnCases) {
    it(`${name}: eval${trainStep ? ' + train-mode BN (batch stats, running-stat update)' : ''}`, () => {
      const io = readFixtureTensors(`${name}.io.safetensors`);
      const model = buildBackbone(config) as ResNet;
      const report = loadWeights(model, fixturePath(`${name}.safetensors`), { format: name.includes('ibn') ? 'ibn-net' : 'torchvision' });
      expect(report.loaded.length).toBe(model.specs.size);
      expect(report.ignored).toEqual(expect.arrayContaining(name.includes('ibn') ? [] : ['fc.weight', 'fc.bias']));
      const x = io.get('input') as tf.Tensor4D;
      const out = model.forward(x);
      expect(maxAbsDiff(out.features, io.get('output')!)).toBeLessThan(TOL);
      out.features.dispose();
      if (trainStep) {
        const tr = model.forward(x, { training: true });
        expect(maxAbsDiff(tr.features, io.get('train_output')!)).toBeLessThan(TOL);
        tr.features.dispose();
        let checked = 0;
        for (const [k, v] of io) {
          if (!k.startsWith('after.')) continue;
          const scale = Math.max(1, tf.tidy(() => tf.max(tf.abs(v)).dataSync()[0]!));
          expect(maxAbsDiff(model.t(k.slice('after.'.length)), v) / scale, k).toBeLessThan(TOL); // relative for large variances
          checked++;
        }
        expect(checked).toBe(model.buffers.size);
      }
      model.dispose();
      io.forEach((t) => t.dispose());
    });
  }

  it('resnet-basic from an F16 file matches PyTorch with f16-rounded weights', () => {
    const io = readFixtureTensors('resnet-basic.io.safetensors');
    const model = buildBackbone(cnnCases[0]![1]) as ResNet;
    loadWeights(model, fixturePath('resnet-basic.f16.safetensors'));
    const out = model.forward(io.get('input') as tf.Tensor4D);
    expect(maxAbsDiff(out.features, io.get('output_f16')!)).toBeLessThan(TOL);
    out.features.dispose();
    model.dispose();
    io.forEach((t) => t.dispose());
  });
});

const gelu = { name: 'clip-vit', width: 64, layers: 2, heads: 2, patchSize: 8, imageSize: 32, outputDim: 32, activation: 'gelu' } as const;

describe('CLIP parity with PyTorch', () => {
  it('ViT (GELU) from a full OpenAI CLIP file: embedding, CLS, bicubic position-embedding resize (plain and antialiased)', () => {
    const io = readFixtureTensors('clip-gelu.io.safetensors');
    for (const aa of [false, true]) {
      const model = buildBackbone({ ...gelu, posInterpAntialias: aa }) as ClipVisionTransformer;
      const report = loadWeights(model, fixturePath('clip-gelu.safetensors'), { format: 'openai' });
      expect(report.ignored).toEqual(expect.arrayContaining(['logit_scale', 'token_embedding.weight', 'text_projection']));
      const tag = aa ? '_aa' : '';
      if (!aa) {
        const out = model.forward(io.get('input') as tf.Tensor4D, { returnCls: true });
        expect(maxAbsDiff(out.features, io.get('output')!)).toBeLessThan(TOL);
        expect(maxAbsDiff(out.cls!, io.get('cls')!)).toBeLessThan(TOL);
        tf.dispose([out.features, out.cls!]);
      }
      for (const size of ['48', '24']) {
        const out = model.forward(io.get(`input${size}`) as tf.Tensor4D);
        expect(maxAbsDiff(out.features, io.get(`output${size}${tag}`)!), `${size}${tag}`).toBeLessThan(TOL);
        out.features.dispose();
      }
      model.dispose();
    }
    io.forEach((t) => t.dispose());
  });

  it('text tower (causal, EOT pooling) from the same full CLIP file', () => {
    const io = readFixtureTensors('clip-gelu.io.safetensors');
    const text = buildTextEncoder({ name: 'clip-text', vocabSize: 50, contextLength: 8, width: 32, layers: 2, heads: 2, outputDim: 32 });
    const report = loadWeights(text, fixturePath('clip-gelu.safetensors'));
    expect(report.ignored.every((k) => k.startsWith('visual.') || k === 'logit_scale')).toBe(true);
    const out = text.forward(io.get('tokens') as tf.Tensor2D);
    expect(maxAbsDiff(out.features, io.get('text_output')!)).toBeLessThan(TOL);
    out.features.dispose();
    text.dispose();
    io.forEach((t) => t.dispose());
  });

  const quick = { name: 'clip-vit', width: 32, layers: 2, heads: 2, patchSize: 8, imageSize: 32, outputDim: 16, activation: 'quick-gelu' } as const;
  const layouts: Array<[string, 'openai' | 'open_clip' | 'tinyclip' | 'hf-clip', string]> = [
    ['openai', 'openai', 'output'],
    ['bare', 'open_clip', 'output'],
    ['tinyclip', 'tinyclip', 'output'],
    ['hf', 'hf-clip', 'output'],
    ['bf16', 'openai', 'output_bf16'],
    ['pth', 'openai', 'output'], // torch.save zip, {state_dict: {module.visual.*}}, one strided tensor
  ];
  for (const [file, format, expected] of layouts) {
    for (const fmt of [format, 'auto'] as const) {
      it(`ViT (QuickGELU) from the ${file} layout, format '${fmt}'`, () => {
        const io = readFixtureTensors('vit-quickgelu.io.safetensors');
        const model = buildBackbone(quick) as ClipVisionTransformer;
        const report = loadWeights(model, fixturePath(file === 'pth' ? 'vit-quickgelu.pth' : `vit-quickgelu.${file}.safetensors`), { format: fmt });
        if (fmt === 'auto') expect(report.format).toBe(format === 'open_clip' ? 'openai' : format);
        const out = model.forward(io.get('input') as tf.Tensor4D);
        expect(maxAbsDiff(out.features, io.get(expected)!)).toBeLessThan(TOL);
        out.features.dispose();
        model.dispose();
        io.forEach((t) => t.dispose());
      });
    }
  }
});

/** Train-mode gradients of `sum(features ⊙ R)` for the parameters PyTorch recorded under `<prefix>.<name>`. */
function checkGrads(model: WeightModel, prefix: string, io: string, forward: () => tf.Tensor): void {
  const raw = readFixtureRaw(io);
  const r = raw.get(`${prefix}_proj`)!;
  const names = [...raw.keys()].filter((k) => k.startsWith(`${prefix}.`)).map((k) => k.slice(prefix.length + 1));
  expect(names.length).toBeGreaterThan(3);
  const vars = names.map((n) => model.params.get(n)!);
  const proj = tf.tensor(r.data, r.shape);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), proj)) as tf.Scalar, vars);
  for (const n of names) {
    const ours = toTorchData(grads[model.params.get(n)!.name]!, model.specs.get(n)!.layout);
    expect(scaledMaxDiff(ours, raw.get(`${prefix}.${n}`)!.data), n).toBeLessThan(TOL);
  }
  tf.dispose([value, proj, ...Object.values(grads)]);
}

describe('gradient parity with PyTorch (train mode)', () => {
  it('ResNeXt-IBN-a: conv, grouped conv, IN and train-mode BN gradients', () => {
    const io = readFixtureTensors('resnext-ibn-a.io.safetensors');
    const model = buildBackbone(cnnCases[4]![1]) as ResNet;
    loadWeights(model, fixturePath('resnext-ibn-a.safetensors'));
    checkGrads(model, 'grad', 'resnext-ibn-a.io.safetensors', () => model.forward(io.get('input') as tf.Tensor4D, { training: true }).features);
    model.dispose();
    io.forEach((t) => t.dispose());
  });

  it('ViT at a resized grid (gradients through the bicubic position embedding) and the text tower', () => {
    const io = readFixtureTensors('clip-gelu.io.safetensors');
    const vit = buildBackbone(gelu) as ClipVisionTransformer;
    loadWeights(vit, fixturePath('clip-gelu.safetensors'));
    checkGrads(vit, 'vit_grad', 'clip-gelu.io.safetensors', () => vit.forward(io.get('input48') as tf.Tensor4D, { training: true }).features);
    const text = buildTextEncoder({ name: 'clip-text', vocabSize: 50, contextLength: 8, width: 32, layers: 2, heads: 2, outputDim: 32 });
    loadWeights(text, fixturePath('clip-gelu.safetensors'));
    checkGrads(text, 'text_grad', 'clip-gelu.io.safetensors', () => text.forward(io.get('tokens') as tf.Tensor2D).features);
    vit.dispose();
    text.dispose();
    io.forEach((t) => t.dispose());
  });
});
