/**
 * The pre-LN residual attention block shared by the CLIP image and text towers, in the OpenAI CLIP
 * layout: `x + attn(ln_1(x))`, `x + mlp(ln_2(x))`, fused `attn.in_proj_weight` (q, k, v stacked), `attn.out_proj`,
 * `mlp.c_fc` → activation → `mlp.c_proj`.
 */
import { tf, type Module } from '@clip-senet/core';
import type { ParamSpec } from './module';
import { affineSpecs, gelu, layerNorm, linear, linearSpecs, quickGelu } from './ops';

/** MLP activation: exact GELU (TinyCLIP, open_clip) or QuickGELU (OpenAI ViT-B). */
export type Activation = 'gelu' | 'quick-gelu';

/** Specs of `transformer.resblocks.0…layers-1` (OpenAI CLIP init scales). */
export function transformerSpecs(width: number, layers: number, mlpRatio = 4): ParamSpec[] {
  const attnStd = width ** -0.5;
  const projStd = attnStd * (2 * layers) ** -0.5;
  const fcStd = (2 * width) ** -0.5;
  const hidden = width * mlpRatio;
  const specs: ParamSpec[] = [];
  for (let i = 0; i < layers; i++) {
    const p = `transformer.resblocks.${i}`;
    specs.push(
      ...affineSpecs(`${p}.ln_1`, width),
      { name: `${p}.attn.in_proj_weight`, shape: [width, 3 * width], layout: 'linear', kind: 'param', init: { kind: 'normal', std: attnStd } },
      { name: `${p}.attn.in_proj_bias`, shape: [3 * width], layout: 'plain', kind: 'param', init: { kind: 'const', value: 0 } },
      ...linearSpecs(`${p}.attn.out_proj`, width, width, { std: projStd }),
      ...affineSpecs(`${p}.ln_2`, width),
      ...linearSpecs(`${p}.mlp.c_fc`, width, hidden, { std: fcStd }),
      ...linearSpecs(`${p}.mlp.c_proj`, hidden, width, { std: projStd }),
    );
  }
  return specs;
}

/** Multi-head self-attention of block `p` on `x` `[N, L, D]`; `mask` `[L, L]` is added to the scores. */
function attention(m: Module, p: string, x: tf.Tensor3D, heads: number, mask?: tf.Tensor2D): tf.Tensor3D {
  const [n, l, d] = x.shape;
  const hd = d / heads;
  const qkv = linear(x, m.t(`${p}.attn.in_proj_weight`), m.t(`${p}.attn.in_proj_bias`)); // [N, L, 3D]
  const [q, k, v] = tf.split(qkv, 3, 2).map(
    (t) => tf.transpose(tf.reshape(t, [n, l, heads, hd]), [0, 2, 1, 3]), // [N, L, D] → [N, L, H, hd] → [N, H, L, hd]
  );
  let scores = tf.matMul(tf.mul(q!, hd ** -0.5), k!, false, true); // [N, H, L, L]
  if (mask) scores = tf.add(scores, mask);
  const out = tf.matMul(tf.softmax(scores), v!); // [N, H, L, hd]
  const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [n, l, d]); // [N, H, L, hd] → [N, L, H, hd] → [N, L, D]
  return linear(merged, m.t(`${p}.attn.out_proj.weight`), m.t(`${p}.attn.out_proj.bias`)) as tf.Tensor3D;
}

/** Run all `layers` blocks over `x` `[N, L, D]`. */
export function runTransformer(m: Module, x: tf.Tensor3D, layers: number, heads: number, activation: Activation, mask?: tf.Tensor2D): tf.Tensor3D {
  const act = activation === 'gelu' ? gelu : quickGelu;
  let h = x;
  for (let i = 0; i < layers; i++) {
    const p = `transformer.resblocks.${i}`;
    h = tf.add(h, attention(m, p, layerNorm(h, m.t(`${p}.ln_1.weight`), m.t(`${p}.ln_1.bias`)) as tf.Tensor3D, heads, mask));
    const y = layerNorm(h, m.t(`${p}.ln_2.weight`), m.t(`${p}.ln_2.bias`));
    const hidden = act(linear(y, m.t(`${p}.mlp.c_fc.weight`), m.t(`${p}.mlp.c_fc.bias`)));
    h = tf.add(h, linear(hidden, m.t(`${p}.mlp.c_proj.weight`), m.t(`${p}.mlp.c_proj.bias`)));
  }
  return h;
}
