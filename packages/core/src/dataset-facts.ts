/**
 * The facts of the datasets and their evaluation protocols, in one table that datasets (count checks, the VehicleID
 * split), metrics (protocols) and experiments (configs, result tags, paper cells) all read (PROTOCOLS.md, "Counts";
 * PAPER.md for the normalisation statistics): split sizes as published, the test-set names, the VehicleID draw rule
 * and the input normalisation statistics of the pretrained weights. Plain data, tf-free.
 */
import { Rng } from './rng';

/** An expected count, or several accepted values (e.g. VeRi-776 train: 37,778 or 37,781 images). */
export type FactCount = number | readonly number[];

/** Published size of one split. */
export interface SplitFacts {
  readonly images?: FactCount;
  readonly ids?: FactCount;
}

/** VeRi-776 (Liu et al.): 576 train ids, 200 test ids, 20 cameras; query images are not in the gallery. */
export const VERI776_FACTS = {
  train: { images: [37778, 37781], ids: 576 },
  query: { images: 1678, ids: 200 },
  gallery: { images: 11579, ids: 200 },
  cameras: 20,
} as const satisfies { train: SplitFacts; query: SplitFacts; gallery: SplitFacts; cameras: number };

/** The VehicleID test lists the paper evaluates (number of test identities), smallest first. */
export const VEHICLEID_EVAL_SIZES = [800, 1600, 2400] as const;
/** A VehicleID test list the paper evaluates. */
export type VehicleIdEvalSize = (typeof VEHICLEID_EVAL_SIZES)[number];

/** VehicleID (Liu et al.): the train list and every test list the release ships (image counts published for 800/1600/2400). */
export const VEHICLEID_FACTS = {
  train: { images: 113346, ids: 13164 },
  /** Every `test_list_<size>.txt` of the release. */
  testSizes: [800, 1600, 2400, 3200, 6000, 13164],
  testImages: { 800: 6493, 1600: 13377, 2400: 19777 },
  /** Query/gallery draws averaged per evaluation (see {@link vehicleIdDraw}). */
  draws: 10,
} as const;

/** The VeRi-Wild test sets (number of query identities, one query image each), smallest first. */
export const VERIWILD_TEST_SIZES = [3000, 5000, 10000] as const;
/** A VeRi-Wild test set. */
export type VeriWildTestSize = (typeof VERIWILD_TEST_SIZES)[number];

/** VeRi-Wild (Lou et al.): train split and the Small / Medium / Large test sets; query images are not in the gallery. */
export const VERIWILD_FACTS = {
  train: { images: 277797, ids: 30671 },
  cameras: 174,
  tests: {
    3000: { name: 'small', query: 3000, gallery: 38861 },
    5000: { name: 'medium', query: 5000, gallery: 64389 },
    10000: { name: 'large', query: 10000, gallery: 128517 },
  },
} as const satisfies { train: SplitFacts; cameras: number; tests: Record<VeriWildTestSize, { name: string; query: number; gallery: number }> };

/**
 * The VehicleID query/gallery draw rule, on group labels in a given order: groups are visited in ascending label
 * order, and within a group its members in the order given; one member, chosen with `new Rng(seed).int(size)`, goes
 * to the gallery and the others to the query set (a group of one gives a gallery item and no query). Returns
 * indices into `ids`, each list in visiting order. Datasets (samples sorted by path) and metrics (feature rows)
 * both draw with this one function, so a split and its evaluation agree by construction.
 */
export function vehicleIdDraw(ids: ArrayLike<number>, seed: number): { query: number[]; gallery: number[] } {
  const byId = new Map<number, number[]>();
  for (let i = 0; i < ids.length; i++) {
    const group = byId.get(ids[i]!);
    if (group) group.push(i);
    else byId.set(ids[i]!, [i]);
  }
  const rng = new Rng(seed);
  const query: number[] = [];
  const gallery: number[] = [];
  for (const id of [...byId.keys()].sort((a, b) => a - b)) {
    const members = byId.get(id)!;
    const pick = rng.int(members.length);
    members.forEach((m, i) => (i === pick ? gallery : query).push(m));
  }
  return { query, gallery };
}

/** Per-channel RGB statistics in [0, 1] units (`(x / 255 − mean) / std`). */
export interface NormalizationStats {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** torchvision / IBN-Net ImageNet and OpenAI CLIP (also TinyCLIP) statistics, and the identity. */
export const NORMALIZATION_STATS = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  clip: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  none: { mean: [0, 0, 0], std: [1, 1, 1] },
} as const satisfies Record<string, NormalizationStats>;
