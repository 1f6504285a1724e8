/**
 * Synthetic vehicle world generator (issue 4, part 2): renders a planned world and writes
 *
 * - the VeRi-776 layout (via `writeVeRi776Layout`: image_train / image_query / image_test, name_*.txt, XML label
 *   files, gt_index / jk_index; queries are also in the test list, as in the real dataset), readable by
 *   `loadVeRi776(root, { numCameras, expectedCounts })`;
 * - `view_labels.txt` (`<file name> <view id>`, view ids 0..4 in `VIEWS` order) for camera/view experiments;
 * - `pretrain/images/*.jpg` + `pretrain/captions.jsonl` (disjoint identities, one caption + attribute record per
 *   image) for CLIP-style pretraining;
 * - `identities.json` (every identity's type, colour, shade and details) and `world.json` (version, seed,
 *   parameters, counts — no time stamps, so the whole tree is byte-identical for the same seed).
 *
 * The world is written to a temporary sibling folder and renamed into place. An existing world with the same
 * version + parameters is reused; a different one is never overwritten.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { atomicTempPath, removeStaleTempFiles, Rng, writeJsonAtomic } from '@clip-senet/core';
import { listText, writeVeRi776Layout, type VeRi776LayoutEntry } from '../layout-writers';
import { type CaptionRecord, captionRecord } from './captions';
import { type RenderedImage, renderVehicleImage } from './render-scene';
import { COLOURS, VERI_TYPE_IDS, VIEWS, type VehicleIdentity } from './world-spec';
import {
  type PlannedImage,
  type SyntheticWorldOptions,
  type SyntheticWorldParams,
  type WorldPlan,
  planWorld,
  resolveWorldParams,
} from './world-plan';

/** Bumped whenever rendering or layout changes the bytes of a world. */
export const SYNTHETIC_WORLD_VERSION = 1;

/** Contents of `world.json`. */
export interface SyntheticWorldManifest {
  readonly format: 'clip-senet-synthetic-world';
  readonly version: number;
  readonly seed: number;
  readonly params: SyntheticWorldParams;
  readonly counts: {
    readonly trainImages: number;
    readonly trainIds: number;
    /** Query images (also listed in name_test.txt, as in VeRi-776). */
    readonly queryImages: number;
    /** Test list size: gallery images + queries. */
    readonly testImages: number;
    readonly testIds: number;
    readonly cameras: number;
    readonly pretrainImages: number;
    readonly pretrainIds: number;
  };
  /** Reader options that check this world strictly: `loadVeRi776(root, { ...readerOptions, strict: true })`. */
  readonly readerOptions: {
    readonly numCameras: number;
    readonly expectedCounts: {
      readonly train: { readonly images: number; readonly ids: number };
      readonly query: { readonly images: number; readonly ids: number };
      readonly gallery: { readonly images: number; readonly ids: number };
    };
  };
}

/** Result of {@link generateSyntheticWorld}. */
export interface SyntheticWorld {
  /** Absolute world folder (the VeRi-776 root). */
  readonly root: string;
  readonly manifest: SyntheticWorldManifest;
  /** True when an identical existing world was reused instead of generated. */
  readonly reused: boolean;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Render one planned image (pure function of the plan and the image's stream label). */
export function renderPlannedImage(plan: WorldPlan, image: PlannedImage, byId: ReadonlyMap<number, VehicleIdentity>): RenderedImage {
  const root = new Rng(plan.params.seed);
  const id = byId.get(image.vehicleId)!;
  const cam = plan.cameras[image.cameraId]!;
  return renderVehicleImage(id, cam, plan.params.imageSize, root.derive(image.streamLabel), root.derive(`bg/${image.cameraId}`));
}

function manifestOf(plan: WorldPlan): SyntheticWorldManifest {
  const count = (split: PlannedImage['split']): number => plan.images.filter((i) => i.split === split).length;
  const ids = (splits: PlannedImage['split'][]): number => new Set(plan.images.filter((i) => splits.includes(i.split)).map((i) => i.vehicleId)).size;
  const trainImages = count('train');
  const queryImages = count('query');
  const testImages = count('gallery') + queryImages;
  const testIds = ids(['query', 'gallery']);
  return {
    format: 'clip-senet-synthetic-world',
    version: SYNTHETIC_WORLD_VERSION,
    seed: plan.params.seed,
    params: plan.params,
    counts: {
      trainImages,
      trainIds: ids(['train']),
      queryImages,
      testImages,
      testIds,
      cameras: plan.params.numCameras,
      pretrainImages: count('pretrain'),
      pretrainIds: ids(['pretrain']),
    },
    readerOptions: {
      numCameras: plan.params.numCameras,
      expectedCounts: {
        train: { images: trainImages, ids: ids(['train']) },
        query: { images: queryImages, ids: ids(['query']) },
        gallery: { images: testImages, ids: testIds },
      },
    },
  };
}

function writeReidSplits(dir: string, plan: WorldPlan, rendered: ReadonlyMap<PlannedImage, RenderedImage>, byId: ReadonlyMap<number, VehicleIdentity>): void {
  const reid = plan.images.filter((i) => i.split !== 'pretrain');
  const entries: VeRi776LayoutEntry[] = reid.map((img) => {
    const id = byId.get(img.vehicleId)!;
    return {
      vehicleId: img.vehicleId,
      cameraId: img.cameraId,
      split: img.split as 'train' | 'query' | 'gallery',
      bytes: rendered.get(img)!.jpeg,
      frame: img.frame,
      colorId: COLOURS[id.colour].veriId,
      typeId: VERI_TYPE_IDS[id.type],
    };
  });
  writeVeRi776Layout(dir, entries, { queryInGallery: true });
  const views = reid.map((img) => `${veriName(img)} ${VIEWS.indexOf(rendered.get(img)!.view)}`).sort();
  writeFileSync(join(dir, 'view_labels.txt'), listText(views));
}

/** The VeRi-776 file name `writeVeRi776Layout` gives a planned image. */
export function veriName(img: PlannedImage): string {
  return `${pad(img.vehicleId, 4)}_c${pad(img.cameraId + 1, 3)}_${pad(img.frame, 8)}_0.jpg`;
}

function writePretrain(dir: string, plan: WorldPlan, rendered: ReadonlyMap<PlannedImage, RenderedImage>, byId: ReadonlyMap<number, VehicleIdentity>): void {
  const imagesDir = join(dir, 'pretrain', 'images');
  mkdirSync(imagesDir, { recursive: true });
  const records: CaptionRecord[] = [];
  for (const img of plan.images.filter((i) => i.split === 'pretrain')) {
    const name = `${pad(img.vehicleId, 4)}_${pad(img.k, 3)}.jpg`;
    const r = rendered.get(img)!;
    writeFileSync(join(imagesDir, name), r.jpeg);
    records.push(captionRecord(`images/${name}`, byId.get(img.vehicleId)!, r.view));
  }
  writeFileSync(join(dir, 'pretrain', 'captions.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/**
 * Parameters of a manifest, completed for the parameters added after it was written (their values then were
 * fixed: pretraining identities shared `idsPerModel` and drew type and colour by the world's frequencies), in
 * sorted key order.
 */
function canonicalParams(params: Partial<SyntheticWorldParams>): string {
  const full: Record<string, unknown> = { pretrainIdsPerModel: params.idsPerModel, pretrainAttributes: 'weighted', ...params };
  return JSON.stringify(Object.fromEntries(Object.keys(full).sort().map((k) => [k, full[k]])));
}

function sameWorld(existing: SyntheticWorldManifest, wanted: SyntheticWorldManifest): boolean {
  return existing.version === wanted.version && canonicalParams(existing.params) === canonicalParams(wanted.params);
}

/**
 * Generate (or reuse) a synthetic world at `options.outDir`.
 *
 * @throws Error when `outDir` exists and is not the same world (version + parameters), or on invalid options.
 */
export function generateSyntheticWorld(options: SyntheticWorldOptions): SyntheticWorld {
  const root = resolve(options.outDir);
  const { outDir: _outDir, ...rest } = options;
  const plan = planWorld(resolveWorldParams(rest));
  const manifest = manifestOf(plan);
  const existing = existingWorld(root, manifest);
  if (existing) return { root, manifest: existing, reused: true };
  const byId = new Map(plan.identities.map((i) => [i.vehicleId, i]));
  const rendered = new Map(plan.images.map((img) => [img, renderPlannedImage(plan, img, byId)]));
  mkdirSync(dirname(root), { recursive: true });
  // unique per process and host: several processes (ablation trainers, Slurm array tasks on a shared filesystem)
  // may generate the same world at the same moment; leftovers of killed generations on this host are swept
  removeStaleTempFiles(dirname(root), null);
  const tmp = atomicTempPath(root);
  try {
    writeReidSplits(tmp, plan, rendered, byId);
    writePretrain(tmp, plan, rendered, byId);
    writeJsonAtomic(join(tmp, 'identities.json'), plan.identities);
    writeJsonAtomic(join(tmp, 'world.json'), manifest);
    renameSync(tmp, root);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // another process renamed the same world into place first: theirs is complete (the rename is atomic) — use it
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      const theirs = existingWorld(root, manifest);
      if (theirs) return { root, manifest: theirs, reused: true };
    }
    throw err;
  }
  return { root, manifest, reused: false };
}

/** The manifest of the same world already at `root`, undefined when there is none; an error for anything else there. */
function existingWorld(root: string, manifest: SyntheticWorldManifest): SyntheticWorldManifest | undefined {
  if (!existsSync(root)) return undefined;
  const file = join(root, 'world.json');
  if (!existsSync(file)) throw new Error(`${root} exists and is not a synthetic world (no world.json); refusing to overwrite`);
  let existing: SyntheticWorldManifest;
  try {
    existing = JSON.parse(readFileSync(file, 'utf8')) as SyntheticWorldManifest;
  } catch (err) {
    throw new Error(`${file}: not a readable world manifest (${(err as Error).message}); remove ${root} to regenerate the world`, { cause: err });
  }
  if (!sameWorld(existing, manifest)) {
    throw new Error(`${root} holds a different synthetic world (version ${existing.version}, seed ${existing.seed}); refusing to overwrite`);
  }
  return existing;
}

