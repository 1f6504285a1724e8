/**
 * @clip-senet/backbones for the browser: the registry, configs and models (ResNet / IBN-a / ResNeXt / SE, CLIP ViT
 * and text tower). Weight import from files (`loadWeights`, safetensors and PyTorch checkpoints read with fs and
 * zlib) is Node-only and lives in `./index`; a page restores a trained model's parameters directly.
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
export { SpecModule, countParams, toTorchShape } from './module';
export type { ParamSpec, ParamLayout, InitSpec } from './module';
export { ResNet, resnetSpecs, STAGES } from './resnet';
export type { ResNetArch, CnnOutput, StageName } from './resnet';
export { ClipVisionTransformer, clipVitSpecs } from './clip-vit';
export type { ClipVitArch, ClipVitOutput } from './clip-vit';
export { ClipTextTransformer, clipTextSpecs, causalMask } from './clip-text';
export type { ClipTextArch } from './clip-text';
export type { Activation } from './transformer';
