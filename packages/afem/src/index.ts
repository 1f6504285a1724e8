/**
 * @clip-senet/afem — the CLIP-SENet fusion head: AFEM (Eq. 4), the fusion variants (Eq. 5 and ablations,
 * Table IV) and the SIE-style camera/view embedding. Receives branch widths as numbers; imports only core.
 */

// modules
export { Afem } from './afem';
export type { AfemOptions } from './afem';
export { Fusion } from './fusion';
export type { FusionInputs } from './fusion';
export { FUSION_VARIANTS, fusionVariant, boundVariant, FusionConfigSchema, defaultFusionConfig } from './fusion-variants';
export type { FusionDims, FusionOps, FusionPart, FusionVariant, AnyFusionVariant, FusionConfig, FusionConfigInput, FusionName } from './fusion-variants';
export { CameraViewEmbedding } from './camera-view';
export type { CameraViewInputs, SideInfo } from './camera-view';

// registries
export { fusions, buildFusion, afemPresets, buildAfem } from './registry';
export type { FusionEntry } from './registry';

// config
export {
  AfemConfigSchema,
  defaultAfemConfig,
  FusionAfemConfigSchema,
  CameraViewConfigSchema,
  ClipSenetFusionConfigSchema,
  ConcatFcFusionConfigSchema,
  SumFusionConfigSchema,
  GatedFusionConfigSchema,
  AppearanceOnlyFusionConfigSchema,
  SemanticOnlyFusionConfigSchema,
} from './config';
export type {
  AfemConfig,
  AfemConfigInput,
  CameraViewConfig,
  CameraViewConfigInput,
} from './config';
