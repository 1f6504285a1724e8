/**
 * zod config of the assembled CLIP-SENet model (PAPER.md "Architecture"), composed of the packages' own
 * schemas: appearance backbone (backbones), SEM = CLIP ViT image tower (backbones), fusion (afem), plus the
 * engine's neck (BNNeck, retrieval feature). Unknown keys are errors. Sizes known only from data (#identities)
 * are build arguments, not config.
 */
import { markValidated } from '@clip-senet/core/base';
import { z } from 'zod';
import { BackboneConfigSchema } from '@clip-senet/backbones';
import { FUSION_VARIANTS, FusionConfigSchema, fusionVariant } from '@clip-senet/afem';

/** Input of one branch: resize target and normalisation statistics (datasets' `NORMALIZATION_STATS`). */
export const BranchInputConfigSchema = z.strictObject({
  /** [height, width]. */
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  normalization: z.enum(['imagenet', 'clip', 'none']),
});
export type BranchInputConfig = z.output<typeof BranchInputConfigSchema>;

/** The appearance branch (paper: ResNeXt101-IBN-a at 320×320, ImageNet statistics). */
export const AppearanceConfigSchema = z.strictObject({
  backbone: BackboneConfigSchema.prefault({ name: 'resnext101-32x4d-ibn-a' }),
  /** Pretrained weights (safetensors / torch layouts the backbones key maps know); null = random init. */
  weights: z.string().nullable().default(null),
  input: BranchInputConfigSchema.prefault({ size: [320, 320], normalization: 'imagenet' }),
});

/**
 * The SEM: a CLIP ViT image tower (paper: TinyCLIP ViT/32). Frozen vs fine-tuned and the input size are
 * unknown in the paper (knobs; defaults frozen, 224² with CLIP statistics).
 */
export const SemConfigSchema = z.strictObject({
  backbone: BackboneConfigSchema.prefault({ name: 'tinyclip-vit-40m-32' }),
  weights: z.string().nullable().default(null),
  /** Keep the SEM's weights fixed (not given to the optimiser). */
  freeze: z.boolean().default(true),
  input: BranchInputConfigSchema.prefault({ size: [224, 224], normalization: 'clip' }),
});

/** After the fusion: optional BNNeck (BoT) and which feature is used for retrieval. */
export const NeckConfigSchema = z.strictObject({
  /** BatchNorm1d between the fused feature and a bias-free classifier (not in the paper; BoT-style knob). */
  bnneck: z.boolean().default(true),
  /** Retrieval feature before or after the BNNeck (ignored without one). */
  retrievalFeature: z.enum(['pre-bn', 'post-bn']).default('post-bn'),
  /** Feature fed to the metric losses (SupCon / triplet): before or after the BNNeck. */
  metricFeature: z.enum(['pre-bn', 'post-bn']).default('pre-bn'),
});

/** The whole model. `sem: null` builds no SEM (only valid with the `appearance-only` fusion). */
export const ModelConfigSchema = z
  .strictObject({
    appearance: AppearanceConfigSchema.prefault({}),
    sem: SemConfigSchema.nullable().prefault({}),
    fusion: FusionConfigSchema.prefault({ name: 'clip-senet' }),
    neck: NeckConfigSchema.prefault({}),
  })
  .refine((c) => c.sem !== null || !fusionVariant(c.fusion.name).reads.semantic, {
    message: `sem: null is only valid with a fusion that does not read the SEM feature (${FUSION_VARIANTS.filter((v) => !v.reads.semantic).map((v) => `'${v.name}'`).join(', ')})`,
  });
export type ModelConfig = z.output<typeof ModelConfigSchema>;
export type ModelConfigInput = z.input<typeof ModelConfigSchema>;

/** The paper's model: ResNeXt101-IBN-a + frozen TinyCLIP ViT-40M/32 + clip-senet fusion (G = 32) + BNNeck. */
export const defaultModelConfig: ModelConfig = markValidated(ModelConfigSchema.parse({}));
