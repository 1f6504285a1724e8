/**
 * Synthetic vehicle world: the plan — which identity is seen by which camera how many times, and which split
 * each image belongs to — computed from the seed alone, before anything is rendered. Each planned image carries
 * the label of its own random stream (`img/<vehicleId>/<camera>/<k>`), so images can be rendered in any order,
 * in parallel or resumed, without changing a byte.
 */
import { Rng } from '@clip-senet/core';
import { type CameraSpec, type VehicleIdentity, makeCamera, makeIdentities } from './world-spec';

/** Size parameters of a synthetic world (all optional in {@link SyntheticWorldOptions}). */
export interface SyntheticWorldParams {
  readonly seed: number;
  readonly numTrainIds: number;
  readonly numTestIds: number;
  readonly numCameras: number;
  /** Each re-id identity is seen by this many distinct cameras, inclusive range. */
  readonly camerasPerId: readonly [number, number];
  /** Images per identity per camera, inclusive range. */
  readonly imagesPerIdPerCamera: readonly [number, number];
  /** Query images per test identity (one per distinct camera; the rest of its images form the gallery). */
  readonly queriesPerId: number;
  /** Square image side in pixels. */
  readonly imageSize: number;
  /** Identities per type + colour model (they differ only in details). */
  readonly idsPerModel: number;
  readonly numPretrainIds: number;
  readonly pretrainImagesPerId: number;
  /** Pretraining identities per type + colour model (default: `idsPerModel`). */
  readonly pretrainIdsPerModel: number;
  /**
   * How pretraining models draw type and colour (`IdentityOptions.attributes`; default `weighted`, like the re-ID
   * identities). `balanced` makes type and colour independent in the captions, so CLIP-style pretraining cannot
   * match a caption's type by its colour.
   */
  readonly pretrainAttributes: 'weighted' | 'balanced';
}

/** Options of `generateSyntheticWorld`: an output folder plus any subset of {@link SyntheticWorldParams}. */
export interface SyntheticWorldOptions extends Partial<SyntheticWorldParams> {
  readonly outDir: string;
}

/**
 * Defaults: 48 train + 24 test identities, 8 cameras, 3–6 cameras per id, 1–3 images per id per camera, 64² px,
 * 64 pretraining identities × 4 images. ≈ 430 train, 48 query, ≈ 215 gallery (+ queries, as in VeRi-776) and 256
 * pretraining images — a default ablation of several runs at ~10 img/s fits about ten minutes on two cores.
 */
export const DEFAULT_WORLD_PARAMS: SyntheticWorldParams = {
  seed: 3407,
  numTrainIds: 48,
  numTestIds: 24,
  numCameras: 8,
  camerasPerId: [3, 6],
  imagesPerIdPerCamera: [1, 3],
  queriesPerId: 2,
  imageSize: 64,
  idsPerModel: 4,
  numPretrainIds: 64,
  pretrainImagesPerId: 4,
  pretrainIdsPerModel: 4,
  pretrainAttributes: 'weighted',
};

/** One image to render. */
export interface PlannedImage {
  readonly vehicleId: number;
  /** 0-based camera. */
  readonly cameraId: number;
  /** Index of the image among this id's images at this camera. */
  readonly k: number;
  readonly split: 'train' | 'query' | 'gallery' | 'pretrain';
  /** Label of the image's random stream, derived from the world root stream. */
  readonly streamLabel: string;
  /** Frame number for the VeRi-776 file name. */
  readonly frame: number;
}

/** Everything needed to render a world. */
export interface WorldPlan {
  readonly params: SyntheticWorldParams;
  readonly identities: VehicleIdentity[];
  readonly cameras: CameraSpec[];
  readonly images: PlannedImage[];
}

function checkRange(name: string, r: readonly [number, number], lo: number, hi: number): void {
  if (!Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < lo || r[1] < r[0] || r[1] > hi) {
    throw new Error(`${name} must be integers lo..hi with ${lo} ≤ lo ≤ hi ≤ ${hi}, got [${r.join(', ')}]`);
  }
}

/** Merge options with the defaults and validate. */
export function resolveWorldParams(options: Partial<SyntheticWorldParams>): SyntheticWorldParams {
  const known = new Set(Object.keys(DEFAULT_WORLD_PARAMS));
  const unknown = Object.keys(options).filter((k) => !known.has(k) && k !== 'outDir');
  if (unknown.length > 0) throw new Error(`unknown synthetic world option(s): ${unknown.join(', ')}`);
  const given = Object.fromEntries(Object.entries(options).filter(([k, v]) => known.has(k) && v !== undefined)) as Partial<SyntheticWorldParams>;
  const p: SyntheticWorldParams = { ...DEFAULT_WORLD_PARAMS, pretrainIdsPerModel: given.idsPerModel ?? DEFAULT_WORLD_PARAMS.idsPerModel, ...given };
  for (const k of ['numTrainIds', 'numTestIds', 'numCameras', 'queriesPerId', 'imageSize', 'idsPerModel', 'pretrainImagesPerId', 'pretrainIdsPerModel'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new Error(`${k} must be a positive integer, got ${p[k]}`);
  }
  if (!Number.isInteger(p.numPretrainIds) || p.numPretrainIds < 0) throw new Error(`numPretrainIds must be ≥ 0, got ${p.numPretrainIds}`);
  if (p.pretrainAttributes !== 'weighted' && p.pretrainAttributes !== 'balanced') throw new Error(`pretrainAttributes must be 'weighted' or 'balanced', got ${String(p.pretrainAttributes)}`);
  if (!Number.isInteger(p.seed)) throw new Error(`seed must be an integer, got ${p.seed}`);
  if (p.imageSize < 16 || p.imageSize > 1024) throw new Error(`imageSize must be in 16..1024, got ${p.imageSize}`);
  if (p.numCameras > 999) throw new Error(`numCameras must be ≤ 999, got ${p.numCameras}`);
  if (p.numTrainIds + p.numTestIds + p.numPretrainIds > 9999) throw new Error('at most 9999 identities in total (4-digit ids)');
  checkRange('camerasPerId', p.camerasPerId, p.queriesPerId + 1, p.numCameras);
  checkRange('imagesPerIdPerCamera', p.imagesPerIdPerCamera, 1, 999);
  return p;
}

function planIdentityImages(vehicleId: number, p: SyntheticWorldParams, rng: Rng, test: boolean): PlannedImage[] {
  const r = rng.derive(`plan/${vehicleId}`);
  const nCams = r.intRange(p.camerasPerId[0], p.camerasPerId[1]);
  const cams = r.sampleIndices(p.numCameras, nCams).sort((a, b) => a - b);
  const queryCams = new Set(test ? r.sampleIndices(nCams, p.queriesPerId).map((i) => cams[i]!) : []);
  const out: PlannedImage[] = [];
  for (const cameraId of cams) {
    const n = r.intRange(p.imagesPerIdPerCamera[0], p.imagesPerIdPerCamera[1]);
    const queryK = queryCams.has(cameraId) ? r.int(n) : -1;
    for (let k = 0; k < n; k++) {
      const split = !test ? 'train' : k === queryK ? 'query' : 'gallery';
      // distinct frames per (id, camera): k in the low digits, a random time stamp above
      const frame = r.int(99999) * 100 + k;
      out.push({ vehicleId, cameraId, k, split, streamLabel: `img/${vehicleId}/${cameraId}/${k}`, frame });
    }
  }
  return out;
}

/**
 * Plan a world: identities 1..train+test are shuffled into train and test ids (consecutive ids share models, so
 * train and test share models too), pretraining ids follow after them (their own models, disjoint identities).
 */
export function planWorld(params: SyntheticWorldParams): WorldPlan {
  const root = new Rng(params.seed);
  const numReid = params.numTrainIds + params.numTestIds;
  const reidIds = Array.from({ length: numReid }, (_, i) => i + 1);
  const pretrainIds = Array.from({ length: params.numPretrainIds }, (_, i) => numReid + i + 1);
  const identities = [
    ...makeIdentities(reidIds, root, { idsPerModel: params.idsPerModel }),
    ...makeIdentities(pretrainIds, root.derive('pretrain'), { idsPerModel: params.pretrainIdsPerModel, attributes: params.pretrainAttributes }),
  ];
  const cameras = Array.from({ length: params.numCameras }, (_, c) => makeCamera(c, root));
  const shuffled = root.derive('split').shuffle([...reidIds]);
  const testIds = new Set(shuffled.slice(params.numTrainIds));
  const images: PlannedImage[] = [];
  for (const vehicleId of reidIds) images.push(...planIdentityImages(vehicleId, params, root, testIds.has(vehicleId)));
  for (const vehicleId of pretrainIds) {
    const r = root.derive(`plan/${vehicleId}`);
    for (let k = 0; k < params.pretrainImagesPerId; k++) {
      const cameraId = r.int(params.numCameras);
      images.push({ vehicleId, cameraId, k, split: 'pretrain', streamLabel: `img/${vehicleId}/${cameraId}/${k}`, frame: k });
    }
  }
  return { params, identities, cameras, images };
}
