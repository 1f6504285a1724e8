/**
 * The CNN appearance branch (paper §Architecture, Table VI): one parameterised ResNet covering
 * ResNet-18/34 (BasicBlock), ResNet-50/101 (Bottleneck), ResNeXt (grouped 3×3 conv), IBN-a (the first
 * norm of every block in layers 1–3 is `IBN`: InstanceNorm on floor(C/2) channels + BN on the rest, as
 * the official IBN-Net code) and SE blocks (IBN-Net `SELayer`, applied after bn3 before the residual).
 * Tensor names are the torchvision / IBN-Net state-dict keys; the FC head is not part of the backbone.
 * Input NHWC; output the pooled feature `[N, C]` plus the named stage maps.
 */
import { tf, type ForwardOptions, type Rng } from '@clip-senet/core';
import { SpecModule, type ParamSpec } from './module';
import { batchNorm, batchNormRelu, bnSpecs, affineSpecs, conv2d, convSpecs, instanceNorm, linear, linearSpecs, maxPool } from './ops';

/** Architecture of a ResNet-family backbone (already validated; see `ResNetConfigSchema`). */
export interface ResNetArch {
  readonly block: 'basic' | 'bottleneck';
  /** Blocks per stage (layer1..layer4). */
  readonly layers: readonly [number, number, number, number];
  /** Stem / layer1 `planes` (64 for every ImageNet model; smaller for tiny presets). */
  readonly baseWidth: number;
  /** Cardinality of the 3×3 conv (ResNeXt: 32). */
  readonly groups: number;
  /** Channels per group at planes = 64 (ResNeXt 32x4d: 4; plain ResNet: 64). */
  readonly widthPerGroup: number;
  /** IBN-a in layers 1–3. */
  readonly ibn: boolean;
  /** Squeeze-excitation after the last BN of each block. */
  readonly se: boolean;
  readonly seReduction: number;
  /** Stride of layer4 (1 keeps 2× spatial resolution, common in re-ID). */
  readonly lastStride: 1 | 2;
  readonly pooling: 'avg' | 'gem';
  /** Initial GeM exponent (learnable). */
  readonly gemP: number;
}

/** Named stage outputs. */
export const STAGES = ['stem', 'layer1', 'layer2', 'layer3', 'layer4'] as const;
export type StageName = (typeof STAGES)[number];

/** Output of a CNN forward pass. */
export interface CnnOutput {
  /** Pooled feature `[N, featureDim]`. */
  readonly features: tf.Tensor2D;
  /** Stage feature maps (NHWC) when requested. */
  readonly stages?: Record<StageName, tf.Tensor4D>;
}

interface BlockPlan {
  readonly prefix: string;
  readonly inplanes: number;
  readonly planes: number;
  readonly width: number;
  readonly outC: number;
  readonly stride: number;
  readonly ibn: boolean;
  readonly downsample: boolean;
}

const expansion = (arch: ResNetArch): number => (arch.block === 'basic' ? 1 : 4);

function plan(arch: ResNetArch): BlockPlan[] {
  if (arch.block === 'basic' && (arch.groups !== 1 || arch.widthPerGroup !== 64)) {
    throw new Error('ResNet: BasicBlock only supports groups=1 and widthPerGroup=64 (as torchvision)');
  }
  const blocks: BlockPlan[] = [];
  let inplanes = arch.baseWidth;
  for (let s = 0; s < 4; s++) {
    const planes = arch.baseWidth * 2 ** s;
    const outC = planes * expansion(arch);
    const width = arch.block === 'basic' ? planes : Math.floor((planes * arch.widthPerGroup) / 64) * arch.groups;
    for (let b = 0; b < arch.layers[s]!; b++) {
      const stride = b > 0 || s === 0 ? 1 : s === 3 ? arch.lastStride : 2;
      blocks.push({ prefix: `layer${s + 1}.${b}`, inplanes, planes, width, outC, stride, ibn: arch.ibn && s < 3, downsample: b === 0 && (stride !== 1 || inplanes !== outC) });
      inplanes = outC;
    }
  }
  return blocks;
}

function normSpecs(name: string, c: number, ibn: boolean): ParamSpec[] {
  if (!ibn) return bnSpecs(name, c);
  const half = Math.floor(c / 2);
  return [...affineSpecs(`${name}.IN`, half), ...bnSpecs(`${name}.BN`, c - half)];
}

/** Every tensor of a ResNet-family backbone, in torchvision order. */
export function resnetSpecs(arch: ResNetArch): ParamSpec[] {
  const specs: ParamSpec[] = [...convSpecs('conv1', 7, 3, arch.baseWidth), ...bnSpecs('bn1', arch.baseWidth)];
  for (const b of plan(arch)) {
    const p = b.prefix;
    if (arch.block === 'basic') {
      specs.push(...convSpecs(`${p}.conv1`, 3, b.inplanes, b.planes), ...normSpecs(`${p}.bn1`, b.planes, b.ibn));
      specs.push(...convSpecs(`${p}.conv2`, 3, b.planes, b.planes), ...bnSpecs(`${p}.bn2`, b.planes));
    } else {
      specs.push(...convSpecs(`${p}.conv1`, 1, b.inplanes, b.width), ...normSpecs(`${p}.bn1`, b.width, b.ibn));
      specs.push(...convSpecs(`${p}.conv2`, 3, b.width, b.width, { groups: arch.groups }), ...bnSpecs(`${p}.bn2`, b.width));
      specs.push(...convSpecs(`${p}.conv3`, 1, b.width, b.outC), ...bnSpecs(`${p}.bn3`, b.outC));
    }
    if (arch.se) {
      const hidden = Math.floor(b.outC / arch.seReduction);
      specs.push(...linearSpecs(`${p}.se.fc.0`, b.outC, hidden, { bias: false }), ...linearSpecs(`${p}.se.fc.2`, hidden, b.outC, { bias: false }));
    }
    if (b.downsample) specs.push(...convSpecs(`${p}.downsample.0`, 1, b.inplanes, b.outC), ...bnSpecs(`${p}.downsample.1`, b.outC));
  }
  if (arch.pooling === 'gem') specs.push({ name: 'gem.p', shape: [1], layout: 'plain', kind: 'param', init: { kind: 'const', value: arch.gemP }, local: true });
  return specs;
}

const convOut = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;

/** A ResNet / IBN-a / ResNeXt / SE-ResNet backbone. */
export class ResNet extends SpecModule {
  readonly family = 'cnn' as const;
  readonly arch: ResNetArch;
  /** Channels of the pooled feature. */
  readonly featureDim: number;
  private readonly blocks: BlockPlan[];

  constructor(arch: ResNetArch, rng: Rng) {
    super(resnetSpecs(arch), rng);
    this.arch = arch;
    this.blocks = plan(arch);
    this.featureDim = this.blocks[this.blocks.length - 1]!.outC;
  }

  /** Declared NHWC shape of each stage map for an `[n, h, w, 3]` input. */
  stageShapes(n: number, h: number, w: number): Record<StageName, [number, number, number, number]> {
    let hh = convOut(convOut(h, 7, 2, 3), 3, 2, 1);
    let ww = convOut(convOut(w, 7, 2, 3), 3, 2, 1);
    const out = { stem: [n, hh, ww, this.arch.baseWidth] } as Record<StageName, [number, number, number, number]>;
    for (let s = 0; s < 4; s++) {
      const first = this.blocks.find((b) => b.prefix === `layer${s + 1}.0`)!;
      hh = convOut(hh, 3, first.stride, 1);
      ww = convOut(ww, 3, first.stride, 1);
      out[STAGES[s + 1]!] = [n, hh, ww, first.outC];
    }
    return out;
  }

  /** `x` `[N, H, W, 3]` → pooled feature `[N, featureDim]` (+ stage maps if `returnStages`). */
  forward(x: tf.Tensor4D, opts: ForwardOptions & { returnStages?: boolean } = {}): CnnOutput {
    const training = this.isTraining(opts);
    return tf.tidy(() => {
      let h = conv2d(x, this.t('conv1.weight'), 2, 3);
      h = batchNormRelu(this, 'bn1', h, training) as tf.Tensor4D;
      h = maxPool(h, 3, 2, 1);
      const stages = { stem: h } as Record<StageName, tf.Tensor4D>;
      for (const b of this.blocks) {
        h = this.block(b, h, training);
        const stage = b.prefix.split('.')[0] as StageName;
        stages[stage] = h;
      }
      const features = this.pool(h);
      return opts.returnStages ? { features, stages } : { features };
    });
  }

  private norm1(b: BlockPlan, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const name = `${b.prefix}.bn1`;
    if (!b.ibn) return batchNorm(this, name, x, training) as tf.Tensor4D;
    const c = x.shape[3];
    const half = Math.floor(c / 2);
    const [xi, xb] = tf.split(x, [half, c - half], 3); // [N,H,W,C] → [N,H,W,half], [N,H,W,C-half]
    const yi = instanceNorm(xi as tf.Tensor4D, this.t(`${name}.IN.weight`), this.t(`${name}.IN.bias`));
    const yb = batchNorm(this, `${name}.BN`, xb!, training);
    return tf.concat([yi, yb], 3) as tf.Tensor4D; // → [N,H,W,C]
  }

  private block(b: BlockPlan, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const p = b.prefix;
    let out: tf.Tensor4D;
    if (this.arch.block === 'basic') {
      out = tf.relu(this.norm1(b, conv2d(x, this.t(`${p}.conv1.weight`), b.stride, 1), training));
      out = batchNorm(this, `${p}.bn2`, conv2d(out, this.t(`${p}.conv2.weight`), 1, 1), training) as tf.Tensor4D;
    } else {
      out = tf.relu(this.norm1(b, conv2d(x, this.t(`${p}.conv1.weight`), 1, 0), training));
      out = batchNormRelu(this, `${p}.bn2`, conv2d(out, this.t(`${p}.conv2.weight`), b.stride, 1, this.arch.groups), training) as tf.Tensor4D;
      out = batchNorm(this, `${p}.bn3`, conv2d(out, this.t(`${p}.conv3.weight`), 1, 0), training) as tf.Tensor4D;
    }
    if (this.arch.se) out = this.squeezeExcite(p, out);
    let residual: tf.Tensor4D = x;
    if (b.downsample) residual = batchNorm(this, `${p}.downsample.1`, conv2d(x, this.t(`${p}.downsample.0.weight`), b.stride, 0), training) as tf.Tensor4D;
    return tf.relu(tf.add(out, residual)) as tf.Tensor4D;
  }

  private squeezeExcite(p: string, x: tf.Tensor4D): tf.Tensor4D {
    const [n, , , c] = x.shape;
    const y = tf.mean(x, [1, 2]); // [N, H, W, C] → [N, C]
    const hidden = tf.relu(linear(y, this.t(`${p}.se.fc.0.weight`)));
    const gate = tf.sigmoid(linear(hidden, this.t(`${p}.se.fc.2.weight`)));
    return tf.mul(x, tf.reshape(gate, [n, 1, 1, c])) as tf.Tensor4D; // [N, C] → [N, 1, 1, C]
  }

  private pool(h: tf.Tensor4D): tf.Tensor2D {
    if (this.arch.pooling === 'avg') return tf.mean(h, [1, 2]); // [N, H, W, C] → [N, C]
    const p = this.t('gem.p');
    const powered = tf.pow(tf.maximum(h, 1e-6), p);
    return tf.pow(tf.mean(powered, [1, 2]), tf.div(1, p)) as tf.Tensor2D; // GeM: (mean x^p)^(1/p)
  }
}
