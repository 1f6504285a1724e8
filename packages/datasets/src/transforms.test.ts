import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { Rng } from '@clip-senet/core';
import { afterAll, describe, expect, it } from 'vitest';
import { type RgbImage, decodeImage, resizeBilinear } from './decode';
import { NORMALIZATION_STATS, applyTransforms, colorJitter, hflip, normalize, padCrop, randomErasing, toUnitFloat, trainTransforms } from './transforms';

const tmp = mkdtempSync(join(tmpdir(), 'transforms-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** w×h image whose pixel (x, y) is (x, y, x + 10·y). */
function ramp(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x, y, x + 10 * y], (y * w + x) * 3);
  return { width: w, height: h, data };
}
const px = (img: RgbImage, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('decode + resize', () => {
  it('decodes a PNG exactly and names the path of a corrupt or missing file', () => {
    const c = createCanvas(3, 2);
    const ctx = c.getContext('2d');
    const id = ctx.createImageData(3, 2);
    for (let i = 0; i < 6; i++) id.data.set([i * 40, 255 - i * 40, i * 7, 255], i * 4);
    ctx.putImageData(id, 0, 0);
    const file = join(tmp, 'a.png');
    writeFileSync(file, c.encodeSync('png'));
    const img = decodeImage(file);
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(px(img, 2, 1)).toEqual([200, 55, 35]);
    const bad = join(tmp, 'bad.jpg');
    writeFileSync(bad, Buffer.from('definitely not a jpeg'));
    expect(() => decodeImage(bad)).toThrow(bad);
    expect(() => decodeImage(join(tmp, 'missing.jpg'))).toThrow(join(tmp, 'missing.jpg'));
  });

  it('resizes bilinearly with half-pixel centres', () => {
    const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 100, 200, 40]) };
    const up = resizeBilinear(img, 4, 1);
    // centres at x = −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    expect([...up.data]).toEqual([0, 0, 0, 25, 50, 10, 75, 150, 30, 100, 200, 40]);
    const flat: RgbImage = { width: 5, height: 3, data: new Uint8Array(45).fill(77) };
    expect(resizeBilinear(flat, 7, 9).data.every((v) => v === 77)).toBe(true);
    expect(resizeBilinear(flat, 5, 3)).toBe(flat);
  });
});

describe('transforms', () => {
  it('flips left-right', () => {
    const img = ramp(3, 2);
    const f = hflip(img);
    expect(px(f, 0, 1)).toEqual(px(img, 2, 1));
    expect(px(f, 2, 0)).toEqual(px(img, 0, 0));
    expect(hflip(f).data).toEqual(img.data);
  });

  it('pads with zeros and crops at the given offset', () => {
    const img = ramp(4, 4);
    expect(padCrop(img, 2, 2, 2).data).toEqual(img.data);
    const c = padCrop(img, 2, 0, 1); // shifted down by 2, right by 1
    expect(px(c, 0, 0)).toEqual([0, 0, 0]);
    expect(px(c, 1, 2)).toEqual(px(img, 0, 0));
    expect(px(c, 3, 3)).toEqual(px(img, 2, 1));
  });

  it('normalises with ImageNet and CLIP statistics', () => {
    const x = toUnitFloat({ width: 1, height: 1, data: new Uint8Array([255, 0, 128]) });
    const y = Float32Array.from(x);
    normalize(x, 'imagenet');
    expect(x[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(x[1]).toBeCloseTo((0 - 0.456) / 0.224, 5);
    expect(x[2]).toBeCloseTo((128 / 255 - 0.406) / 0.225, 5);
    normalize(y, 'clip');
    expect(y[0]).toBeCloseTo((1 - NORMALIZATION_STATS.clip.mean[0]) / NORMALIZATION_STATS.clip.std[0], 5);
    expect(y[1]).toBeCloseTo(-0.4578275 / 0.26130258, 5);
  });

  it('erases one in-bounds box of the right area and leaves the rest', () => {
    const h = 32;
    const w = 24;
    let erased = 0;
    for (let s = 0; s < 50; s++) {
      const x = new Float32Array(h * w * 3).fill(5);
      const box = randomErasing(x, h, w, {}, new Rng(s));
      if (!box) continue;
      erased += 1;
      expect(box.top + box.height).toBeLessThanOrEqual(h);
      expect(box.left + box.width).toBeLessThanOrEqual(w);
      expect(box.height * box.width).toBeGreaterThanOrEqual(0.02 * h * w * 0.5);
      expect(box.height * box.width).toBeLessThanOrEqual(0.4 * h * w * 1.5);
      const zeros = x.filter((v) => v === 0).length;
      expect(zeros).toBe(box.height * box.width * 3);
      expect(x[(box.top * w + box.left) * 3]).toBe(0);
    }
    expect(erased).toBeGreaterThan(10);
    expect(erased).toBeLessThan(40);
    expect(randomErasing(new Float32Array(12), 2, 2, { p: 0 }, new Rng(1))).toBeUndefined();
  });

  it('keeps colour jitter in [0, 1] and is a no-op at strength 0', () => {
    const x = toUnitFloat(ramp(8, 8));
    const before = Float32Array.from(x);
    colorJitter(x, { brightness: 0, contrast: 0, saturation: 0 }, new Rng(1));
    expect(x).toEqual(before);
    colorJitter(x, { brightness: 0.8, contrast: 0.8, saturation: 0.8 }, new Rng(2));
    expect(x.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(x).not.toEqual(before);
  });

  it('is deterministic per stream, varies across streams, and shares the flip between branches', () => {
    const img = ramp(16, 16);
    const opts = { ...trainTransforms([16, 16]), colorJitter: { brightness: 0.3 } };
    expect(applyTransforms(img, opts, new Rng(9))).toEqual(applyTransforms(img, opts, new Rng(9)));
    expect(applyTransforms(img, opts, new Rng(9))).not.toEqual(applyTransforms(img, opts, new Rng(10)));
    const flipOnly = { size: [16, 16] as const, flipProb: 0.5, normalization: 'none' as const };
    // left half black, right half grey: pixel (0, 0) is non-zero exactly when flipped
    const halves = (w: number): RgbImage => ({ width: w, height: w, data: Uint8Array.from({ length: w * w * 3 }, (_, i) => ((i / 3) % w >= w / 2 ? 200 : 0)) });
    let flips = 0;
    for (let s = 0; s < 20; s++) {
      const a = applyTransforms(halves(16), flipOnly, new Rng(s));
      const b = applyTransforms(halves(8), { ...flipOnly, size: [8, 8] }, new Rng(s));
      expect(b[0] !== 0).toBe(a[0] !== 0);
      if (a[0] !== 0) flips += 1;
    }
    expect(flips).toBeGreaterThan(3);
    expect(flips).toBeLessThan(17);
    expect(() => applyTransforms(img, { size: [8, 8] }, new Rng(1))).toThrow(/expected a 8×8 image/);
  });
});
