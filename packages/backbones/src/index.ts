/**
 * @clip-senet/backbones — the appearance CNN family (ResNet / IBN-a / ResNeXt / SE), the CLIP ViT image
 * encoder (TinyCLIP, OpenAI) and text tower, and weight import/export for real pretrained checkpoints.
 */
// everything the browser entry has (registry, configs, models)
export * from './browser';

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
