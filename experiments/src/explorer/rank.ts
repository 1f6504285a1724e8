/**
 * One query's ranked gallery for the explorer — the same order as engine's `rankedLists` (the protocol's distance,
 * ties by gallery index, the protocol's own good / junk rule: metrics' `cameraJunkRule` unless told otherwise), but
 * with the junk kept in the list and marked, so a reader sees what the rule skipped. Node-free: the build
 * (record-less runs' lists) and the page (the live demo) run this very file.
 */
import { cameraJunkRule, computeDistances, type DistanceMetric, type RelevanceRule } from '@clip-senet/metrics';
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
  /** The protocol's good / junk rule (default: VeRi-776's, same identity from the same camera is junk). */
  readonly relevance?: RelevanceRule;
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
  const relevance = o.relevance ?? cameraJunkRule;
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
    const rel = relevance({ query: { ids: [o.label.id], cams: [o.label.cam] }, gallery: { ids: o.galleryIds, cams: o.galleryCams } }, 0, g);
    if (rel === 'junk') {
      out.push({ index: g, distance, mark: 'junk' });
      continue;
    }
    out.push({ index: g, distance, mark: rel === 'good' ? 'correct' : 'wrong' });
    counted++;
  }
  return out;
}
