/**
 * One query's ranked gallery for the explorer — the same order as engine's `rankedLists` (the protocol's distance,
 * ties by gallery index, same-identity same-camera images as junk), but with the junk kept in the list and marked,
 * so a reader sees what the VeRi-776 rule skipped. Node-free: the build (record-less runs' lists) and the page (the
 * live demo) run this very file.
 */
import { computeDistances, type DistanceMetric } from '@clip-senet/metrics';
import type { RankMark } from './site-types';

/** Options of {@link rankGallery}. */
export interface RankGalleryOptions {
  /** The query's feature [dim]. */
  readonly query: Float32Array;
  /** Gallery features, row-major [n × dim]. */
  readonly gallery: Float32Array;
  readonly dim: number;
  readonly metric: DistanceMetric;
  readonly galleryIds: ArrayLike<number>;
  readonly galleryCams: ArrayLike<number>;
  /** The query's identity and camera; absent for an image of unknown identity (no marks, no junk). */
  readonly label?: { readonly id: number; readonly cam: number };
  /** Entries that count (junk does not), default 10. */
  readonly topK?: number;
}

/** A gallery entry in rank order. */
export interface RankedIndex {
  readonly index: number;
  readonly distance: number;
  /** 'unknown' for a query without identity. */
  readonly mark: RankMark | 'unknown';
}

/** The first `topK` counted gallery entries, with the junk ranked among them marked and kept in place. */
export function rankGallery(o: RankGalleryOptions): RankedIndex[] {
  const n = o.galleryIds.length;
  if (o.gallery.length !== n * o.dim) throw new Error(`rankGallery: ${o.gallery.length} gallery values for ${n} rows × ${o.dim}`);
  if (o.query.length !== o.dim) throw new Error(`rankGallery: query of ${o.query.length} values, expected ${o.dim}`);
  const row = computeDistances(o.query, o.gallery, o.dim, o.metric); // [1, n]
  const order = Array.from({ length: n }, (_, g) => g).sort((a, b) => row[a]! - row[b]! || a - b);
  const k = o.topK ?? 10;
  const out: RankedIndex[] = [];
  let counted = 0;
  for (const g of order) {
    if (counted >= k) break;
    const distance = row[g]!;
    if (!o.label) {
      out.push({ index: g, distance, mark: 'unknown' });
      counted++;
      continue;
    }
    const same = o.galleryIds[g] === o.label.id;
    if (same && o.galleryCams[g] === o.label.cam) {
      out.push({ index: g, distance, mark: 'junk' });
      continue;
    }
    out.push({ index: g, distance, mark: same ? 'correct' : 'wrong' });
    counted++;
  }
  return out;
}
