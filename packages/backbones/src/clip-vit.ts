/**
 * The CLIP image encoder (paper §SEM: TinyCLIP / OpenAI ViT) in the OpenAI layout: `conv1` patch
 * embedding without bias, `class_embedding`, `positional_embedding`, `ln_pre`, pre-LN blocks,
 * `ln_post` on the CLS token, `proj`. Inputs whose grid differs from the pretraining grid use a bicubic
 * resampling of the position-embedding grid (as open_clip `resize_pos_embed`), differentiable in the
 * learned grid. Input NHWC, already CLIP-normalised.
 */
import { tf, type ForwardOptions, type Rng } from '@clip-senet/core';
import { SpecModule, type ParamSpec } from './module';
import { affineSpecs, conv2d, layerNorm } from './ops';
import { resizeGrid } from './interpolate';
import { runTransformer, transformerSpecs, type Activation } from './transformer';

/** Architecture of a CLIP ViT image tower. */
export interface ClipVitArch {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly patchSize: number;
  /** Pretraining resolution (sets the size of `positional_embedding`). */
  readonly imageSize: number;
  /** Dimension of the projected embedding (`proj` columns). */
  readonly outputDim: number;
  readonly activation: Activation;
  /** Use PyTorch's antialiased bicubic when resizing the position grid (open_clip default). */
  readonly posInterpAntialias: boolean;
}

/** Output of a CLIP image forward pass. */
export interface ClipVitOutput {
  /** Projected embedding `ln_post(CLS) · proj`, `[N, outputDim]`. */
  readonly features: tf.Tensor2D;
  /** `ln_post(CLS)` before projection, `[N, width]` (on request). */
  readonly cls?: tf.Tensor2D;
  /** Final tokens (after the last block, before `ln_post`), `[N, 1 + gh·gw, width]` (on request). */
  readonly tokens?: tf.Tensor3D;
}

/** Every tensor of the image tower, OpenAI names (without the `visual.` prefix). */
export function clipVitSpecs(a: ClipVitArch): ParamSpec[] {
  const grid = a.imageSize / a.patchSize;
  const scale = a.width ** -0.5;
  return [
    { name: 'conv1.weight', shape: [a.patchSize, a.patchSize, 3, a.width], layout: 'conv', kind: 'param', init: { kind: 'normal', std: 0.02 } },
    { name: 'class_embedding', shape: [a.width], layout: 'plain', kind: 'param', init: { kind: 'normal', std: scale } },
    { name: 'positional_embedding', shape: [grid * grid + 1, a.width], layout: 'plain', kind: 'param', init: { kind: 'normal', std: scale } },
    ...affineSpecs('ln_pre', a.width),
    ...transformerSpecs(a.width, a.layers),
    ...affineSpecs('ln_post', a.width),
    { name: 'proj', shape: [a.width, a.outputDim], layout: 'plain', kind: 'param', init: { kind: 'normal', std: scale } },
  ];
}

/** CLIP ViT image encoder. */
export class ClipVisionTransformer extends SpecModule {
  readonly family = 'clip-vit' as const;
  readonly arch: ClipVitArch;
  /** Dimension of `features` (the projected embedding). */
  readonly featureDim: number;

  constructor(arch: ClipVitArch, rng: Rng) {
    if (arch.width % arch.heads !== 0) throw new Error(`ClipVisionTransformer: width ${arch.width} not divisible by heads ${arch.heads}`);
    if (arch.imageSize % arch.patchSize !== 0) throw new Error(`ClipVisionTransformer: imageSize ${arch.imageSize} not divisible by patchSize ${arch.patchSize}`);
    super(clipVitSpecs(arch), rng);
    this.arch = arch;
    this.featureDim = arch.outputDim;
  }

  /** Position embeddings for a `gh × gw` grid `[1 + gh·gw, width]` (bicubic-resized when needed). */
  positionalEmbedding(gh: number, gw: number): tf.Tensor2D {
    const g = this.arch.imageSize / this.arch.patchSize;
    const pos = this.t('positional_embedding') as tf.Variable<tf.Rank.R2>;
    if (gh === g && gw === g) return pos;
    return tf.tidy(() => {
      const d = this.arch.width;
      const cls = tf.slice(pos, [0, 0], [1, d]); // [1, D]
      const grid = tf.slice(pos, [1, 0], [g * g, d]) as tf.Tensor2D; // [g·g, D]
      return tf.concat([cls, resizeGrid(grid, [g, g], [gh, gw], this.arch.posInterpAntialias)], 0); // [1 + gh·gw, D]
    });
  }

  /** `x` `[N, H, W, 3]` (H, W multiples of patchSize) → projected embedding (and CLS/tokens on request). */
  forward(x: tf.Tensor4D, opts: ForwardOptions & { returnCls?: boolean; returnTokens?: boolean } = {}): ClipVitOutput {
    const { width: d, patchSize: ps, layers, heads, activation } = this.arch;
    const [n, h, w] = x.shape;
    if (h % ps !== 0 || w % ps !== 0) throw new Error(`ClipVisionTransformer: input ${h}×${w} is not a multiple of patch ${ps}`);
    return tf.tidy(() => {
      const gh = h / ps;
      const gw = w / ps;
      const patches = conv2d(x, this.t('conv1.weight'), ps, 0); // [N, gh, gw, D]
      const seq = tf.reshape(patches, [n, gh * gw, d]); // [N, gh, gw, D] → [N, gh·gw, D]
      const cls = tf.tile(tf.reshape(this.t('class_embedding'), [1, 1, d]), [n, 1, 1]); // [D] → [1, 1, D] → [N, 1, D]
      let tokens = tf.add(tf.concat([cls, seq], 1), this.positionalEmbedding(gh, gw)) as tf.Tensor3D; // [N, 1 + gh·gw, D]
      tokens = layerNorm(tokens, this.t('ln_pre.weight'), this.t('ln_pre.bias')) as tf.Tensor3D;
      tokens = runTransformer(this, tokens, layers, heads, activation);
      const first = tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, d]), [n, d]); // [N, 1, D] → [N, D]
      const clsOut = layerNorm(first, this.t('ln_post.weight'), this.t('ln_post.bias')) as tf.Tensor2D;
      const features = tf.matMul(clsOut, this.t('proj') as tf.Tensor2D) as tf.Tensor2D;
      return {
        features,
        ...(opts.returnCls ? { cls: clsOut } : {}),
        ...(opts.returnTokens ? { tokens } : {}),
      };
    });
  }
}
