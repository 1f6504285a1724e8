/**
 * The named backbone presets, once: each is data over one of the two parameterised implementations (`ResNet`,
 * `ClipVisionTransformer`) — its architecture, where its pretrained weights come from and the input normalisation
 * they expect. The config schemas take their `name` enums from these tables (./config) and the registry its
 * entries (./registry), so adding a backbone is one line here.
 */
import { NORMALIZATION_STATS, type NormalizationStats } from '@clip-senet/core';
import type { ClipVitArch } from './clip-vit';
import type { WeightFormat } from './key-maps';
import type { ResNetArch } from './resnet';

/** A preset's ResNet architecture (the knobs `lastStride`, `pooling`, `gemP` come from its config). */
export type ResNetShape = Omit<ResNetArch, 'lastStride' | 'pooling' | 'gemP'>;
/** A preset's ViT architecture (`posInterpAntialias` comes from its config). */
export type VitShape = Omit<ClipVitArch, 'posInterpAntialias'>;

/** A preset of the CNN family. */
export interface CnnPreset {
  readonly family: 'cnn';
  readonly arch: ResNetShape;
  readonly weights: WeightFormat;
  readonly source: string;
  readonly normalization: NormalizationStats;
}

/** A preset of the CLIP ViT family. */
export interface VitPreset {
  readonly family: 'clip-vit';
  readonly arch: VitShape;
  readonly weights: WeightFormat;
  readonly source: string;
  readonly normalization: NormalizationStats;
}

const rn = (block: 'basic' | 'bottleneck', layers: [number, number, number, number], extra: Partial<ResNetShape> = {}): ResNetShape => ({
  block, layers, baseWidth: 64, groups: 1, widthPerGroup: 64, ibn: false, se: false, seReduction: 16, ...extra,
});
const TV = 'torchvision.models (IMAGENET1K_V1)';
const IBN = 'github.com/XingangPan/IBN-Net releases v1.0';
const TESTS = 'random init (tests)';
const cnn = (arch: ResNetShape, weights: WeightFormat, source: string): CnnPreset => ({ family: 'cnn', arch, weights, source, normalization: NORMALIZATION_STATS.imagenet });

/** The CNN presets (torchvision ResNets, IBN-Net's IBN-a / ResNeXt / SE variants, tiny test stand-ins). */
export const CNN_PRESET_TABLE = {
  resnet18: cnn(rn('basic', [2, 2, 2, 2]), 'torchvision', TV),
  resnet34: cnn(rn('basic', [3, 4, 6, 3]), 'torchvision', TV),
  resnet50: cnn(rn('bottleneck', [3, 4, 6, 3]), 'torchvision', TV),
  resnet101: cnn(rn('bottleneck', [3, 4, 23, 3]), 'torchvision', TV),
  'resnet50-ibn-a': cnn(rn('bottleneck', [3, 4, 6, 3], { ibn: true }), 'ibn-net', IBN),
  'resnet101-ibn-a': cnn(rn('bottleneck', [3, 4, 23, 3], { ibn: true }), 'ibn-net', IBN),
  'resnext101-32x4d-ibn-a': cnn(rn('bottleneck', [3, 4, 23, 3], { ibn: true, groups: 32, widthPerGroup: 4 }), 'ibn-net', IBN),
  'se-resnet101-ibn-a': cnn(rn('bottleneck', [3, 4, 23, 3], { ibn: true, se: true }), 'ibn-net', IBN),
  'resnet-tiny': cnn(rn('basic', [1, 1, 1, 1], { baseWidth: 8 }), 'torchvision', TESTS),
  'resnet-tiny-ibn-a': cnn(rn('bottleneck', [1, 1, 1, 1], { baseWidth: 8, ibn: true }), 'ibn-net', TESTS),
  'resnext-tiny-ibn-a': cnn(rn('bottleneck', [1, 1, 1, 1], { baseWidth: 8, ibn: true, groups: 4, widthPerGroup: 16 }), 'ibn-net', TESTS),
  'se-resnet-tiny-ibn-a': cnn(rn('bottleneck', [1, 1, 1, 1], { baseWidth: 8, ibn: true, se: true, seReduction: 4 }), 'ibn-net', TESTS),
} satisfies Record<string, CnnPreset>;

const vit = (width: number, layers: number, heads: number, patchSize: number, outputDim: number, activation: 'gelu' | 'quick-gelu', weights: WeightFormat, source: string, imageSize = 224): VitPreset => ({
  family: 'clip-vit', arch: { width, layers, heads, patchSize, imageSize, outputDim, activation }, weights, source, normalization: NORMALIZATION_STATS.clip,
});
const tinyclip = (hf: string): string => `TinyCLIP release checkpoint (tinyclip) or huggingface.co/wkcn/${hf} (hf-clip)`;

/** The CLIP ViT presets (TinyCLIP, OpenAI, a tiny test tower). */
export const VIT_PRESET_TABLE = {
  'tinyclip-vit-8m-16': vit(256, 10, 4, 16, 512, 'gelu', 'tinyclip', tinyclip('TinyCLIP-ViT-8M-16-Text-3M-YFCC15M')),
  'tinyclip-vit-39m-16': vit(512, 12, 8, 16, 512, 'gelu', 'tinyclip', tinyclip('TinyCLIP-ViT-39M-16-Text-19M-YFCC15M')),
  'tinyclip-vit-40m-32': vit(512, 12, 8, 32, 512, 'gelu', 'tinyclip', tinyclip('TinyCLIP-ViT-40M-32-Text-19M-LAION400M')),
  'tinyclip-vit-61m-32': vit(640, 12, 10, 32, 512, 'gelu', 'tinyclip', tinyclip('TinyCLIP-ViT-61M-32-Text-29M-LAION400M')),
  'openai-vit-b-16': vit(768, 12, 12, 16, 512, 'quick-gelu', 'openai', 'OpenAI CLIP ViT-B/16'),
  'openai-vit-b-32': vit(768, 12, 12, 32, 512, 'quick-gelu', 'openai', 'OpenAI CLIP ViT-B/32'),
  'clip-vit-tiny': vit(64, 2, 2, 8, 32, 'gelu', 'openai', TESTS, 32),
} satisfies Record<string, VitPreset>;

export type CnnPresetName = keyof typeof CNN_PRESET_TABLE;
export type VitPresetName = keyof typeof VIT_PRESET_TABLE;

/** The CNN preset names, in table order (the `name` enum of `CnnPresetConfigSchema`). */
export const CNN_PRESETS = Object.keys(CNN_PRESET_TABLE) as [CnnPresetName, ...CnnPresetName[]];
/** The CLIP ViT preset names, in table order (the `name` enum of `ClipVitPresetConfigSchema`). */
export const VIT_PRESETS = Object.keys(VIT_PRESET_TABLE) as [VitPresetName, ...VitPresetName[]];
