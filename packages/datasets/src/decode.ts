/**
 * Image decoding (JPEG/PNG via @napi-rs/canvas, the fastest decoder measured in BACKENDS.md) and a deterministic
 * bilinear resize, both to interleaved RGB uint8. Pure JS arithmetic after decoding, so results are identical in
 * every process and worker. Decoding is strict: the canvas decoder fills the missing rows of a truncated JPEG or
 * PNG without complaint, so the encoded structure is checked first (`encodedImageProblem`) and a damaged file is an
 * error naming it.
 */
import { readFileSync } from 'node:fs';
import { type Canvas, Image, createCanvas } from '@napi-rs/canvas';
import { encodedImageProblem } from './image-structure';

/** An RGB image, row-major, channels interleaved (`data.length === width * height * 3`). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

let scratch: Canvas | undefined;

function canvasOf(width: number, height: number): Canvas {
  if (scratch === undefined || scratch.width !== width || scratch.height !== height) scratch = createCanvas(width, height);
  return scratch;
}

/**
 * Decode a JPEG or PNG file (or its bytes) to RGB. Alpha is dropped (images are composited on nothing).
 *
 * @param source a file path, or the encoded bytes
 * @param name how to name the image in errors when `source` is bytes
 * @throws Error naming the path when the file is missing, unreadable, truncated or corrupt (an incomplete JPEG
 *   marker structure or PNG chunk list, a PNG chunk failing its CRC), or otherwise not a decodable image
 */
export function decodeImage(source: string | Uint8Array, name = '<bytes>'): RgbImage {
  const label = typeof source === 'string' ? source : name;
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? readFileSync(source) : source;
  } catch (err) {
    throw new Error(`cannot read image ${label}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const problem = encodedImageProblem(bytes);
  if (problem !== undefined) throw new Error(`cannot decode image ${label}: ${problem}`);
  const img = new Image();
  try {
    img.src = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (err) {
    throw new Error(`cannot decode image ${label}: ${(err as Error).message}`);
  }
  if (!(img.width > 0 && img.height > 0)) throw new Error(`cannot decode image ${label}: not a valid JPEG/PNG (${bytes.byteLength} bytes)`);
  const canvas = canvasOf(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, img.width, img.height);
  ctx.drawImage(img, 0, 0);
  const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i]!;
    data[j + 1] = rgba[i + 1]!;
    data[j + 2] = rgba[i + 2]!;
  }
  return { width: img.width, height: img.height, data };
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
