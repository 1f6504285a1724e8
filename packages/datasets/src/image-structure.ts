/**
 * Structural checks of encoded JPEG / PNG images, so a damaged file is an error naming it instead of a silently
 * half-grey training image (the canvas decoder accepts a JPEG without its end-of-image marker and a PNG cut in
 * half, and fills the missing rows).
 *
 * Two levels:
 * - {@link encodedImageProblem}: the whole file, used by `decodeImage` before decoding. JPEG: the marker segments
 *   from SOI (FFD8) through the scans to EOI (FFD9), every segment inside the file, a frame header and a scan
 *   present. PNG: the signature, then every chunk inside the file with a matching CRC-32, IHDR first, at least one
 *   IDAT, and IEND. Damage inside JPEG entropy-coded data that keeps the marker structure intact cannot be seen
 *   without decoding and is not detected.
 * - {@link headTailProblem} / {@link checkImageFiles}: only the first {@link HEAD_BYTES} and last
 *   {@link TAIL_BYTES} bytes of each file (JPEG starts with FFD8 FF and ends with FFD9; PNG starts with its
 *   signature and ends with the IEND chunk), cheap enough to run over a whole dataset before training.
 *
 * Both allow trailing padding after the end marker: 0x00 bytes (and 0xFF fill bytes after a JPEG EOI). Anything
 * else after the end marker is reported.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Bytes read from the start of each file by {@link checkImageFiles}. */
export const HEAD_BYTES = 8;
/** Bytes read from the end of each file by {@link checkImageFiles} (trailing padding longer than this is reported). */
export const TAIL_BYTES = 4096;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Length 0, "IEND", CRC-32 of "IEND". */
const PNG_IEND = [0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82];

type Kind = 'jpeg' | 'png';

/** CRC-32 (IEEE, reflected, as PNG uses) table; `zlib.crc32` needs Node 20.15, the workspace allows 20.11. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function kindOf(head: Uint8Array): Kind | undefined {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && PNG_SIGNATURE.every((b, i) => head[i] === b)) return 'png';
  return undefined;
}

const NOT_AN_IMAGE = 'not a JPEG (starts with FFD8 FF) or PNG (starts with the PNG signature)';

/** Length of `bytes` without trailing padding (0x00; for JPEG also 0xFF fill bytes). */
function withoutPadding(bytes: Uint8Array, kind: Kind): number {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x00 || (kind === 'jpeg' && bytes[end - 1] === 0xff))) end--;
  return end;
}

/**
 * The problem with a file judged by its head and tail bytes only, or `undefined` when it looks complete.
 *
 * @param head the first bytes of the file (at least 8 for PNG)
 * @param tail the last bytes of the file (the whole file when it is short)
 * @param size the file size in bytes
 */
export function headTailProblem(head: Uint8Array, tail: Uint8Array, size: number): string | undefined {
  if (size === 0) return 'empty file';
  const kind = kindOf(head);
  if (kind === undefined) return NOT_AN_IMAGE;
  const end = withoutPadding(tail, kind);
  if (kind === 'jpeg') {
    if (end >= 2 && tail[end - 2] === 0xff && tail[end - 1] === 0xd9) return undefined;
    return `JPEG does not end with the end-of-image marker FFD9 (truncated?; ${size} bytes)`;
  }
  if (end >= PNG_IEND.length && PNG_IEND.every((b, i) => tail[end - PNG_IEND.length + i] === b)) return undefined;
  return `PNG does not end with the IEND chunk (truncated?; ${size} bytes)`;
}

const hex = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

/** Full walk of a JPEG's marker structure; the problem, or `undefined` when it is complete. */
function jpegProblem(b: Uint8Array): string | undefined {
  const n = b.length;
  let pos = 2;
  let frame = false;
  let scans = 0;
  for (;;) {
    if (pos >= n) return `JPEG ends after ${n} bytes without the end-of-image marker FFD9 (truncated?)`;
    if (b[pos] !== 0xff) return `JPEG has no marker at byte ${pos} (found ${hex(b[pos]!)}; corrupt)`;
    while (pos < n && b[pos] === 0xff) pos++; // fill bytes before a marker
    if (pos >= n) return `JPEG ends after ${n} bytes without the end-of-image marker FFD9 (truncated?)`;
    const marker = b[pos++]!;
    if (marker === 0xd9) {
      if (!frame || scans === 0) return `JPEG reaches its end-of-image marker without ${frame ? 'a scan' : 'a frame header'} (corrupt)`;
      const end = withoutPadding(b, 'jpeg');
      return end > pos ? `JPEG has ${end - pos} byte(s) after its end-of-image marker that are not padding (corrupt)` : undefined;
    }
    if (marker === 0xd8) return `JPEG has a second start-of-image marker at byte ${pos - 2} (corrupt)`;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // standalone markers
    if (pos + 2 > n) return `JPEG ends inside the header of marker FF${hex(marker)} (truncated?; ${n} bytes)`;
    const length = (b[pos]! << 8) | b[pos + 1]!;
    if (length < 2) return `JPEG marker FF${hex(marker)} at byte ${pos - 2} has an invalid length ${length} (corrupt)`;
    if (pos + length > n) return `JPEG ends inside segment FF${hex(marker)} (needs ${pos + length} bytes, has ${n}; truncated?)`;
    pos += length;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) frame = true;
    if (marker !== 0xda) continue;
    scans++;
    // entropy-coded data: FF00 is a stuffed byte, FFD0..FFD7 restart markers, FFFF fill; any other FFxx ends it
    while (pos < n) {
      if (b[pos] !== 0xff) {
        pos++;
        continue;
      }
      const next = b[pos + 1];
      if (next === undefined) break;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) pos += 2;
      else if (next === 0xff) pos++;
      else break;
    }
  }
}

/** Full walk of a PNG's chunks with their CRC-32; the problem, or `undefined` when it is complete. */
function pngProblem(b: Uint8Array): string | undefined {
  const n = b.length;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 8;
  let chunks = 0;
  let idat = false;
  while (pos < n) {
    if (pos + 12 > n) return `PNG ends inside a chunk header at byte ${pos} (truncated?; ${n} bytes)`;
    const length = view.getUint32(pos);
    const type = String.fromCharCode(b[pos + 4]!, b[pos + 5]!, b[pos + 6]!, b[pos + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) return `PNG has an invalid chunk type at byte ${pos + 4} (corrupt)`;
    if (pos + 12 + length > n) return `PNG ends inside chunk ${type} (needs ${pos + 12 + length} bytes, has ${n}; truncated?)`;
    if (chunks === 0 && type !== 'IHDR') return `PNG does not start with an IHDR chunk (found ${type}; corrupt)`;
    const stored = view.getUint32(pos + 8 + length);
    if (crc32(b.subarray(pos + 4, pos + 8 + length)) !== stored) return `PNG chunk ${type} at byte ${pos} fails its CRC-32 (corrupt)`;
    chunks++;
    pos += 12 + length;
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') {
      if (!idat) return 'PNG has no image data (IDAT) before IEND (corrupt)';
      const end = withoutPadding(b, 'png');
      return end > pos ? `PNG has ${end - pos} byte(s) after its IEND chunk that are not padding (corrupt)` : undefined;
    }
  }
  return `PNG ends after ${n} bytes without an IEND chunk (truncated?)`;
}

/**
 * The problem with a whole encoded JPEG / PNG, or `undefined` when its structure is complete (see the module
 * comment for what is and is not checked).
 */
export function encodedImageProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'empty file';
  const kind = kindOf(bytes.subarray(0, HEAD_BYTES));
  if (kind === undefined) return NOT_AN_IMAGE;
  return kind === 'jpeg' ? jpegProblem(bytes) : pngProblem(bytes);
}

/** One damaged file found by {@link checkImageFiles}. */
export interface DamagedImage {
  readonly path: string;
  readonly problem: string;
}

/** What {@link checkImageFiles} found. */
export interface ImageCheckReport {
  /** Distinct files checked. */
  readonly checked: number;
  /** Damaged or unreadable files, in input order. */
  readonly damaged: DamagedImage[];
}

/** The head/tail problem of one file (an unreadable file is a problem too). */
export function imageFileProblem(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return `cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  try {
    const size = fstatSync(fd).size;
    const head = new Uint8Array(Math.min(HEAD_BYTES, size));
    const tail = new Uint8Array(Math.min(TAIL_BYTES, size));
    readSync(fd, head, 0, head.length, 0);
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return headTailProblem(head, tail, size);
  } catch (err) {
    return `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  } finally {
    closeSync(fd);
  }
}

/**
 * Check every distinct path by its head and tail bytes ({@link headTailProblem}): two small reads per file, so a
 * whole dataset is checked before training starts.
 */
export function checkImageFiles(paths: Iterable<string>): ImageCheckReport {
  const damaged: DamagedImage[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    if (seen.has(path)) continue;
    seen.add(path);
    const problem = imageFileProblem(path);
    if (problem !== undefined) damaged.push({ path, problem });
  }
  return { checked: seen.size, damaged };
}

/** How many damaged files a {@link DamagedImagesError} names before giving the total. */
export const DAMAGED_SHOWN = 5;

/** Images of a dataset failed the structural check ({@link checkImageFiles}). */
export class DamagedImagesError extends Error {
  /** Every damaged file found. */
  readonly damaged: readonly DamagedImage[];
  /** How many files were checked. */
  readonly checked: number;

  constructor(what: string, report: ImageCheckReport) {
    const shown = report.damaged.slice(0, DAMAGED_SHOWN).map((d) => `${d.path}: ${d.problem}`);
    const more = report.damaged.length > DAMAGED_SHOWN ? `\n  … and ${report.damaged.length - DAMAGED_SHOWN} more` : '';
    super(`${what}: ${report.damaged.length} of ${report.checked} image(s) are damaged; replace them (or remove their list lines):\n  ${shown.join('\n  ')}${more}`);
    this.name = 'DamagedImagesError';
    this.damaged = report.damaged;
    this.checked = report.checked;
  }
}

/**
 * Check the images of a dataset before training / evaluation.
 *
 * @param what names the dataset in the error (e.g. its root folder)
 * @throws DamagedImagesError listing how many files are damaged and naming the first {@link DAMAGED_SHOWN}
 */
export function assertImagesIntact(what: string, paths: Iterable<string>): ImageCheckReport {
  const report = checkImageFiles(paths);
  if (report.damaged.length > 0) throw new DamagedImagesError(what, report);
  return report;
}
