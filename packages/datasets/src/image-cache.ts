/**
 * Optional on-disk cache of decoded + resized uint8 RGB images, so epochs after the first skip JPEG decoding.
 *
 * An entry is keyed by (absolute path, mtime, size, target size): editing or replacing an image invalidates it.
 * Entries are raw files `<dir>/<hash[0:2]>/<hash>.rgb` (a 16-byte header `RGB1` + width + height + 4 reserved
 * bytes, then the pixels), written atomically, so concurrent workers and killed runs never leave a torn entry.
 * Put the cache in a git-ignored place, e.g. `<repo>/.cache/datasets/resized` (`.cache/` is ignored).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@clip-senet/core';
import { type RgbImage, decodeImage, resizeBilinear } from './decode';

const MAGIC = 0x31424752; // 'RGB1' little-endian
const HEADER = 16;

/** Counters of a cache (per process / worker). */
export interface ImageCacheStats {
  hits: number;
  misses: number;
}

export class ResizedImageCache {
  readonly dir: string;
  readonly stats: ImageCacheStats = { hits: 0, misses: 0 };

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Cache file of `path` at `width`×`height`, or undefined when the image cannot be stat'ed. */
  entryPath(path: string, width: number, height: number): string | undefined {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined;
    }
    const hash = createHash('sha1').update(`${resolve(path)}\0${st.mtimeMs}\0${st.size}\0${width}x${height}`).digest('hex');
    return join(this.dir, hash.slice(0, 2), `${hash}.rgb`);
  }

  /** The cached image, or undefined (missing or unreadable entry). */
  get(path: string, width: number, height: number): RgbImage | undefined {
    const entry = this.entryPath(path, width, height);
    if (entry === undefined) return undefined;
    let buf: Buffer;
    try {
      buf = readFileSync(entry);
    } catch {
      return undefined;
    }
    if (buf.byteLength !== HEADER + width * height * 3 || buf.readUInt32LE(0) !== MAGIC) return undefined;
    if (buf.readUInt32LE(4) !== width || buf.readUInt32LE(8) !== height) return undefined;
    return { width, height, data: new Uint8Array(buf.buffer, buf.byteOffset + HEADER, width * height * 3) };
  }

  put(path: string, img: RgbImage): void {
    const entry = this.entryPath(path, img.width, img.height);
    if (entry === undefined) return;
    const header = Buffer.alloc(HEADER);
    header.writeUInt32LE(MAGIC, 0);
    header.writeUInt32LE(img.width, 4);
    header.writeUInt32LE(img.height, 8);
    writeFileAtomic(entry, [header, img.data]);
  }
}

/**
 * Decoded images of one sample at several sizes, through the cache when given: the file is decoded at most once,
 * and not at all when every size is cached.
 */
export function loadResized(path: string, sizes: readonly (readonly [number, number])[], cache?: ResizedImageCache): RgbImage[] {
  const out: (RgbImage | undefined)[] = sizes.map(([h, w]) => cache?.get(path, w, h));
  let decoded: RgbImage | undefined;
  sizes.forEach(([h, w], i) => {
    if (out[i] !== undefined) {
      cache!.stats.hits += 1;
      return;
    }
    decoded ??= decodeImage(path);
    out[i] = resizeBilinear(decoded, w, h);
    if (cache) {
      cache.stats.misses += 1;
      cache.put(path, out[i]);
    }
  });
  return out as RgbImage[];
}
