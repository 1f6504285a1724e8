/**
 * @clip-senet/losses — the training objectives: label-smoothed CE and SupCon (the paper's L = L_CE + L_SupCon),
 * batch-hard triplet and center loss (comparisons), CLIP symmetric InfoNCE (SEM pretraining); each returns a
 * named scalar, and `buildLosses` turns the config's weighted list into one total with every term logged.
 */

// loss functions
export { crossEntropyLabelSmooth } from './cross-entropy';
export type { CrossEntropyOptions } from './cross-entropy';
export { supConLoss } from './supcon';
export type { SupConOptions } from './supcon';
export { batchHardTripletLoss } from './triplet';
export type { TripletOptions } from './triplet';
export { CenterLoss } from './center';
export type { CenterLossOptions } from './center';
export { ClipInfoNce } from './clip-infonce';
export type { ClipInfoNceOptions } from './clip-infonce';
export { l2Normalize, pairwiseSquaredDistances, sameLabelMask } from './common';
export type { LossTerm } from './common';

// registry + weighted list
export { losses, buildLosses, LOSS_ENTRIES, LossConfigSchema, LossesConfigSchema, defaultLossesConfig } from './registry';
export type { BuiltLoss, LossContext, LossEntry, LossInputs, LossResult, LossSet, LossConfig, LossConfigInput, LossesConfig, LossesConfigInput, LossName } from './registry';

// the per-loss schemas (each carried by its registry entry)
export {
  CrossEntropyLossConfigSchema,
  SupConLossConfigSchema,
  TripletLossConfigSchema,
  CenterLossConfigSchema,
  ClipInfoNceLossConfigSchema,
} from './config';
