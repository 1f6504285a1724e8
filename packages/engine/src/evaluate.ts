/**
 * Evaluation: feature extraction (eval mode, optional flip test-time augmentation: mean of the features of the
 * image and its mirror) → a metrics protocol (its id says distance, AP mode, re-ranking, AQE) → a results JSON
 * tagged with protocol id, seed, backend and commit, written atomically. Also feature extraction for an
 * arbitrary image folder. A non-finite feature is an error naming the split, the count and the first image
 * (a NaN weight must not turn into a believable mAP or a features file).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { backendInfo, createProgress, tf, writeJsonAtomic, writeSafetensors } from '@clip-senet/core';
import type { ProgressStream, Tensor2D, Tensor4D } from '@clip-senet/core';
import type { BatchLoader, LoadedBatch, Sample } from '@clip-senet/datasets';
import { disposeBatch, parseVeRi776Name } from '@clip-senet/datasets';
import { findNonFiniteRows, nonFiniteMessage } from '@clip-senet/metrics';
import type { LabelledFeatures, ProtocolResult, QueryGalleryProtocol, RetrievalMetrics } from '@clip-senet/metrics';
import type { ClipSenetModel } from './model';
import { batchInputs, checkSideInfo } from './model-loss';
import { rankedLists, type RankedQuery } from './ranked-lists';

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  /** Loader whose branches match `model.branchInputs()` without augmentation. */
  readonly loader: BatchLoader;
  readonly batchSize?: number;
  /** Average with the features of the horizontally flipped images. */
  readonly flip?: boolean;
  /** Progress label (no progress output when absent). */
  readonly progress?: string;
  readonly progressStream?: ProgressStream;
  /** Which split the samples are (e.g. 'query'), named in the non-finite error (default 'extracted'). */
  readonly split?: string;
}

/** Features of `samples` (row-major [n × dim]) with their ids and cameras. */
export interface ExtractedFeatures extends LabelledFeatures {
  readonly features: Float32Array;
  readonly dim: number;
  readonly ids: Int32Array;
  readonly cams: Int32Array;
}

function featuresOf(model: ClipSenetModel, batch: LoadedBatch, flip: boolean): Tensor2D {
  return tf.tidy(() => {
    const inputs = batchInputs(model, batch);
    const f = model.forward(inputs).features;
    if (!flip) return f;
    const mirror = (x: Tensor4D): Tensor4D => tf.reverse(x, 2); // [N, H, W, C]: mirror W
    const g = model.forward({ ...inputs, appearance: mirror(inputs.appearance), ...(inputs.semantic ? { semantic: mirror(inputs.semantic) } : {}) }).features;
    return tf.div(tf.add(f, g), 2) as Tensor2D;
  });
}

/**
 * Throw when a feature row is NaN / ±Infinity: how many rows of the split, the first row and its image path.
 * `what` names the caller and split, e.g. `extractFeatures: query features`; `hint` is appended.
 */
function assertFiniteFeatures(features: Float32Array, dim: number, samples: readonly Sample[], what: string, hint = ''): void {
  const bad = dim > 0 ? findNonFiniteRows(features, dim) : undefined;
  if (bad) throw new Error(`${nonFiniteMessage(what, bad, { rowName: (r) => samples[r]?.path })}${hint}`);
}

/**
 * Extract retrieval features of `samples` in eval mode (the model's mode is restored afterwards).
 * @throws when a feature is NaN or ±Infinity (after the whole split, naming the count and the first image)
 */
export async function extractFeatures(model: ClipSenetModel, samples: readonly Sample[], options: ExtractOptions): Promise<ExtractedFeatures> {
  checkSideInfo(model, samples); // all of them before the first image is read
  const bs = options.batchSize ?? 64;
  const dim = model.featureDim;
  const out = new Float32Array(samples.length * dim);
  const requests = Array.from({ length: Math.ceil(samples.length / bs) }, (_, i) => ({ epoch: 0, index: i, samples: samples.slice(i * bs, (i + 1) * bs) }));
  const bar = options.progress ? createProgress({ label: options.progress, total: samples.length, ...(options.progressStream ? { stream: options.progressStream } : {}) }) : undefined;
  const wasTraining = model.training;
  model.eval();
  try {
    let row = 0;
    for await (const batch of options.loader.stream(requests)) {
      try {
        const f = featuresOf(model, batch, options.flip ?? false);
        try {
          out.set((await f.data()) as Float32Array, row * dim); // asynchronous: a GPU backend reads back without blocking
        } finally {
          f.dispose();
        }
      } finally {
        disposeBatch(batch);
      }
      row += batch.samples.length;
      bar?.tick(batch.samples.length);
    }
  } finally {
    model.train(wasTraining);
    bar?.done();
  }
  const hint = " — the model's output is not finite (a NaN/Inf weight in the checkpoint?)";
  assertFiniteFeatures(out, dim, samples, `extractFeatures: ${options.split ?? 'extracted'} features`, hint);
  return { features: out, dim, ids: Int32Array.from(samples, (s) => s.vehicleId), cams: Int32Array.from(samples, (s) => s.cameraId) };
}

/** Side information for {@link folderSamples}' images whose names do not carry it. */
export interface FolderSampleOptions {
  /** Camera index of every image without a VeRi-style name (default −1: unknown). */
  readonly cameraId?: number;
  /** View index of every image (default: none). */
  readonly viewId?: number;
}

/**
 * Image files (jpg, jpeg, png) of a folder, sorted, as samples. VeRi-776-style names
 * (`0002_c003_00030600_0.jpg`) give the vehicle id and the 0-based camera (c003 → 2); other names get vehicle
 * −1 and `options.cameraId` (default −1, unknown). `options.viewId` applies to every image.
 */
export function folderSamples(dir: string, options: FolderSampleOptions = {}): Sample[] {
  const exts = new Set(['.jpg', '.jpeg', '.png']);
  const files = readdirSync(dir).filter((f) => exts.has(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new Error(`folderSamples: no .jpg/.jpeg/.png images in ${dir}`);
  return files.map((f) => {
    const veri = parseVeRi776Name(f);
    return {
      path: resolve(join(dir, f)),
      vehicleId: veri ? veri.vehicleId : -1,
      cameraId: veri ? veri.camera - 1 : options.cameraId ?? -1,
      ...(options.viewId !== undefined ? { viewId: options.viewId } : {}),
    };
  });
}

/**
 * Save extracted features as safetensors: `features` F32 [n, dim], `ids` / `cams` I32 [n]; the image paths (in
 * row order) and any `metadata` go to `__metadata__` (`paths` is a JSON array). Refuses (writes nothing) when a
 * feature is NaN or ±Infinity.
 */
export function writeFeatures(path: string, extracted: ExtractedFeatures, samples: readonly Sample[], metadata: Record<string, string> = {}): void {
  const n = extracted.ids.length;
  if (samples.length !== n) throw new Error(`writeFeatures: ${samples.length} samples for ${n} feature rows`);
  assertFiniteFeatures(extracted.features, extracted.dim, samples, `writeFeatures: ${path}: features`);
  writeSafetensors(
    path,
    {
      features: { dtype: 'F32', shape: [n, extracted.dim], data: extracted.features },
      ids: { dtype: 'I32', shape: [n], data: extracted.ids },
      cams: { dtype: 'I32', shape: [n], data: extracted.cams },
    },
    { ...metadata, paths: JSON.stringify(samples.map((s) => s.path)) },
  );
}

/** Short hash of the checked-out commit, or `'unknown'` outside a git work tree. */
export function gitCommit(cwd = process.cwd()): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The results JSON: every retrieval metric (fractions) plus the protocol, the tags and the per-query detail. */
export interface EvalResults extends RetrievalMetrics {
  readonly protocolId: string;
  readonly numValidQueries: number;
  readonly numSkippedQueries: number;
  /**
   * The skipped queries (no valid match left in the gallery), in query order: their image paths, or `query <i>`
   * without paths. Empty when the protocol does not report per-query results (VehicleID's draws).
   */
  readonly skippedQueries: readonly string[];
  readonly flip: boolean;
  readonly seed: number;
  readonly backend: string;
  readonly commit: string;
  readonly time: string;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Top-10 lists of the first valid queries (when `rankedLists` > 0); paths are the samples' paths. */
  readonly ranked?: readonly RankedQuery[];
  /**
   * Average precision of every query in query order, `null` for a skipped one (for per-query statistics such as a
   * bootstrap over queries); absent where the protocol has no per-query results.
   */
  readonly apPerQuery?: readonly (number | null)[];
  /**
   * Images in the query and gallery lists the protocol evaluated (VehicleID: the test images its draws pick from);
   * set by {@link evaluateModel}, so a record says how large a test set its numbers rest on.
   */
  readonly numQueryImages?: number;
  readonly numGalleryImages?: number;
}

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions extends ExtractOptions {
  readonly query: readonly Sample[];
  readonly gallery: readonly Sample[];
  readonly protocol: QueryGalleryProtocol;
  /** The run's seed (tag). */
  readonly seed: number;
  /** Write the results JSON here (atomically) when given. */
  readonly outFile?: string;
  /** Commit tag (default {@link gitCommit}). */
  readonly commit?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Also return the top-10 gallery lists of the first n valid queries (default 0; see {@link rankedLists}). */
  readonly rankedLists?: number;
}

/** Tags of {@link toEvalResults}. */
export interface EvalTags {
  readonly flip: boolean;
  readonly seed: number;
  readonly commit?: string;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Image path of every query (names the skipped ones); without them they are `query <i>`. */
  readonly queryPaths?: readonly string[];
}

/** The skipped queries of a result (NaN AP), named by path (or `query <i>`), in query order. */
function skippedQueriesOf(r: ProtocolResult, paths?: readonly string[]): string[] {
  const out: string[] = [];
  r.apPerQuery.forEach((ap, q) => {
    if (Number.isNaN(ap)) out.push(paths?.[q] ?? `query ${q}`);
  });
  return out;
}

/** Tag a protocol result. */
export function toEvalResults(r: ProtocolResult, tags: EvalTags): EvalResults {
  const cmc = (k: number): number => r.cmc[Math.min(k, r.cmc.length) - 1] ?? NaN;
  return {
    protocolId: r.protocolId, mAP: r.mAP, rank1: cmc(1), rank5: cmc(5), rank10: cmc(10), mINP: r.mINP,
    numValidQueries: r.numValidQueries, numSkippedQueries: r.numSkippedQueries, skippedQueries: skippedQueriesOf(r, tags.queryPaths),
    flip: tags.flip, seed: tags.seed,
    backend: backendInfo()?.provenance ?? tf.getBackend(), commit: tags.commit ?? gitCommit(), time: new Date().toISOString(),
    ...(tags.extra ? { extra: tags.extra } : {}),
  };
}

/**
 * Extract query and gallery features, run the protocol, optionally write the results JSON.
 * @throws when the query list is empty, or a query / gallery feature is not finite (naming the split and image)
 */
export async function evaluateModel(model: ClipSenetModel, options: EvaluateModelOptions): Promise<EvalResults> {
  if (options.query.length === 0) throw new Error(`evaluateModel: the query list is empty (protocol ${options.protocol.id}): nothing to evaluate`);
  const extract = (split: 'query' | 'gallery', samples: readonly Sample[]): Promise<ExtractedFeatures> =>
    extractFeatures(model, samples, { ...options, split, ...(options.progress ? { progress: `${options.progress} ${split}` } : {}) });
  const query = await extract('query', options.query);
  const gallery = await extract('gallery', options.gallery);
  const result = options.protocol.evaluate({ query, gallery, dim: query.dim });
  const tags = toEvalResults(result, {
    flip: options.flip ?? false, seed: options.seed, queryPaths: options.query.map((s) => s.path),
    ...(options.commit ? { commit: options.commit } : {}), ...(options.extra ? { extra: options.extra } : {}),
  });
  const n = options.rankedLists ?? 0;
  const ranked = n > 0
    ? rankedLists({ query, gallery, dim: query.dim, querySamples: options.query, gallerySamples: options.gallery, protocol: options.protocol, count: n })
    : undefined;
  const apPerQuery = Array.from(result.apPerQuery, (ap) => (Number.isNaN(ap) ? null : ap));
  const tagged: EvalResults = {
    ...tags, numQueryImages: options.query.length, numGalleryImages: options.gallery.length,
    ...(ranked ? { ranked } : {}), ...(apPerQuery.length > 0 ? { apPerQuery } : {}),
  };
  if (options.outFile) writeJsonAtomic(options.outFile, tagged);
  return tagged;
}
