/**
 * Smoke mode: the same experiment with every backbone swapped for the `tiny` preset of its family, 32² inputs
 * and no pretrained weights — everything else (fusion, AFEM groups, CV tables, neck, losses, train, eval, data)
 * as written. Building the full paper architecture (ResNeXt101-IBN-a + TinyCLIP ViT-40M/32) takes ≈ 7 s and
 * ≈ 360 MB on the tfjs cpu backend, too much for every config in a test run; the tiny presets build in
 * milliseconds, so every config can be built and run forward. The full architecture names are checked against
 * the backbone registry separately (configs.test.ts).
 */
import { Rng, tf, type Tensor1D, type Tensor4D } from '@clip-senet/core';
import { buildModel, type ModelConfig } from '@clip-senet/engine';
import type { ExperimentConfig } from './config';

type Backbone = ModelConfig['appearance']['backbone'];

/** Input side length of smoke mode (the tiny ViT's native size). */
export const SMOKE_INPUT = 32;

/** The tiny CNN preset of a CNN's family (plain ResNet, IBN-a, ResNeXt-IBN-a, SE-ResNet-IBN-a). */
export function tinyCnnOf(b: Backbone): Backbone {
  if (b.name === 'clip-vit' || !('lastStride' in b)) throw new Error(`smoke: '${b.name}' is not a CNN`);
  const knobs = { lastStride: b.lastStride, pooling: b.pooling, gemP: b.gemP };
  const se = b.name === 'resnet' ? b.se : b.name.startsWith('se-');
  const grouped = b.name === 'resnet' ? b.groups > 1 : b.name.startsWith('resnext');
  const ibn = b.name === 'resnet' ? b.ibn : b.name.includes('ibn');
  const name = se ? 'se-resnet-tiny-ibn-a' : grouped ? 'resnext-tiny-ibn-a' : ibn ? 'resnet-tiny-ibn-a' : 'resnet-tiny';
  return { name, ...knobs };
}

/** The tiny CLIP ViT preset (`clip-vit-tiny`), keeping an explicit activation / interpolation knob. */
export function tinyVitOf(b: Backbone): Backbone {
  if (!('posInterpAntialias' in b)) throw new Error(`smoke: '${b.name}' is not a CLIP ViT`);
  return { name: 'clip-vit-tiny', posInterpAntialias: b.posInterpAntialias, ...('activation' in b && b.activation ? { activation: b.activation } : {}) };
}

/** The smoke-mode version of a config (see the module header). */
export function smokeConfig(config: ExperimentConfig): ExperimentConfig {
  const size: [number, number] = [SMOKE_INPUT, SMOKE_INPUT];
  const m = config.model;
  const model: ModelConfig = {
    ...m,
    appearance: { ...m.appearance, backbone: tinyCnnOf(m.appearance.backbone), weights: null, input: { ...m.appearance.input, size } },
    sem: m.sem === null ? null : { ...m.sem, backbone: tinyVitOf(m.sem.backbone), weights: null, input: { ...m.sem.input, size } },
  };
  return { ...config, model };
}

/**
 * Build a config's model in smoke mode and run one forward pass on `batch` random images (camera / view ids when
 * the fusion uses them); returns the retrieval features. Every tensor is freed, the model included.
 */
export function smokeForward(config: ExperimentConfig, options: { numClasses?: number; seed?: number; batch?: number } = {}): number[][] {
  const smoke = smokeConfig(config);
  const n = options.batch ?? 2;
  const model = buildModel(smoke.model, { numClasses: options.numClasses ?? 5, rng: new Rng(options.seed ?? 0), log: null });
  try {
    model.eval();
    const cv = smoke.model.fusion.cameraView;
    return tf.tidy(() => {
      const image = (): Tensor4D => tf.randomUniform([n, SMOKE_INPUT, SMOKE_INPUT, 3], -1, 1, 'float32', 1) as Tensor4D;
      const ids = (): Tensor1D => tf.tensor1d(Array.from({ length: n }, (_, i) => i % 2), 'int32');
      return model
        .forward({
          appearance: image(),
          ...(model.sem ? { semantic: image() } : {}),
          ...(cv && cv.numCameras > 0 ? { cameraIds: ids() } : {}),
          ...(cv && cv.numViews > 0 ? { viewIds: ids() } : {}),
        })
        .features.arraySync();
    });
  } finally {
    model.dispose();
  }
}
