/**
 * The deterministic bilinear resize of the input pipeline, on interleaved RGB uint8 (pure arithmetic, no Node or
 * canvas import, so the browser entry point loads the very same code as the Node loader).
 */

/** An RGB image, row-major, channels interleaved (`data.length === width * height * 3`). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Bilinear resize with half-pixel centres (OpenCV `INTER_LINEAR` / tf `resizeBilinear(halfPixelCenters)`),
 * no antialiasing, rounded to the nearest integer. Returns the input when the size already matches.
 */
export function resizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resizeBilinear: size must be positive integers, got ${width}×${height}`);
  }
  if (img.width === width && img.height === height) return img;
  const src = img.data;
  const out = new Uint8Array(width * height * 3);
  const sx = img.width / width;
  const sy = img.height / height;
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const fxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(x0s[x]! + 1, img.width - 1);
    fxs[x] = fx - x0s[x]!;
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    const r0 = y0 * img.width * 3;
    const r1 = y1 * img.width * 3;
    for (let x = 0; x < width; x++) {
      const a = x0s[x]! * 3;
      const b = x1s[x]! * 3;
      const wx = fxs[x]!;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[r0 + a + c]! + (src[r0 + b + c]! - src[r0 + a + c]!) * wx;
        const bot = src[r1 + a + c]! + (src[r1 + b + c]! - src[r1 + a + c]!) * wx;
        out[o + c] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return { width, height, data: out };
}
