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

/**
 * The identity both caches key an image by: absolute path, mtime, size and target size (editing or replacing the
 * file changes it), or undefined when the file cannot be stat'ed.
 */
function imageKey(path: string, width: number, height: number): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  return `${resolve(path)}\0${st.mtimeMs}\0${st.size}\0${width}x${height}`;
}

export class ResizedImageCache {
  readonly dir: string;
  readonly stats: ImageCacheStats = { hits: 0, misses: 0 };

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Cache file of `path` at `width`×`height`, or undefined when the image cannot be stat'ed. */
  entryPath(path: string, width: number, height: number): string | undefined {
    const key = imageKey(path, width, height);
    if (key === undefined) return undefined;
    const hash = createHash('sha1').update(key).digest('hex');
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
 * Decoded + resized images kept in memory by a loader (each of its workers has its own), keyed like the disk
 * cache by (absolute path, mtime, size, target size). It fills until `budgetBytes` is used and then adds nothing
 * more (no eviction: what is in stays valid, and the order of loads cannot change what a run computes). The images
 * are shared, never copied: the transforms read them and write new arrays (transforms.ts), so nothing may write to a
 * returned image.
 */
export class MemoryImageCache {
  readonly budgetBytes: number;
  readonly stats: ImageCacheStats = { hits: 0, misses: 0 };
  private readonly images = new Map<string, RgbImage>();
  private used = 0;

  constructor(budgetBytes: number) {
    if (!Number.isFinite(budgetBytes) || budgetBytes < 0) throw new RangeError(`MemoryImageCache: budget must be a non-negative number of bytes, got ${budgetBytes}`);
    this.budgetBytes = budgetBytes;
  }

  /** Bytes of pixels held. */
  get bytes(): number {
    return this.used;
  }

  /** The key of `path` at `width`×`height`, or undefined when the image cannot be stat'ed. */
  key(path: string, width: number, height: number): string | undefined {
    return imageKey(path, width, height);
  }

  get(key: string): RgbImage | undefined {
    return this.images.get(key);
  }

  /** Keeps `img` if it fits in what is left of the budget. */
  put(key: string, img: RgbImage): void {
    if (this.images.has(key) || this.used + img.data.byteLength > this.budgetBytes) return;
    this.images.set(key, img);
    this.used += img.data.byteLength;
  }
}

/** Default budget of a loader's memory cache of decoded images, MiB (`CLIP_SENET_IMAGE_MEMORY_MB` overrides). */
export const DEFAULT_IMAGE_MEMORY_MB = 256;

/** The memory-cache budget in bytes: `mb`, else `CLIP_SENET_IMAGE_MEMORY_MB`, else the default; 0 turns it off. */
export function imageMemoryBudget(mb?: number, env: Record<string, string | undefined> = process.env): number {
  const raw = env.CLIP_SENET_IMAGE_MEMORY_MB;
  const value = mb ?? (raw === undefined || raw === '' ? DEFAULT_IMAGE_MEMORY_MB : Number(raw));
  const where = mb !== undefined ? 'memoryCacheMB' : 'CLIP_SENET_IMAGE_MEMORY_MB';
  if (!Number.isFinite(value) || value < 0) throw new Error(`${where}: a non-negative number of MiB, got '${mb ?? raw}'`);
  return Math.floor(value * 2 ** 20);
}

/**
 * Decoded images of one sample at several sizes, through the memory cache and the disk cache when given: the file is decoded at most once, and not at all when every size is cached.
 */
export function loadResized(
  path: string,
  sizes: readonly (readonly [number, number])[],
  cache?: ResizedImageCache,
  memory?: MemoryImageCache,
): RgbImage[] {
  const keys = sizes.map(([h, w]) => memory?.key(path, w, h));
  const out: (RgbImage | undefined)[] = keys.map((k) => (k === undefined ? undefined : memory!.get(k)));
  let decoded: RgbImage | undefined;
  sizes.forEach(([h, w], i) => {
    if (out[i] !== undefined) {
      memory!.stats.hits += 1;
      return;
    }
    if (memory) memory.stats.misses += 1;
    out[i] = cache?.get(path, w, h);
    if (out[i] !== undefined) cache!.stats.hits += 1;
    else {
      decoded ??= decodeImage(path);
      out[i] = resizeBilinear(decoded, w, h);
      if (cache) {
        cache.stats.misses += 1;
        cache.put(path, out[i]);
      }
    }
    if (keys[i] !== undefined) memory!.put(keys[i], out[i]);
  });
  return out as RgbImage[];
}
