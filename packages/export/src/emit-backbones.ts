/**
 * ONNX emitters of the two backbone implementations, walking each module's own structure (its architecture record
 * and tensor names, PAPER.md "Tensor walk-through"): the ResNet family (BasicBlock / Bottleneck, IBN-a's split
 * InstanceNorm + BatchNorm, ResNeXt's grouped 3×3 conv, SE gates, avg or GeM pooling) and the CLIP ViT image tower
 * (patch conv, class token, the position embedding resized to the export's input grid exactly as the tfjs forward
 * does, pre-LN attention blocks, `ln_post`, `proj`). ONNX tensors are NCHW; the tfjs modules are NHWC, so every
 * channel axis here is 1 where the module's is 3. Eval mode only (BatchNorm with running statistics).
 */
import { tf } from '@clip-senet/core';
import type { ClipVisionTransformer, ResNet } from '@clip-senet/backbones';
import { float, type OnnxGraph } from './onnx-graph';
import type { PartWeights } from './weights';

/** Eval-mode BatchNorm of `x` (NCHW or [N, C]) with `prefix.{weight,bias,running_mean,running_var}`. */
export function batchNorm(g: OnnxGraph, w: PartWeights, prefix: string, x: string, eps: number): string {
  const t = (k: string): string => w.init(prefix ? `${prefix}.${k}` : k);
  return g.op('BatchNormalization', [x, t('weight'), t('bias'), t('running_mean'), t('running_var')], { epsilon: float(eps) });
}

/** `x · W (+ b)` for a Linear stored `[in, out]` under `prefix` (any rank: MatMul broadcasts the leading axes). */
export function linear(g: OnnxGraph, w: PartWeights, prefix: string, x: string, bias = true): string {
  const y = g.op('MatMul', [x, w.init(`${prefix}.weight`)]);
  return bias && w.has(`${prefix}.bias`) ? g.op('Add', [y, w.init(`${prefix}.bias`)]) : y;
}

function conv(g: OnnxGraph, w: PartWeights, name: string, x: string, stride: number, pad: number, group = 1): string {
  const k = w.tensor(name).shape[0]!;
  return g.op('Conv', [x, w.init(name, 'conv')], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group });
}

const BN_EPS = 1e-5; // backbones' batchNorm / instanceNorm / layerNorm default

/** ResNet norm1 of a block: BatchNorm, or IBN-a (InstanceNorm on the first ⌊C/2⌋ channels, BatchNorm on the rest). */
function norm1(g: OnnxGraph, w: PartWeights, name: string, x: string, channels: number): string {
  if (!w.has(`${name}.IN.weight`)) return batchNorm(g, w, name, x, BN_EPS);
  const half = Math.floor(channels / 2);
  const [xi, xb] = g.nodeN('Split', [x, g.constInt64('split', [half, channels - half])], 2, { axis: 1 }); // [N,C,H,W] → [N,half,H,W], [N,C−half,H,W]
  const yi = g.op('InstanceNormalization', [xi!, w.init(`${name}.IN.weight`), w.init(`${name}.IN.bias`)], { epsilon: float(BN_EPS) });
  const yb = batchNorm(g, w, `${name}.BN`, xb!, BN_EPS);
  return g.op('Concat', [yi, yb], { axis: 1 }); // → [N,C,H,W]
}

/** Output channels of a conv weight (tfjs `[kh, kw, cin/g, cout]`). */
const outChannels = (w: PartWeights, name: string): number => w.tensor(name).shape[3]!;

/** Squeeze-excitation gate of block `p` (IBN-Net `SELayer`): x ⊙ σ(W₂ ReLU(W₁ GAP(x))). */
function squeezeExcite(g: OnnxGraph, w: PartWeights, p: string, x: string): string {
  const y = g.op('Flatten', [g.op('GlobalAveragePool', [x])], { axis: 1 }); // [N,C,H,W] → [N,C,1,1] → [N,C]
  const hidden = g.op('Relu', [linear(g, w, `${p}.se.fc.0`, y, false)]);
  const gate = g.op('Sigmoid', [linear(g, w, `${p}.se.fc.2`, hidden, false)]);
  return g.op('Mul', [x, g.op('Unsqueeze', [gate, g.constInt64('axes', [2, 3])])]); // [N,C] → [N,C,1,1]
}

/**
 * The ResNet family on NCHW `x` → pooled feature [N, featureDim]. Blocks are the module's `layer{s}.{b}` tensors;
 * the first block of a stage carries its stride (layer1: 1, layer2–3: 2, layer4: the arch's `lastStride`), as
 * torchvision and the tfjs forward.
 */
export function emitResNet(g: OnnxGraph, w: PartWeights, net: ResNet, x: string): string {
  const { arch } = net;
  let h = conv(g, w, 'conv1.weight', x, 2, 3);
  h = g.op('Relu', [batchNorm(g, w, 'bn1', h, BN_EPS)]);
  h = g.op('MaxPool', [h], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  for (let s = 0; s < 4; s++) {
    for (let b = 0; b < arch.layers[s]!; b++) {
      const p = `layer${s + 1}.${b}`;
      const stride = b > 0 || s === 0 ? 1 : s === 3 ? arch.lastStride : 2;
      let out: string;
      if (arch.block === 'basic') {
        out = conv(g, w, `${p}.conv1.weight`, h, stride, 1);
        out = g.op('Relu', [norm1(g, w, `${p}.bn1`, out, outChannels(w, `${p}.conv1.weight`))]);
        out = batchNorm(g, w, `${p}.bn2`, conv(g, w, `${p}.conv2.weight`, out, 1, 1), BN_EPS);
      } else {
        out = conv(g, w, `${p}.conv1.weight`, h, 1, 0);
        out = g.op('Relu', [norm1(g, w, `${p}.bn1`, out, outChannels(w, `${p}.conv1.weight`))]);
        out = g.op('Relu', [batchNorm(g, w, `${p}.bn2`, conv(g, w, `${p}.conv2.weight`, out, stride, 1, arch.groups), BN_EPS)]);
        out = batchNorm(g, w, `${p}.bn3`, conv(g, w, `${p}.conv3.weight`, out, 1, 0), BN_EPS);
      }
      if (arch.se) out = squeezeExcite(g, w, p, out);
      const residual = w.has(`${p}.downsample.0.weight`) ? batchNorm(g, w, `${p}.downsample.1`, conv(g, w, `${p}.downsample.0.weight`, h, stride, 0), BN_EPS) : h;
      h = g.op('Relu', [g.op('Add', [out, residual])]);
    }
  }
  if (arch.pooling === 'avg') return g.op('Flatten', [g.op('GlobalAveragePool', [h])], { axis: 1 }); // [N,C,H,W] → [N,C]
  if (arch.pooling !== 'gem') throw new Error(`ONNX export: no ONNX mapping for ResNet pooling '${String(arch.pooling)}'`);
  const p = w.init('gem.p'); // [1]
  const powered = g.op('Pow', [g.op('Max', [h, g.constFloat('gem_min', [1e-6], [])]), p]);
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [powered])], { axis: 1 });
  return g.op('Pow', [pooled, g.op('Reciprocal', [p])]); // GeM: (mean x^p)^(1/p)
}

/** The transformer MLP activation. */
function activation(g: OnnxGraph, kind: string, x: string): string {
  if (kind === 'gelu') {
    // x · 0.5 · (1 + erf(x / √2)), in the tfjs op order
    const erf = g.op('Erf', [g.op('Mul', [x, g.constFloat('sqrt1_2', [Math.SQRT1_2], [])])]);
    return g.op('Mul', [g.op('Mul', [x, g.constFloat('half', [0.5], [])]), g.op('Add', [erf, g.constFloat('one', [1], [])])]);
  }
  if (kind === 'quick-gelu') return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.constFloat('qg', [1.702], [])])])]);
  throw new Error(`ONNX export: no ONNX mapping for transformer activation '${kind}'`);
}

/** Multi-head self-attention of block `p` on `x` [N, L, D]. */
function attention(g: OnnxGraph, w: PartWeights, p: string, x: string, width: number, heads: number): string {
  const hd = width / heads;
  const qkv = g.op('Add', [g.op('MatMul', [x, w.init(`${p}.attn.in_proj_weight`)]), w.init(`${p}.attn.in_proj_bias`)]); // [N, L, 3D]
  const parts = g.nodeN('Split', [qkv, g.constInt64('split', [width, width, width])], 3, { axis: 2 });
  const headShape = g.constInt64('heads_shape', [0, 0, heads, hd]);
  const [q, k, v] = parts.map((t) => g.op('Transpose', [g.op('Reshape', [t, headShape])], { perm: [0, 2, 1, 3] })); // [N, L, D] → [N, L, H, hd] → [N, H, L, hd]
  const qs = g.op('Mul', [q!, g.constFloat('attn_scale', [hd ** -0.5], [])]);
  const scores = g.op('MatMul', [qs, g.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]); // [N, H, L, L]
  const out = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v!]); // [N, H, L, hd]
  const merged = g.op('Reshape', [g.op('Transpose', [out], { perm: [0, 2, 1, 3] }), g.constInt64('merge_shape', [0, 0, width])]); // → [N, L, H, hd] → [N, L, D]
  return linear(g, w, `${p}.attn.out_proj`, merged);
}

/**
 * The CLIP ViT image tower on NCHW `x` [N, 3, H, W] → projected embedding [N, outputDim]. The position embedding
 * is the module's own `positionalEmbedding(gh, gw)` for the export's input grid (bicubic-resized when the grid
 * differs from pretraining), baked in as a constant.
 */
export function emitClipVit(g: OnnxGraph, w: PartWeights, vit: ClipVisionTransformer, x: string, inputSize: readonly [number, number]): string {
  const { width: d, patchSize: ps, layers, heads } = vit.arch;
  const [h, wd] = inputSize;
  if (h % ps !== 0 || wd % ps !== 0) throw new Error(`ONNX export: SEM input ${h}×${wd} is not a multiple of patch ${ps}`);
  const gh = h / ps;
  const gw = wd / ps;
  const patches = conv(g, w, 'conv1.weight', x, ps, 0); // [N, D, gh, gw]
  const seq = g.op('Transpose', [g.op('Reshape', [patches, g.constInt64('seq_shape', [0, d, -1])])], { perm: [0, 2, 1] }); // → [N, D, gh·gw] → [N, gh·gw, D]
  const clsName = 'sem.class_embedding#token';
  const clsConst = g.hasInitializer(clsName) ? clsName : g.initFloat(clsName, w.tensor('class_embedding').dataSync() as Float32Array, [1, 1, d]);
  const batch = g.op('Gather', [g.op('Shape', [x]), g.constInt64('zero', [0])], { axis: 0 }); // [N]
  const cls = g.op('Expand', [clsConst, g.op('Concat', [batch, g.constInt64('one_d', [1, d])], { axis: 0 })]); // [1, 1, D] → [N, 1, D]
  w.tensor('positional_embedding');
  const posName = `sem.positional_embedding@${gh}x${gw}`;
  if (!g.hasInitializer(posName)) g.initFloat(posName, tf.tidy(() => vit.positionalEmbedding(gh, gw).dataSync() as Float32Array), [1 + gh * gw, d]);
  let tokens = g.op('Add', [g.op('Concat', [cls, seq], { axis: 1 }), posName]); // [N, 1 + gh·gw, D]
  tokens = g.layerNorm(tokens, w.init('ln_pre.weight'), w.init('ln_pre.bias'), BN_EPS);
  for (let i = 0; i < layers; i++) {
    const p = `transformer.resblocks.${i}`;
    const a = attention(g, w, p, g.layerNorm(tokens, w.init(`${p}.ln_1.weight`), w.init(`${p}.ln_1.bias`), BN_EPS), d, heads);
    tokens = g.op('Add', [tokens, a]);
    const y = g.layerNorm(tokens, w.init(`${p}.ln_2.weight`), w.init(`${p}.ln_2.bias`), BN_EPS);
    const hidden = activation(g, vit.arch.activation, linear(g, w, `${p}.mlp.c_fc`, y));
    tokens = g.op('Add', [tokens, linear(g, w, `${p}.mlp.c_proj`, hidden)]);
  }
  const first = g.op('Gather', [tokens, g.constInt64('cls_index', [0], [])], { axis: 1 }); // [N, L, D] → [N, D]
  const clsOut = g.layerNorm(first, w.init('ln_post.weight'), w.init('ln_post.bias'), BN_EPS);
  return g.op('MatMul', [clsOut, w.init('proj')]);
}
