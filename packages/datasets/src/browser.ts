/**
 * @clip-senet/datasets for the browser: the evaluation input pipeline after decoding — the bilinear resize and the
 * transforms (normalisation) — the very code the Node loader runs, so a page turns decoded pixels into the same
 * input tensor. Readers, decoding (canvas), the loader (worker threads) and the synthetic world generator are
 * Node-only and live in `./index`.
 */
export type { Sample } from './sample';
export { resizeBilinear } from './resize';
export type { RgbImage } from './resize';
export { applyTransforms, normalize, normalizationStats, toUnitFloat, hflip, NORMALIZATION_STATS } from './transforms';
export type { TransformOptions, Normalization, NormalizationStats } from './transforms';
