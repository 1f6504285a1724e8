/**
 * zod schemas for backbone configs: a discriminated union on `name` — a registry preset
 * (`resnet50-ibn-a`, `tinyclip-vit-8m-16`, …; the names are ./presets' tables) with its knobs, or a fully custom
 * `resnet` / `clip-vit`. Each registry entry (./registry) carries the member of this union it validates.
 * Unknown keys are errors.
 */
import { markValidated } from '@clip-senet/core/base';
import { z } from 'zod';
import { CNN_PRESETS, VIT_PRESETS } from './presets';

// the preset names come from the preset tables (one line per backbone there)
export { CNN_PRESETS, VIT_PRESETS } from './presets';

const cnnKnobs = {
  /**
   * Stride of layer4. Default 2 = the architecture PyTorch checkpoints were trained with (so a loaded model
   * reproduces PyTorch exactly); 1 is the re-ID convention (BoT, fast-reid). Paper: unknown (knob).
   */
  lastStride: z.union([z.literal(1), z.literal(2)]).default(2),
  /** Global pooling; paper: avg (GeM is a knob). */
  pooling: z.enum(['avg', 'gem']).default('avg'),
  /** Initial GeM exponent (learnable). */
  gemP: z.number().positive().default(3),
};

/** A CNN registry preset with its knobs. */
export const CnnPresetConfigSchema = z.strictObject({ name: z.enum(CNN_PRESETS), ...cnnKnobs });

/** A custom ResNet-family architecture. */
export const ResNetConfigSchema = z.strictObject({
  name: z.literal('resnet'),
  block: z.enum(['basic', 'bottleneck']),
  layers: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]),
  baseWidth: z.number().int().positive().default(64),
  groups: z.number().int().positive().default(1),
  widthPerGroup: z.number().int().positive().default(64),
  ibn: z.boolean().default(false),
  se: z.boolean().default(false),
  seReduction: z.number().int().positive().default(16),
  ...cnnKnobs,
});

const vitKnobs = {
  /** Antialiased bicubic for position-embedding resizing (open_clip's default) vs plain bicubic. */
  posInterpAntialias: z.boolean().default(false),
};

/** A CLIP ViT registry preset; `activation` overrides the preset's (if a checkpoint's config says otherwise). */
export const ClipVitPresetConfigSchema = z.strictObject({ name: z.enum(VIT_PRESETS), activation: z.enum(['gelu', 'quick-gelu']).optional(), ...vitKnobs });

/** A custom CLIP ViT image tower. */
export const ClipVitConfigSchema = z.strictObject({
  name: z.literal('clip-vit'),
  width: z.number().int().positive(),
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  patchSize: z.number().int().positive(),
  imageSize: z.number().int().positive(),
  outputDim: z.number().int().positive(),
  activation: z.enum(['gelu', 'quick-gelu']).default('gelu'),
  ...vitKnobs,
});

/** Any image backbone config (discriminated on `name`). */
export const BackboneConfigSchema = z.discriminatedUnion('name', [CnnPresetConfigSchema, ResNetConfigSchema, ClipVitPresetConfigSchema, ClipVitConfigSchema]);
export type BackboneConfig = z.output<typeof BackboneConfigSchema>;
export type BackboneConfigInput = z.input<typeof BackboneConfigSchema>;

/** The paper's appearance branch: ResNeXt101-32x4d-IBN-a, average pooling (last stride: schema default 2). */
export const defaultBackboneConfig: BackboneConfig = markValidated(BackboneConfigSchema.parse({ name: 'resnext101-32x4d-ibn-a' }));

/** CLIP text tower config (for pretraining a small CLIP on synthetic captions). */
export const ClipTextConfigSchema = z.strictObject({
  name: z.literal('clip-text'),
  vocabSize: z.number().int().positive(),
  contextLength: z.number().int().min(2).default(16),
  width: z.number().int().positive().default(64),
  layers: z.number().int().positive().default(2),
  heads: z.number().int().positive().default(2),
  outputDim: z.number().int().positive().default(32),
  activation: z.enum(['gelu', 'quick-gelu']).default('gelu'),
});
export type ClipTextConfig = z.output<typeof ClipTextConfigSchema>;
