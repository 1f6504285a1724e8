/**
 * @clip-senet/backbones — the appearance CNN family (ResNet / IBN-a / ResNeXt / SE), the CLIP ViT image
 * encoder (TinyCLIP, OpenAI) and text tower, and weight import/export for real pretrained checkpoints.
 */

// registry + configs
export { backbones, buildBackbone, buildTextEncoder, resolveBackbone, backboneSpecs, IMAGENET_NORMALIZATION, CLIP_NORMALIZATION } from './registry';
export type { Backbone, BackboneEntry, BuildOptions, ResolvedBackbone, Normalization } from './registry';
export {
  BackboneConfigSchema, defaultBackboneConfig, CnnPresetConfigSchema, ResNetConfigSchema, ClipVitPresetConfigSchema,
  ClipVitConfigSchema, ClipTextConfigSchema, CNN_PRESETS, VIT_PRESETS,
} from './config';
export type { BackboneConfig, BackboneConfigInput, ClipTextConfig } from './config';

// models
export { Module, countParams, toTorchShape } from './module';
export type { ParamSpec, ParamLayout, InitSpec, ForwardOptions } from './module';
export { ResNet, resnetSpecs, STAGES } from './resnet';
export type { ResNetArch, CnnOutput, StageName } from './resnet';
export { ClipVisionTransformer, clipVitSpecs } from './clip-vit';
export type { ClipVitArch, ClipVitOutput } from './clip-vit';
export { ClipTextTransformer, clipTextSpecs, causalMask } from './clip-text';
export type { ClipTextArch } from './clip-text';
export type { Activation } from './transformer';
export { WordTokenizer, splitWords } from './tokenizer';
export type { WordTokenizerState } from './tokenizer';
export { bicubicMatrix, bicubicAntialiasMatrix, resizeGrid } from './interpolate';
export { gelu, quickGelu } from './ops';

// weights
export { loadWeights, saveWeights, exportWeights } from './weights';
export { readTorchCheckpoint, isZip } from './torch-checkpoint';
export type { LoadWeightsOptions, LoadReport, SaveWeightsOptions, WeightModel } from './weights';
export { WEIGHT_FORMATS, detectFormat, keyMapFor, hfKeys } from './key-maps';
export type { WeightFormat, ModelFamily, KeyMap, KeyRule } from './key-maps';
