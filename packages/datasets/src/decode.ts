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
import type { RgbImage } from './resize';

// the resize and the image type live in ./resize (no Node or canvas import: the browser entry loads it)
export { resizeBilinear } from './resize';
export type { RgbImage } from './resize';

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
