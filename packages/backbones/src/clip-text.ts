/**
 * The CLIP text tower (OpenAI layout, used to pretrain a small CLIP on synthetic captions):
 * `token_embedding`, `positional_embedding`, causal pre-LN blocks, `ln_final`, pooling at the
 * end-of-text token (argmax of the token ids, as OpenAI CLIP), `text_projection`.
 */
import { tf, type Rng } from '@clip-senet/core';
import { SpecModule, type ParamSpec } from './module';
import { affineSpecs, layerNorm } from './ops';
import { runTransformer, transformerSpecs, type Activation } from './transformer';

/** Architecture of a CLIP text tower. */
export interface ClipTextArch {
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly outputDim: number;
  readonly activation: Activation;
}

/** Every tensor of the text tower (OpenAI full-model names). */
export function clipTextSpecs(a: ClipTextArch): ParamSpec[] {
  return [
    { name: 'token_embedding.weight', shape: [a.vocabSize, a.width], layout: 'plain', kind: 'param', init: { kind: 'normal', std: 0.02 } },
    { name: 'positional_embedding', shape: [a.contextLength, a.width], layout: 'plain', kind: 'param', init: { kind: 'normal', std: 0.01 } },
    ...transformerSpecs(a.width, a.layers),
    ...affineSpecs('ln_final', a.width),
    { name: 'text_projection', shape: [a.width, a.outputDim], layout: 'plain', kind: 'param', init: { kind: 'normal', std: a.width ** -0.5 } },
  ];
}

/** `[L, L]` additive causal mask: 0 on and below the diagonal, -1e9 above (PyTorch uses -inf). */
export function causalMask(l: number): tf.Tensor2D {
  const data = new Float32Array(l * l);
  for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) data[i * l + j] = -1e9;
  return tf.tensor2d(data, [l, l]);
}

/** CLIP text encoder. */
export class ClipTextTransformer extends SpecModule {
  readonly family = 'clip-text' as const;
  readonly arch: ClipTextArch;
  readonly featureDim: number;

  constructor(arch: ClipTextArch, rng: Rng) {
    if (arch.width % arch.heads !== 0) throw new Error(`ClipTextTransformer: width ${arch.width} not divisible by heads ${arch.heads}`);
    super(clipTextSpecs(arch), rng);
    this.arch = arch;
    this.featureDim = arch.outputDim;
  }

  /** Token ids `[N, L]` (int32, L ≤ contextLength) → projected text embedding `[N, outputDim]`. */
  forward(tokens: tf.Tensor2D): { features: tf.Tensor2D } {
    const { width: d, layers, heads, activation, contextLength } = this.arch;
    const [n, l] = tokens.shape;
    if (l > contextLength) throw new Error(`ClipTextTransformer: ${l} tokens exceed contextLength ${contextLength}`);
    return tf.tidy(() => {
      const ids = tf.cast(tokens, 'int32');
      const emb = tf.reshape(tf.gather(this.t('token_embedding.weight'), tf.reshape(ids, [n * l])), [n, l, d]); // [N·L, D] → [N, L, D]
      const pos = tf.slice(this.t('positional_embedding'), [0, 0], [l, d]); // [L, D]
      let x = tf.add(emb, pos) as tf.Tensor3D;
      x = runTransformer(this, x, layers, heads, activation, causalMask(l));
      x = layerNorm(x, this.t('ln_final.weight'), this.t('ln_final.bias')) as tf.Tensor3D;
      const eot = tf.add(tf.argMax(ids, 1), tf.range(0, n * l, l, 'int32')); // [N] flat index n·L + argmax
      const pooled = tf.gather(tf.reshape(x, [n * l, d]), eot) as tf.Tensor2D; // [N, L, D] → [N·L, D] → [N, D]
      return { features: tf.matMul(pooled, this.t('text_projection') as tf.Tensor2D) };
    });
  }
}
