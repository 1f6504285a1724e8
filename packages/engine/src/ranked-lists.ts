/**
 * Ranked lists for the report's ranked-list figure: for the first n valid queries (query order), the top-k gallery
 * images under the protocol's own distance and good/junk rule (`protocol.metric`, `protocol.relevance` — the very
 * rule its evaluation applies: same-identity same-camera junk for VeRi-776 and VeRi-Wild, the official lists for
 * `veri776-gtjk`), with junk left out. A query is valid when some gallery image is good for it. Re-ranking and
 * query expansion are not applied: the lists show the plain feature distances (the protocol id still names what
 * the metrics used).
 */
import { computeDistances, type QueryGalleryProtocol } from '@clip-senet/metrics';
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

/** Options of {@link rankedLists}. */
export interface RankedListsOptions {
  readonly query: Labelled;
  readonly gallery: Labelled;
  readonly dim: number;
  readonly querySamples: readonly Sample[];
  readonly gallerySamples: readonly Sample[];
  /** The protocol the lists illustrate: its distance and its good/junk rule. */
  readonly protocol: Pick<QueryGalleryProtocol, 'metric' | 'relevance'>;
  /** Number of queries. */
  readonly count: number;
  /** List length (default 10). */
  readonly topK?: number;
}

/** Ranked lists of the first `count` valid queries. */
export function rankedLists(o: RankedListsOptions): RankedQuery[] {
  const ng = o.gallery.ids.length;
  const labels = { query: o.query, gallery: o.gallery };
  const rule = o.protocol.relevance;
  const valid: number[] = [];
  for (let q = 0; q < o.query.ids.length && valid.length < o.count; q++) {
    for (let g = 0; g < ng; g++) {
      if (rule(labels, q, g) === 'good') {
        valid.push(q);
        break;
      }
    }
  }
  if (valid.length === 0) return [];
  const sub = new Float32Array(valid.length * o.dim); // [n_valid, dim]
  valid.forEach((q, i) => sub.set(o.query.features.subarray(q * o.dim, (q + 1) * o.dim), i * o.dim));
  const dist = computeDistances(sub, o.gallery.features, o.dim, o.protocol.metric); // [n_valid, ng]
  const k = o.topK ?? 10;
  return valid.map((q, i) => {
    const row = dist.subarray(i * ng, (i + 1) * ng);
    const order = Array.from({ length: ng }, (_, g) => g)
      .filter((g) => rule(labels, q, g) !== 'junk')
      .sort((a, b) => row[a] - row[b] || a - b)
      .slice(0, k);
    return {
      query: o.querySamples[q].path,
      gallery: order.map((g) => ({ path: o.gallerySamples[g].path, match: rule(labels, q, g) === 'good' })),
    };
  });
}
