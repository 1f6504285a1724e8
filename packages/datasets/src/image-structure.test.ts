import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from './decode';
import { DamagedImagesError, TAIL_BYTES, assertImagesIntact, checkImageFiles, encodedImageProblem, headTailProblem } from './image-structure';

const tmp = mkdtempSync(join(tmpdir(), 'image-structure-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A 64×48 colour ramp, encoded as JPEG (quality 90) and PNG. */
function encoded(): { jpeg: Buffer; png: Buffer } {
  const c = createCanvas(64, 48);
  const ctx = c.getContext('2d');
  for (let x = 0; x < 64; x++) {
    ctx.fillStyle = `rgb(${x * 4},${255 - x * 4},${(x * 37) % 255})`;
    ctx.fillRect(x, 0, 1, 48);
  }
  return { jpeg: c.encodeSync('jpeg', 90), png: c.encodeSync('png') };
}
const { jpeg, png } = encoded();
const write = (name: string, bytes: Uint8Array): string => {
  const file = join(tmp, name);
  writeFileSync(file, bytes);
  return file;
};
const cat = (...parts: Uint8Array[]): Buffer => Buffer.concat(parts);
const headTail = (b: Uint8Array): string | undefined => headTailProblem(b.subarray(0, 8), b.subarray(Math.max(0, b.length - TAIL_BYTES)), b.length);

describe('decodeImage is strict', () => {
  it('decodes complete JPEG and PNG files, also with trailing zero / fill padding', () => {
    for (const [name, bytes] of [['ok.jpg', jpeg], ['ok.png', png], ['pad.jpg', cat(jpeg, Buffer.alloc(7), Buffer.from([0xff]))], ['pad.png', cat(png, Buffer.alloc(3))]] as const) {
      const img = decodeImage(write(name, bytes));
      expect([img.width, img.height]).toEqual([64, 48]);
    }
  });

  // Without the structural check the canvas decoder returns a 64×48 image for each of these (jpeg-cut-header: 0×0, but
  // an error that does not say why).
  const damaged: [string, Buffer, RegExp][] = [
    ['jpeg-no-eoi.jpg', jpeg.subarray(0, jpeg.length - 2), /without the end-of-image marker FFD9/],
    ['jpeg-cut.jpg', jpeg.subarray(0, jpeg.length - 300), /without the end-of-image marker FFD9/],
    ['jpeg-cut-header.jpg', jpeg.subarray(0, 100), /ends inside segment FF/],
    ['jpeg-trailer.jpg', cat(jpeg, Buffer.from('tail')), /4 byte\(s\) after its end-of-image marker/],
    ['png-no-iend.png', png.subarray(0, png.length - 12), /without an IEND chunk/],
    ['png-half.png', png.subarray(0, png.length >> 1), /ends inside chunk IDAT/],
  ];
  for (const [name, bytes, message] of damaged) {
    it(`refuses ${name} with an error naming the file`, () => {
      const file = write(name, bytes);
      expect(() => decodeImage(file)).toThrow(`cannot decode image ${file}: `);
      expect(() => decodeImage(file)).toThrow(message);
    });
  }

  it('refuses a PNG whose image data was altered (CRC-32; the canvas decoder returns 64×48 for it) and names bytes by the given name', () => {
    const bad = Buffer.from(png);
    const idat = bad.indexOf('IDAT');
    bad[idat + 10] = bad[idat + 10]! ^ 0x40;
    expect(() => decodeImage(bad, 'frame-7.png')).toThrow(/^cannot decode image frame-7\.png: PNG chunk IDAT at byte \d+ fails its CRC-32/);
    expect(encodedImageProblem(new Uint8Array(0))).toBe('empty file');
    expect(encodedImageProblem(Buffer.from('GIF89a....'))).toMatch(/not a JPEG/);
  });
});

describe('head/tail check of image files', () => {
  it('passes complete files and padded ones, and reports truncation, empty files, other formats and missing files', () => {
    expect(headTail(jpeg)).toBeUndefined();
    expect(headTail(png)).toBeUndefined();
    expect(headTail(cat(jpeg, Buffer.alloc(100)))).toBeUndefined();
    expect(headTail(jpeg.subarray(0, jpeg.length - 1))).toMatch(/^JPEG does not end with the end-of-image marker FFD9/);
    expect(headTail(png.subarray(0, png.length - 4))).toMatch(/^PNG does not end with the IEND chunk/);
    expect(headTail(cat(jpeg, Buffer.alloc(TAIL_BYTES)))).toMatch(/FFD9/); // padding longer than the tail read
    const files = [write('a.jpg', jpeg), write('b.jpg', jpeg.subarray(0, jpeg.length - 2)), write('c.png', png), write('e.jpg', new Uint8Array(0)), join(tmp, 'missing.jpg')];
    const report = checkImageFiles([...files, files[1]!]);
    expect(report.checked).toBe(5);
    expect(report.damaged.map((d) => d.path)).toEqual([files[1], files[3], files[4]]);
    expect(report.damaged[1]!.problem).toBe('empty file');
    expect(report.damaged[2]!.problem).toBe('cannot open (ENOENT)');
  });

  it('assertImagesIntact counts the damaged files and names the first five', () => {
    const good = write('good.jpg', jpeg);
    const bad = Array.from({ length: 7 }, (_, i) => write(`cut-${i}.jpg`, jpeg.subarray(0, jpeg.length - 2 - i)));
    expect(assertImagesIntact('tree', [good, good])).toEqual({ checked: 1, damaged: [] });
    let err: unknown;
    try {
      assertImagesIntact('tree', [good, ...bad]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DamagedImagesError);
    const { message, damaged } = err as DamagedImagesError;
    expect(damaged).toHaveLength(7);
    expect(message).toMatch(/^tree: 7 of 8 image\(s\) are damaged/);
    expect(message).toContain(`${bad[0]}: JPEG does not end with the end-of-image marker FFD9`);
    expect(message).toContain(bad[4]);
    expect(message).not.toContain(bad[5]);
    expect(message).toMatch(/… and 2 more$/);
  });
});
