/**
 * Functional building blocks over explicit tensors (tfjs NHWC), written in functional style
 * (`tf.mul(a, b)`, never chained methods) and avoiding tfjs ops with broken gradients
 * (`tf.moments` uses a broadcasting squaredDifference whose gradient is wrong, so moments are
 * computed as `mean(square(x - mean))`; no strided slices).
 */
import { batchNormTrain, groupedConv2d, tf, type Module } from '@clip-senet/core';
import type { ParamSpec } from './module';

// ---------------------------------------------------------------------------------------------------
// Spec helpers (PyTorch default inits where it matters for tests; pretrained weights replace them)

/** Conv weight `[k, k, cin/groups, cout]` (kaiming-normal fan_out, as torchvision) and optional bias. */
export function convSpecs(name: string, k: number, cin: number, cout: number, opts: { groups?: number; bias?: boolean; std?: number } = {}): ParamSpec[] {
  const groups = opts.groups ?? 1;
  const std = opts.std ?? Math.sqrt(2 / (k * k * cout));
  const specs: ParamSpec[] = [{ name: `${name}.weight`, shape: [k, k, cin / groups, cout], layout: 'conv', kind: 'param', init: { kind: 'normal', std } }];
  if (opts.bias) specs.push({ name: `${name}.bias`, shape: [cout], layout: 'plain', kind: 'param', init: { kind: 'const', value: 0 } });
  return specs;
}

/** BatchNorm2d: affine `weight`/`bias` + `running_mean`/`running_var` buffers. */
export function bnSpecs(name: string, c: number): ParamSpec[] {
  return [
    { name: `${name}.weight`, shape: [c], layout: 'plain', kind: 'param', init: { kind: 'const', value: 1 } },
    { name: `${name}.bias`, shape: [c], layout: 'plain', kind: 'param', init: { kind: 'const', value: 0 } },
    { name: `${name}.running_mean`, shape: [c], layout: 'plain', kind: 'buffer', init: { kind: 'const', value: 0 } },
    { name: `${name}.running_var`, shape: [c], layout: 'plain', kind: 'buffer', init: { kind: 'const', value: 1 } },
  ];
}

/** Affine norm without running stats (LayerNorm, affine InstanceNorm). */
export function affineSpecs(name: string, c: number): ParamSpec[] {
  return [
    { name: `${name}.weight`, shape: [c], layout: 'plain', kind: 'param', init: { kind: 'const', value: 1 } },
    { name: `${name}.bias`, shape: [c], layout: 'plain', kind: 'param', init: { kind: 'const', value: 0 } },
  ];
}

/** Linear `[in, out]` weight (PyTorch `[out, in]`) and optional bias. */
export function linearSpecs(name: string, cin: number, cout: number, opts: { bias?: boolean; std?: number } = {}): ParamSpec[] {
  const std = opts.std ?? 1 / Math.sqrt(cin);
  const specs: ParamSpec[] = [{ name: `${name}.weight`, shape: [cin, cout], layout: 'linear', kind: 'param', init: { kind: 'normal', std } }];
  if (opts.bias ?? true) specs.push({ name: `${name}.bias`, shape: [cout], layout: 'plain', kind: 'param', init: { kind: 'const', value: 0 } });
  return specs;
}

// ---------------------------------------------------------------------------------------------------
// Ops

/** Mean and biased variance over `axes` (kept dims), gradient-safe. */
export function moments(x: tf.Tensor, axes: number[]): { mean: tf.Tensor; variance: tf.Tensor } {
  const mean = tf.mean(x, axes, true);
  const variance = tf.mean(tf.square(tf.sub(x, mean)), axes, true);
  return { mean, variance };
}

/**
 * PyTorch-style conv2d on NHWC: symmetric zero padding `pad`, optional `groups` — core's `groupedConv2d` (one oneDNN
 * primitive where the native kernels are active, else exactly split / conv / concat).
 */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor, stride: number, pad: number, groups = 1, bias?: tf.Tensor): tf.Tensor4D {
  const y = groups === 1 ? tf.conv2d(x, w as tf.Tensor4D, stride, pad) : groupedConv2d(x, w as tf.Tensor4D, stride, pad, groups);
  return bias ? (tf.add(y, bias) as tf.Tensor4D) : y;
}

/** Max pool with PyTorch symmetric padding (padded cells never win, like PyTorch's -inf padding). */
export function maxPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  return tf.maxPool(x, k, stride, pad);
}

/**
 * BatchNorm over the channel (last) axis. Train mode: normalise with batch statistics (core's `batchNormTrain`: fused
 * native kernels where the addon is active, else exactly the tf-op composition `mean`, `mean(square(x − mean))`, …)
 * and update the module's running stats in place (momentum 0.1, unbiased variance, as PyTorch). Eval: running stats.
 */
export function batchNorm(m: Module, name: string, x: tf.Tensor, training: boolean, eps = 1e-5, momentum = 0.1): tf.Tensor {
  return batchNormAct(m, name, x, training, false, eps, momentum);
}

/** `relu(batchNorm(…))`, the ReLU folded into the fused training kernels where they are active (one pass fewer each way). */
export function batchNormRelu(m: Module, name: string, x: tf.Tensor, training: boolean, eps = 1e-5, momentum = 0.1): tf.Tensor {
  return batchNormAct(m, name, x, training, true, eps, momentum);
}

function batchNormAct(m: Module, name: string, x: tf.Tensor, training: boolean, relu: boolean, eps: number, momentum: number): tf.Tensor {
  const gamma = m.t(`${name}.weight`);
  const beta = m.t(`${name}.bias`);
  const rm = m.t(`${name}.running_mean`);
  const rv = m.t(`${name}.running_var`);
  if (training) {
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, { epsilon: eps, relu });
    const n = x.size / x.shape[x.rank - 1]!;
    rm.assign(tf.add(tf.mul(rm, 1 - momentum), tf.mul(mean, momentum)));
    rv.assign(tf.add(tf.mul(rv, 1 - momentum), tf.mul(variance, (momentum * n) / Math.max(n - 1, 1))));
    return y;
  }
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(rv, eps)));
  const shift = tf.sub(beta, tf.mul(rm, scale));
  const y = tf.add(tf.mul(x, scale), shift);
  return relu ? tf.relu(y) : y;
}

/** Affine InstanceNorm2d on NHWC (statistics per sample and channel over H, W; no running stats). */
export function instanceNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor4D {
  const { mean, variance } = moments(x, [1, 2]);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** LayerNorm over the last axis. */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  const { mean, variance } = moments(x, [x.rank - 1]);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

/** `x · W + b` over the last axis for any rank (W in `[in, out]` layout). */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const cin = x.shape[x.rank - 1]!;
  const cout = w.shape[1]!;
  const lead = x.shape.slice(0, -1);
  const x2 = tf.reshape(x, [-1, cin]); // [..., in] → [M, in]
  let y: tf.Tensor = tf.matMul(x2 as tf.Tensor2D, w as tf.Tensor2D);
  if (b) y = tf.add(y, b);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, cout]); // [M, out] → [..., out]
}

/** Exact GELU `x · Φ(x) = 0.5 x (1 + erf(x/√2))` (PyTorch `nn.GELU()`). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** OpenAI CLIP's QuickGELU `x · σ(1.702 x)`. */
export function quickGelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}
