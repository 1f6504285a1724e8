/**
 * From config to evaluation (PROTOCOLS.md): {@link protocolFor} builds the metrics protocol a config asks for
 * (dataset + `eval` knobs → `veri776` / `veriWild` / `vehicleId`), and {@link evaluationFor} pairs it with the
 * loaded samples in the engine's query/gallery shape, so `train` and `eval` share one path.
 *
 * VehicleID has no fixed query/gallery split: its protocol draws `data.draws` seeded splits of the test list and
 * reports mean ± std. The engine evaluates a query/gallery protocol, so the plan hands it the whole test list as
 * "query" and an empty gallery; the adapter runs the draws on those features, returns the means (so logs and
 * `results.json` carry the usual fields) and keeps the full result (per-draw metrics, std) for
 * {@link EvaluationPlan.details}.
 *
 * The plan names its list files: an empty split is refused here, before any training, and the protocol's errors
 * (no valid query, non-finite features) say which file the rows came from.
 */
import { join } from 'node:path';
import { VERI776_SPLITS, veriWildListNames } from '@clip-senet/datasets';
import type { RunEvaluation } from '@clip-senet/engine';
import {
  veri776,
  vehicleId,
  veriWild,
  type GoodJunkLists,
  type LabelledFeatures,
  type ProtocolResult,
  type QueryGalleryProtocol,
  type VehicleIdProtocol,
  type VehicleIdResult,
} from '@clip-senet/metrics';
import type { ExperimentConfig } from './config';
import type { LoadedData } from './data';

/** A config's protocol: a query/gallery protocol, or VehicleID's seeded draws over one test list. */
export type ExperimentProtocol =
  | { readonly kind: 'query-gallery'; readonly protocol: QueryGalleryProtocol }
  | { readonly kind: 'draws'; readonly protocol: VehicleIdProtocol };

/**
 * The metrics protocol of a config. `goodJunk` (the official VeRi-776 lists, from {@link LoadedData}) is
 * required when `data.officialIndices` is set.
 */
export function protocolFor(config: Pick<ExperimentConfig, 'data' | 'eval'>, extras: { readonly goodJunk?: GoodJunkLists } = {}): ExperimentProtocol {
  const { data, eval: e } = config;
  const rerank = e.rerank.enabled ? { k1: e.rerank.k1, k2: e.rerank.k2, lambda: e.rerank.lambda } : false;
  const aqe = e.aqe.enabled ? { k: e.aqe.k, alpha: e.aqe.alpha, expandGallery: e.aqe.expandGallery } : false;
  switch (data.dataset) {
    case 'synthetic':
    case 'veri776': {
      if (data.officialIndices && !extras.goodJunk) throw new Error('protocolFor: data.officialIndices is set but no good/junk lists were loaded');
      const goodJunk = data.officialIndices ? { goodJunk: extras.goodJunk! } : {};
      return { kind: 'query-gallery', protocol: veri776({ metric: e.metric, ap: e.ap, maxRank: e.maxRank, rerank, aqe, ...goodJunk }) };
    }
    case 'veriwild':
      return {
        kind: 'query-gallery',
        protocol: veriWild({ testSize: data.testSize as 3000 | 5000 | 10000, metric: e.metric, ap: e.ap, maxRank: e.maxRank, aqe, blockSize: e.blockSize }),
      };
    case 'vehicleid':
      return {
        kind: 'draws',
        protocol: vehicleId({ testSize: data.testSize as 800 | 1600 | 2400, repeats: data.draws ?? undefined, seed: data.drawSeed ?? undefined, metric: e.metric, maxRank: e.maxRank }),
      };
  }
}

/** Evaluation data + protocol in the engine's shape, plus protocol-specific details of the last evaluation. */
export interface EvaluationPlan extends RunEvaluation {
  /** VehicleID: per-draw metrics and mean ± std of the last evaluation; undefined for other datasets. */
  details(): VehicleIdDetails | undefined;
}

/** The VehicleID part of a results JSON. */
export interface VehicleIdDetails {
  readonly rank1: { mean: number; std: number };
  readonly rank5: { mean: number; std: number };
  readonly mAP: { mean: number; std: number };
  readonly mINP: { mean: number; std: number };
  readonly draws: readonly { seed: number; rank1: number; rank5: number; mAP: number; mINP: number; numQueries: number }[];
}

function detailsOf(r: VehicleIdResult): VehicleIdDetails {
  return {
    rank1: r.rank1, rank5: r.rank5, mAP: r.mAP, mINP: r.mINP,
    draws: r.draws.map((d) => ({ seed: d.seed, rank1: d.cmc[0], rank5: d.cmc[Math.min(4, d.cmc.length - 1)], mAP: d.mAP, mINP: d.mINP, numQueries: d.numValidQueries })),
  };
}

/** VehicleID draws as a query/gallery protocol over (test list, empty gallery); see the module header. */
function drawsAdapter(p: VehicleIdProtocol): { protocol: QueryGalleryProtocol; last: () => VehicleIdResult | undefined } {
  let last: VehicleIdResult | undefined;
  const protocol: QueryGalleryProtocol = {
    id: p.id,
    metric: p.metric,
    relevance: p.relevance,
    evaluate({ query, gallery, dim }): ProtocolResult {
      if (gallery.ids.length !== 0) throw new Error('VehicleID evaluation: the test list goes in as the query set, with an empty gallery');
      const r = p.evaluate({ test: query, dim });
      last = r;
      const cmc = new Float64Array(Math.min(...r.draws.map((d) => d.cmc.length)));
      for (let k = 0; k < cmc.length; k++) cmc[k] = r.draws.reduce((s, d) => s + d.cmc[k], 0) / r.draws.length;
      const first = r.draws[0];
      // per-query APs differ per draw (different query sets): they are not merged
      return { protocolId: r.protocolId, cmc, mAP: r.mAP.mean, mINP: r.mINP.mean, numValidQueries: first.numValidQueries, numSkippedQueries: first.numSkippedQueries, ap: first.ap, apPerQuery: new Float64Array(0) };
    },
  };
  return { protocol, last: () => last };
}

/** The list files the evaluation splits come from (VeRi-Wild with `format: auto`: both candidate names). */
export function evaluationLists(data: Pick<ExperimentConfig['data'], 'dataset' | 'testSize' | 'format'>, root: string): { query: string; gallery: string } {
  switch (data.dataset) {
    case 'synthetic':
    case 'veri776':
      return { query: join(root, VERI776_SPLITS.query.list), gallery: join(root, VERI776_SPLITS.gallery.list) };
    case 'veriwild': {
      const size = data.testSize ?? 0;
      const name = (split: 'query' | 'gallery'): string =>
        data.format === 'original' || data.format === 'newer'
          ? join(root, veriWildListNames(data.format, size)[split])
          : `${join(root, veriWildListNames('newer', size)[split])} or ${veriWildListNames('original', size)[split]}`;
      return { query: name('query'), gallery: name('gallery') };
    }
    case 'vehicleid': {
      const test = join(root, 'train_test_split', `test_list_${data.testSize}.txt`);
      return { query: test, gallery: test };
    }
  }
}

/** The protocol with each split's `source` set, so its errors name the list file. */
function withSources(p: QueryGalleryProtocol, lists: { query: string; gallery: string }): QueryGalleryProtocol {
  const tag = (f: LabelledFeatures, source: string): LabelledFeatures => ({ ...f, source });
  return { id: p.id, metric: p.metric, relevance: p.relevance, evaluate: ({ query, gallery, dim }) => p.evaluate({ query: tag(query, lists.query), gallery: tag(gallery, lists.gallery), dim }) };
}

function requireRows(split: string, samples: readonly unknown[], file: string): void {
  if (samples.length === 0) throw new Error(`evaluationFor: the ${split} list is empty: ${file} gives no images`);
}

/**
 * The evaluation of a loaded dataset under a config's protocol.
 * @throws when the query or gallery (VehicleID: test) list is empty, naming its file
 */
export function evaluationFor(config: Pick<ExperimentConfig, 'data' | 'eval'>, data: LoadedData): EvaluationPlan {
  const p = protocolFor(config, data.goodJunk ? { goodJunk: data.goodJunk } : {});
  const lists = evaluationLists(config.data, data.root);
  if (p.kind === 'query-gallery') {
    requireRows('query', data.query, lists.query);
    requireRows('gallery', data.gallery, lists.gallery);
    return { query: data.query, gallery: data.gallery, protocol: withSources(p.protocol, lists), details: () => undefined };
  }
  if (!data.test) throw new Error('evaluationFor: a VehicleID protocol needs the loaded test list');
  requireRows('test', data.test, lists.query);
  const adapter = drawsAdapter(p.protocol);
  return { query: data.test, gallery: [], protocol: withSources(adapter.protocol, lists), details: () => { const r = adapter.last(); return r ? detailsOf(r) : undefined; } };
}

/** The metrics fields {@link metricsLine} prints. */
export interface MetricsLineInput {
  readonly protocolId: string;
  readonly mAP: number;
  readonly rank1: number;
  readonly rank5: number;
  readonly mINP: number;
  readonly numValidQueries?: number;
  readonly numSkippedQueries?: number;
  /** Paths (or names) of the skipped queries, in query order. */
  readonly skippedQueries?: readonly string[];
}

/** How many skipped queries {@link metricsLine} names before "… and N more". */
export const SKIPPED_NAMED = 5;

/** `  skipped 2 of 12 queries (no valid match in the gallery): a.jpg, b.jpg`, or '' when none was skipped. */
function skippedPart(r: MetricsLineInput): string {
  const skipped = r.numSkippedQueries ?? 0;
  if (skipped === 0) return '';
  const total = r.numValidQueries !== undefined ? ` of ${r.numValidQueries + skipped}` : '';
  const names = r.skippedQueries ?? [];
  const shown = names.slice(0, SKIPPED_NAMED).join(', ');
  const more = names.length > SKIPPED_NAMED ? ` … and ${names.length - SKIPPED_NAMED} more` : '';
  return `  skipped ${skipped}${total} ${skipped === 1 ? 'query' : 'queries'} (no valid match in the gallery)${shown ? `: ${shown}${more}` : ''}`;
}

/**
 * One line of metrics for the terminal (VehicleID: mean ± std over the draws), with the skipped queries — their
 * count and the first {@link SKIPPED_NAMED} paths — when there are any.
 */
export function metricsLine(r: MetricsLineInput, details?: VehicleIdDetails): string {
  const pct = (x: number): string => (x * 100).toFixed(2);
  if (details) {
    const ms = (m: { mean: number; std: number }): string => `${pct(m.mean)} ± ${pct(m.std)}`;
    return `${r.protocolId}: R1 ${ms(details.rank1)}  R5 ${ms(details.rank5)}  mAP ${ms(details.mAP)}  (${details.draws.length} draws)${skippedPart(r)}`;
  }
  return `${r.protocolId}: mAP ${pct(r.mAP)}  R1 ${pct(r.rank1)}  R5 ${pct(r.rank5)}  mINP ${pct(r.mINP)}${skippedPart(r)}`;
}
