/**
 * Ranked lists for the report's ranked-list figure: for the first n valid queries (query order), the top-k gallery
 * images under the protocol's distance (cosine or euclidean, read from the protocol id), with same-identity
 * same-camera gallery images removed as junk — the default VeRi-776 rule. A query is valid when some gallery image
 * has its identity from another camera. Re-ranking and query expansion are not applied: the lists show the plain
 * feature distances (the protocol id still names what the metrics used).
 */
import { computeDistances, type DistanceMetric } from '@clip-senet/metrics';
import type { Sample } from '@clip-senet/datasets';

/** One query's ranked gallery: sample paths and whether each is the query's identity. */
export interface RankedQuery {
  readonly query: string;
  readonly gallery: readonly { readonly path: string; readonly match: boolean }[];
}

/** Features with labels, row-major [n × dim]. */
interface Labelled {
  readonly features: Float32Array;
  readonly ids: ArrayLike<number>;
  readonly cams: ArrayLike<number>;
}

/** The distance a protocol id names (`…/euclidean/…` → euclidean, otherwise cosine). */
export function protocolMetric(protocolId: string): DistanceMetric {
  return protocolId.split('/').includes('euclidean') ? 'euclidean' : 'cosine';
}

/** Options of {@link rankedLists}. */
export interface RankedListsOptions {
  readonly query: Labelled;
  readonly gallery: Labelled;
  readonly dim: number;
  readonly querySamples: readonly Sample[];
  readonly gallerySamples: readonly Sample[];
  readonly metric: DistanceMetric;
  /** Number of queries. */
  readonly count: number;
  /** List length (default 10). */
  readonly topK?: number;
}

function isJunk(q: number, g: number, o: RankedListsOptions): boolean {
  return o.gallery.ids[g] === o.query.ids[q] && o.gallery.cams[g] === o.query.cams[q];
}

/** Ranked lists of the first `count` valid queries. */
export function rankedLists(o: RankedListsOptions): RankedQuery[] {
  const ng = o.gallery.ids.length;
  const valid: number[] = [];
  for (let q = 0; q < o.query.ids.length && valid.length < o.count; q++) {
    for (let g = 0; g < ng; g++) {
      if (o.gallery.ids[g] === o.query.ids[q] && o.gallery.cams[g] !== o.query.cams[q]) {
        valid.push(q);
        break;
      }
    }
  }
  if (valid.length === 0) return [];
  const sub = new Float32Array(valid.length * o.dim); // [n_valid, dim]
  valid.forEach((q, i) => sub.set(o.query.features.subarray(q * o.dim, (q + 1) * o.dim), i * o.dim));
  const dist = computeDistances(sub, o.gallery.features, o.dim, o.metric); // [n_valid, ng]
  const k = o.topK ?? 10;
  return valid.map((q, i) => {
    const row = dist.subarray(i * ng, (i + 1) * ng);
    const order = Array.from({ length: ng }, (_, g) => g)
      .filter((g) => !isJunk(q, g, o))
      .sort((a, b) => row[a] - row[b] || a - b)
      .slice(0, k);
    return {
      query: o.querySamples[q].path,
      gallery: order.map((g) => ({ path: o.gallerySamples[g].path, match: o.gallery.ids[g] === o.query.ids[q] })),
    };
  });
}
