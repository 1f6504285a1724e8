/**
 * Seeded training transforms for re-identification (the BoT / fast-reid recipe: resize, horizontal flip p,
 * pad + random crop, colour jitter, normalisation, random erasing — Zhong et al., "Random Erasing Data
 * Augmentation", AAAI 2020, with their parameters p = 0.5, area 0.02–0.4, aspect ≥ 0.3).
 *
 * Every step takes its randomness from `rng.derive('<step>')`, so (a) a step's draws do not depend on which other
 * steps are enabled, and (b) two branches that receive the same sample `Rng` make the same flip decision.
 * Images are interleaved RGB: uint8 before {@link toNormalizedFloat}, float32 (HWC) after.
 */
import type { Rng } from '@clip-senet/core';
import { NORMALIZATION_STATS, type NormalizationStats } from '@clip-senet/core/base';
import type { RgbImage } from './decode';

/** ImageNet (torchvision) and OpenAI CLIP statistics (PAPER.md), from core's dataset facts. */
export { NORMALIZATION_STATS };
export type { NormalizationStats };

export type Normalization = keyof typeof NORMALIZATION_STATS | NormalizationStats;

/** Colour jitter strengths (torchvision semantics: factor uniform in [max(0, 1 − s), 1 + s]). Hue is not supported. */
export interface ColorJitterOptions {
  readonly brightness?: number;
  readonly contrast?: number;
  readonly saturation?: number;
}

/** Random erasing parameters (defaults: Zhong et al.). */
export interface RandomErasingOptions {
  /** Probability of erasing (0.5). */
  readonly p?: number;
  /** Erased area as a fraction of the image: [sl, sh] (0.02, 0.4). */
  readonly area?: readonly [number, number];
  /** Minimum aspect ratio r1 (0.3); the aspect is log-uniform in [r1, 1/r1]. */
  readonly minAspect?: number;
  /** Fill: 0 in normalised units (= the mean colour, default) or per-pixel N(0, 1) noise. */
  readonly fill?: 'mean' | 'random';
  /** Attempts before giving up (100). */
  readonly attempts?: number;
}

/** A composed transform pipeline (applied in this order after the resize). */
export interface TransformOptions {
  /** Output size [height, width]; the image is resized (bilinear) to it first. */
  readonly size: readonly [number, number];
  /** Horizontal flip probability (0 = off). Default 0. */
  readonly flipProb?: number;
  /** Zero padding before a random crop back to `size`, in pixels (0 = off). Default 0. */
  readonly pad?: number;
  readonly colorJitter?: ColorJitterOptions;
  readonly normalization?: Normalization;
  /** Random erasing after normalisation (off when absent). */
  readonly erasing?: RandomErasingOptions;
}

/** The usual training recipe at a size: flip 0.5, pad 10, random erasing 0.5, ImageNet statistics. */
export function trainTransforms(size: readonly [number, number], normalization: Normalization = 'imagenet'): TransformOptions {
  return { size, flipProb: 0.5, pad: 10, normalization, erasing: {} };
}

/** Mirror left-right. */
export function hflip(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = (y * w + (w - 1 - x)) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Zero-pad by `pad` on every side and crop a window of the original size at offset (`top`, `left`) of the padded
 * image (0 ≤ top, left ≤ 2·pad).
 */
export function padCrop(img: RgbImage, pad: number, top: number, left: number): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const sy = y + top - pad;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < w; x++) {
      const sx = x + left - pad;
      if (sx < 0 || sx >= w) continue;
      const s = (sy * w + sx) * 3;
      const d = (y * w + x) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: w, height: h, data: out };
}

/** uint8 RGB → float32 in [0, 1]. */
export function toUnitFloat(img: RgbImage): Float32Array {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i]! / 255;
  return out;
}

const factor = (rng: Rng, s: number | undefined): number | undefined => (s === undefined || s <= 0 ? undefined : rng.uniform(Math.max(0, 1 - s), 1 + s));

/**
 * Brightness, then contrast, then saturation (fixed order; torchvision picks a random order), on [0, 1] floats in
 * place, clamped to [0, 1] after each step. Two passes: brightness + grey mean, then contrast + saturation.
 */
export function colorJitter(x: Float32Array, opts: ColorJitterOptions, rng: Rng): void {
  const b = factor(rng, opts.brightness) ?? 1;
  const c = factor(rng, opts.contrast);
  const s = factor(rng, opts.saturation);
  let sum = 0;
  for (let i = 0; i < x.length; i += 3) {
    const r = Math.min(1, x[i]! * b);
    const g = Math.min(1, x[i + 1]! * b);
    const bl = Math.min(1, x[i + 2]! * b);
    x[i] = r;
    x[i + 1] = g;
    x[i + 2] = bl;
    sum += 0.299 * r + 0.587 * g + 0.114 * bl;
  }
  if (c === undefined && s === undefined) return;
  const mean = sum / (x.length / 3);
  const cf = c ?? 1;
  const sf = s ?? 1;
  const off = mean * (1 - cf);
  for (let i = 0; i < x.length; i += 3) {
    let r = x[i]! * cf + off;
    let g = x[i + 1]! * cf + off;
    let bl = x[i + 2]! * cf + off;
    if (c !== undefined) {
      r = r < 0 ? 0 : r > 1 ? 1 : r;
      g = g < 0 ? 0 : g > 1 ? 1 : g;
      bl = bl < 0 ? 0 : bl > 1 ? 1 : bl;
    }
    if (s !== undefined) {
      const grey = 0.299 * r + 0.587 * g + 0.114 * bl;
      r = (r - grey) * sf + grey;
      g = (g - grey) * sf + grey;
      bl = (bl - grey) * sf + grey;
      r = r < 0 ? 0 : r > 1 ? 1 : r;
      g = g < 0 ? 0 : g > 1 ? 1 : g;
      bl = bl < 0 ? 0 : bl > 1 ? 1 : bl;
    }
    x[i] = r;
    x[i + 1] = g;
    x[i + 2] = bl;
  }
}

/** Resolve a normalisation name or explicit statistics. */
export function normalizationStats(n: Normalization): NormalizationStats {
  return typeof n === 'string' ? NORMALIZATION_STATS[n] : n;
}

/** (x − mean) / std per channel, in place. */
export function normalize(x: Float32Array, n: Normalization): void {
  const { mean, std } = normalizationStats(n);
  for (let i = 0; i < x.length; i += 3) {
    for (let c = 0; c < 3; c++) x[i + c] = (x[i + c]! - mean[c]!) / std[c]!;
  }
}

/** An erased rectangle. */
export interface EraseBox {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * Random erasing on a normalised HWC float image in place; returns the erased box, or undefined when the coin
 * said no or no box fitted within `attempts`.
 */
export function randomErasing(x: Float32Array, h: number, w: number, opts: RandomErasingOptions, rng: Rng): EraseBox | undefined {
  if (!rng.bernoulli(opts.p ?? 0.5)) return undefined;
  const [sl, sh] = opts.area ?? [0.02, 0.4];
  const r1 = opts.minAspect ?? 0.3;
  for (let a = 0; a < (opts.attempts ?? 100); a++) {
    const area = rng.uniform(sl, sh) * h * w;
    const aspect = Math.exp(rng.uniform(Math.log(r1), Math.log(1 / r1)));
    const eh = Math.round(Math.sqrt(area * aspect));
    const ew = Math.round(Math.sqrt(area / aspect));
    if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
    const top = rng.int(h - eh + 1);
    const left = rng.int(w - ew + 1);
    for (let y = top; y < top + eh; y++) {
      for (let xx = left; xx < left + ew; xx++) {
        const o = (y * w + xx) * 3;
        for (let c = 0; c < 3; c++) x[o + c] = opts.fill === 'random' ? rng.normal() : 0;
      }
    }
    return { top, left, height: eh, width: ew };
  }
  return undefined;
}

/**
 * Apply the pipeline to an image already resized to `opts.size`: flip → pad + crop → [0, 1] → colour jitter →
 * normalise → random erasing. Returns HWC float32 of length h·w·3.
 */
export function applyTransforms(img: RgbImage, opts: TransformOptions, rng: Rng): Float32Array {
  const [h, w] = opts.size;
  if (img.height !== h || img.width !== w) throw new Error(`applyTransforms: expected a ${h}×${w} image, got ${img.height}×${img.width}`);
  let cur = img;
  if ((opts.flipProb ?? 0) > 0 && rng.derive('flip').bernoulli(opts.flipProb!)) cur = hflip(cur);
  const pad = opts.pad ?? 0;
  if (pad > 0) {
    const r = rng.derive('crop');
    cur = padCrop(cur, pad, r.int(2 * pad + 1), r.int(2 * pad + 1));
  }
  const x = toUnitFloat(cur);
  if (opts.colorJitter) colorJitter(x, opts.colorJitter, rng.derive('jitter'));
  normalize(x, opts.normalization ?? 'imagenet');
  if (opts.erasing) randomErasing(x, h, w, opts.erasing, rng.derive('erase'));
  return x;
}
