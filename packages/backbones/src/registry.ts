/**
 * The backbone registry: every named variant is data over one of two parameterised implementations
 * (`ResNet`, `ClipVisionTransformer`), plus `buildBackbone(config)` which turns a validated config into a
 * model. Tiny presets exist for tests and the CPU world.
 */
import { createRegistry, NORMALIZATION_STATS, Rng, type NormalizationStats } from '@clip-senet/core';
import { ClipVisionTransformer, clipVitSpecs, type ClipVitArch } from './clip-vit';
import { ClipTextTransformer } from './clip-text';
import { BackboneConfigSchema, ClipTextConfigSchema, type BackboneConfigInput } from './config';
import type { WeightFormat } from './key-maps';
import type { ParamSpec } from './module';
import { ResNet, resnetSpecs, type ResNetArch } from './resnet';

type ResNetShape = Omit<ResNetArch, 'lastStride' | 'pooling' | 'gemP'>;
type VitShape = Omit<ClipVitArch, 'posInterpAntialias'>;

/** Per-channel RGB input normalisation the pretrained weights expect (`(x/255 − mean) / std`): core's one statistics type. */
export type Normalization = NormalizationStats;
/** torchvision / IBN-Net ImageNet statistics (core's dataset facts). */
export const IMAGENET_NORMALIZATION: Normalization = NORMALIZATION_STATS.imagenet;
/** OpenAI CLIP statistics (also TinyCLIP; core's dataset facts). */
export const CLIP_NORMALIZATION: Normalization = NORMALIZATION_STATS.clip;

/** A registry entry: architecture, where its pretrained weights come from, and the input normalisation they expect. */
export type BackboneEntry =
  | { readonly family: 'cnn'; readonly arch: ResNetShape; readonly weights: WeightFormat; readonly source: string; readonly normalization: Normalization }
  | { readonly family: 'clip-vit'; readonly arch: VitShape; readonly weights: WeightFormat; readonly source: string; readonly normalization: Normalization };

/** Any image backbone. */
export type Backbone = ResNet | ClipVisionTransformer;

/** The registry of image backbones. */
export const backbones = createRegistry<BackboneEntry>('backbone');

const rn = (block: 'basic' | 'bottleneck', layers: [number, number, number, number], extra: Partial<ResNetShape> = {}): ResNetShape => ({
  block, layers, baseWidth: 64, groups: 1, widthPerGroup: 64, ibn: false, se: false, seReduction: 16, ...extra,
});
const TV = 'torchvision.models (IMAGENET1K_V1)';
const IBN = 'github.com/XingangPan/IBN-Net releases v1.0';
const cnn = (name: string, arch: ResNetShape, weights: WeightFormat, source: string): void => {
  backbones.register(name, { family: 'cnn', arch, weights, source, normalization: IMAGENET_NORMALIZATION });
};
cnn('resnet18', rn('basic', [2, 2, 2, 2]), 'torchvision', TV);
cnn('resnet34', rn('basic', [3, 4, 6, 3]), 'torchvision', TV);
cnn('resnet50', rn('bottleneck', [3, 4, 6, 3]), 'torchvision', TV);
cnn('resnet101', rn('bottleneck', [3, 4, 23, 3]), 'torchvision', TV);
cnn('resnet50-ibn-a', rn('bottleneck', [3, 4, 6, 3], { ibn: true }), 'ibn-net', IBN);
cnn('resnet101-ibn-a', rn('bottleneck', [3, 4, 23, 3], { ibn: true }), 'ibn-net', IBN);
cnn('resnext101-32x4d-ibn-a', rn('bottleneck', [3, 4, 23, 3], { ibn: true, groups: 32, widthPerGroup: 4 }), 'ibn-net', IBN);
cnn('se-resnet101-ibn-a', rn('bottleneck', [3, 4, 23, 3], { ibn: true, se: true }), 'ibn-net', IBN);
cnn('resnet-tiny', rn('basic', [1, 1, 1, 1], { baseWidth: 8 }), 'torchvision', 'random init (tests)');
cnn('resnet-tiny-ibn-a', rn('bottleneck', [1, 1, 1, 1], { baseWidth: 8, ibn: true }), 'ibn-net', 'random init (tests)');
cnn('resnext-tiny-ibn-a', rn('bottleneck', [1, 1, 1, 1], { baseWidth: 8, ibn: true, groups: 4, widthPerGroup: 16 }), 'ibn-net', 'random init (tests)');
cnn('se-resnet-tiny-ibn-a', rn('bottleneck', [1, 1, 1, 1], { baseWidth: 8, ibn: true, se: true, seReduction: 4 }), 'ibn-net', 'random init (tests)');

const vit = (name: string, width: number, layers: number, heads: number, patchSize: number, outputDim: number, activation: 'gelu' | 'quick-gelu', weights: WeightFormat, source: string, imageSize = 224): void => {
  backbones.register(name, { family: 'clip-vit', arch: { width, layers, heads, patchSize, imageSize, outputDim, activation }, weights, source, normalization: CLIP_NORMALIZATION });
};
vit('tinyclip-vit-8m-16', 256, 10, 4, 16, 512, 'gelu', 'tinyclip', 'TinyCLIP release checkpoint (tinyclip) or huggingface.co/wkcn/TinyCLIP-ViT-8M-16-Text-3M-YFCC15M (hf-clip)');
vit('tinyclip-vit-39m-16', 512, 12, 8, 16, 512, 'gelu', 'tinyclip', 'TinyCLIP release checkpoint (tinyclip) or huggingface.co/wkcn/TinyCLIP-ViT-39M-16-Text-19M-YFCC15M (hf-clip)');
vit('tinyclip-vit-40m-32', 512, 12, 8, 32, 512, 'gelu', 'tinyclip', 'TinyCLIP release checkpoint (tinyclip) or huggingface.co/wkcn/TinyCLIP-ViT-40M-32-Text-19M-LAION400M (hf-clip)');
vit('tinyclip-vit-61m-32', 640, 12, 10, 32, 512, 'gelu', 'tinyclip', 'TinyCLIP release checkpoint (tinyclip) or huggingface.co/wkcn/TinyCLIP-ViT-61M-32-Text-29M-LAION400M (hf-clip)');
vit('openai-vit-b-16', 768, 12, 12, 16, 512, 'quick-gelu', 'openai', 'OpenAI CLIP ViT-B/16');
vit('openai-vit-b-32', 768, 12, 12, 32, 512, 'quick-gelu', 'openai', 'OpenAI CLIP ViT-B/32');
vit('clip-vit-tiny', 64, 2, 2, 8, 32, 'gelu', 'openai', 'random init (tests)', 32);

/** Options of {@link buildBackbone}. */
export interface BuildOptions {
  /** Seeded generator for the initial weights (default `new Rng(0)`). */
  readonly rng?: Rng;
}

/** A validated config resolved to one concrete architecture. */
export type ResolvedBackbone = { readonly family: 'cnn'; readonly arch: ResNetArch } | { readonly family: 'clip-vit'; readonly arch: ClipVitArch };

/** Validate `config` (zod, unknown keys are errors) and resolve it to an architecture. */
export function resolveBackbone(config: BackboneConfigInput): ResolvedBackbone {
  const c = BackboneConfigSchema.parse(config);
  if (c.name === 'resnet') {
    const { name: _n, ...arch } = c;
    return { family: 'cnn', arch };
  }
  if (c.name === 'clip-vit') {
    const { name: _n, ...arch } = c;
    return { family: 'clip-vit', arch };
  }
  const entry = backbones.get(c.name);
  if (entry.family === 'cnn' && 'lastStride' in c) return { family: 'cnn', arch: { ...entry.arch, lastStride: c.lastStride, pooling: c.pooling, gemP: c.gemP } };
  if (entry.family === 'clip-vit' && 'posInterpAntialias' in c) {
    return { family: 'clip-vit', arch: { ...entry.arch, activation: c.activation ?? entry.arch.activation, posInterpAntialias: c.posInterpAntialias } };
  }
  throw new Error(`resolveBackbone: config for '${c.name}' does not match its registry family '${entry.family}'`);
}

/** Tensor declarations of a backbone without allocating it (e.g. for parameter counts). */
export function backboneSpecs(config: BackboneConfigInput): ParamSpec[] {
  const r = resolveBackbone(config);
  return r.family === 'cnn' ? resnetSpecs(r.arch) : clipVitSpecs(r.arch);
}

/** Validate `config` and build the backbone it names (weights drawn from `opts.rng`). */
export function buildBackbone(config: BackboneConfigInput, opts: BuildOptions = {}): Backbone {
  const r = resolveBackbone(config);
  const rng = opts.rng ?? new Rng(0);
  return r.family === 'cnn' ? new ResNet(r.arch, rng) : new ClipVisionTransformer(r.arch, rng);
}

/** Validate a text-tower config and build it. */
export function buildTextEncoder(config: unknown, opts: BuildOptions = {}): ClipTextTransformer {
  const { name: _n, ...arch } = ClipTextConfigSchema.parse(config);
  return new ClipTextTransformer(arch, opts.rng ?? new Rng(0));
}
