/**
 * Synthetic vehicle world, part 1: what exists in the world (issue 4, "Synthetic vehicle world").
 *
 * - A **vehicle identity** is a type (sedan, SUV, …) + a colour with a per-identity shade + fine details
 *   (roof rack, sunroof, spoiler, window tint, wheel style, decal, bumper finish, plate text). Identities are
 *   drawn in "models" (type + colour groups) of `idsPerModel` members, so many identities share type and colour
 *   and only their details tell them apart; within a model, detail tuples are distinct.
 * - A **camera** is a bundle of nuisance parameters: viewpoint distribution, static background (road, sky,
 *   buildings/trees), illumination gain and colour cast, blur, scale/crop jitter, occlusion rate, JPEG quality.
 *
 * Everything is drawn from an `Rng` derived by label (`id/<n>`, `cam/<n>`), so adding identities or cameras does
 * not change the existing ones.
 */
import type { Rng } from '@clip-senet/core';

/** Vehicle body types. */
export const VEHICLE_TYPES = ['sedan', 'suv', 'hatchback', 'van', 'pickup', 'bus', 'truck'] as const;
export type VehicleType = (typeof VEHICLE_TYPES)[number];

/** Caption noun per type. */
export const TYPE_NOUNS: Record<VehicleType, string> = {
  sedan: 'sedan',
  suv: 'SUV',
  hatchback: 'hatchback',
  van: 'van',
  pickup: 'pickup truck',
  bus: 'bus',
  truck: 'box truck',
};

/** Relative frequency of each type (cars dominate, as in VeRi-776). */
const TYPE_WEIGHTS: Record<VehicleType, number> = { sedan: 5, suv: 4, hatchback: 3, van: 2, pickup: 2, bus: 1, truck: 1 };

/** VeRi-776 `typeID` codes used in the XML label files (1 sedan, 2 suv, 3 van, 4 hatchback, 6 pickup, 7 bus, 8 truck). */
export const VERI_TYPE_IDS: Record<VehicleType, number> = { sedan: 1, suv: 2, van: 3, hatchback: 4, pickup: 6, bus: 7, truck: 8 };

/** Body colours with a base sRGB value and their VeRi-776 `colorID`. */
export const COLOURS = {
  white: { rgb: [236, 236, 232], veriId: 7 },
  black: { rgb: [28, 29, 32], veriId: 10 },
  silver: { rgb: [178, 182, 188], veriId: 4 },
  grey: { rgb: [105, 108, 113], veriId: 4 },
  red: { rgb: [178, 28, 30], veriId: 5 },
  blue: { rgb: [30, 62, 150], veriId: 6 },
  green: { rgb: [36, 110, 58], veriId: 3 },
  yellow: { rgb: [232, 196, 40], veriId: 1 },
  orange: { rgb: [226, 110, 28], veriId: 2 },
  brown: { rgb: [112, 72, 44], veriId: 9 },
} as const satisfies Record<string, { rgb: readonly [number, number, number]; veriId: number }>;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];
const COLOUR_WEIGHTS: Record<ColourName, number> = {
  white: 5, black: 4, silver: 4, grey: 3, red: 3, blue: 3, green: 1, yellow: 1, orange: 1, brown: 1,
};

export const TINTS = ['none', 'light', 'dark'] as const;
export const WHEEL_STYLES = ['spokes', 'solid', 'five-hole', 'chrome'] as const;
export const DECALS = ['none', 'side-stripe', 'hood-stripes', 'door-logo'] as const;
export const BUMPERS = ['body', 'black', 'chrome'] as const;

/** The fine details that distinguish identities of the same model. */
export interface VehicleDetails {
  readonly roofRack: boolean;
  readonly sunroof: boolean;
  readonly spoiler: boolean;
  readonly tint: (typeof TINTS)[number];
  readonly wheels: (typeof WHEEL_STYLES)[number];
  readonly decal: (typeof DECALS)[number];
  /** Decal colour (sRGB), contrasting with the body. */
  readonly decalRgb: readonly [number, number, number];
  readonly bumper: (typeof BUMPERS)[number];
  /** Plate text, e.g. `KX 4821`. */
  readonly plate: string;
}

/** One vehicle identity. */
export interface VehicleIdentity {
  /** Global vehicle id (VeRi-776 style, 1-based). */
  readonly vehicleId: number;
  readonly type: VehicleType;
  readonly colour: ColourName;
  /** Body colour after the per-identity shade. */
  readonly rgb: readonly [number, number, number];
  readonly details: VehicleDetails;
}

/** Viewpoints a camera can see a vehicle from. */
export const VIEWS = ['front', 'rear', 'side', 'front-three-quarter', 'rear-three-quarter'] as const;
export type View = (typeof VIEWS)[number];

/** Nuisance parameters of one camera. */
export interface CameraSpec {
  /** 0-based camera index (file names use `c<index+1>`). */
  readonly cameraId: number;
  /** Probability of each view in {@link VIEWS} order (sums to 1). */
  readonly viewWeights: readonly number[];
  readonly sky: readonly [number, number, number];
  readonly road: readonly [number, number, number];
  /** Horizon height as a fraction of the image height. */
  readonly horizon: number;
  /** Background clutter: 'buildings' | 'trees' | 'wall'. */
  readonly scenery: 'buildings' | 'trees' | 'wall';
  readonly laneMarkings: boolean;
  /** Global brightness gain (1 = neutral). */
  readonly gain: number;
  /** Per-channel colour-cast multipliers. */
  readonly cast: readonly [number, number, number];
  /** Gaussian blur sigma in pixels at 64 px (scaled with the image size). */
  readonly blur: number;
  /** Vehicle extent as a fraction of the frame: [min, max]. */
  readonly scale: readonly [number, number];
  /** Maximum centre offset as a fraction of the frame. */
  readonly shift: number;
  /** Probability that an image has an occluder. */
  readonly occlusion: number;
  /** Sensor noise standard deviation (0–255 scale). */
  readonly noise: number;
  /** JPEG quality range [min, max] (percent). */
  readonly jpegQuality: readonly [number, number];
}

/** Options of {@link makeIdentities}. */
export interface IdentityOptions {
  /** How many identities share one type + colour model (default 4). */
  readonly idsPerModel?: number;
  /**
   * How a model's type and colour are drawn: `weighted` (default) by the world's type and colour frequencies
   * (cars and white/black/silver dominate, as in VeRi-776; type and colour are then confounded whenever models are
   * few); `balanced` walks the full type × colour grid in a shuffled order (every pair equally often, type and
   * colour independent), like broad caption pretraining data rather than the target domain.
   */
  readonly attributes?: 'weighted' | 'balanced';
}

function weighted<T extends string>(rng: Rng, weights: Record<T, number>): T {
  const keys = Object.keys(weights) as T[];
  const total = keys.reduce((s, k) => s + weights[k], 0);
  let u = rng.float() * total;
  for (const k of keys) {
    u -= weights[k];
    if (u < 0) return k;
  }
  return keys[keys.length - 1]!;
}

const clamp255 = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

/** Body colour with a per-identity shade (lightness ±, slight hue drift). */
export function shadeColour(colour: ColourName, rng: Rng): [number, number, number] {
  const base = COLOURS[colour].rgb;
  const k = rng.uniform(0.82, 1.15);
  const drift = [rng.uniform(-10, 10), rng.uniform(-10, 10), rng.uniform(-10, 10)];
  return [clamp255(base[0] * k + drift[0]!), clamp255(base[1] * k + drift[1]!), clamp255(base[2] * k + drift[2]!)];
}

const PLATE_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';

function plateText(rng: Rng): string {
  const l = (): string => PLATE_LETTERS[rng.int(PLATE_LETTERS.length)]!;
  return `${l()}${l()} ${rng.intRange(1000, 9999)}`;
}

const DECAL_COLOURS: readonly (readonly [number, number, number])[] = [
  [245, 245, 245], [20, 20, 20], [210, 30, 30], [250, 200, 20], [40, 90, 220],
];

function drawDetails(rng: Rng, type: VehicleType, body: readonly [number, number, number]): VehicleDetails {
  const big = type === 'bus' || type === 'truck';
  const lum = 0.3 * body[0] + 0.59 * body[1] + 0.11 * body[2];
  const contrasting = DECAL_COLOURS.filter((c) => Math.abs(0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2] - lum) > 70);
  return {
    roofRack: !big && rng.bernoulli(0.4),
    sunroof: !big && type !== 'van' && rng.bernoulli(0.4),
    spoiler: (type === 'sedan' || type === 'hatchback') && rng.bernoulli(0.45),
    tint: rng.choice(TINTS),
    wheels: rng.choice(WHEEL_STYLES),
    decal: rng.choice(DECALS),
    decalRgb: rng.choice(contrasting.length > 0 ? contrasting : DECAL_COLOURS),
    bumper: rng.choice(BUMPERS),
    plate: plateText(rng),
  };
}

/** Key of the visible details (plate excluded): identities of one model must differ in it. */
export function detailKey(d: VehicleDetails): string {
  return [d.roofRack, d.sunroof, d.spoiler, d.tint, d.wheels, d.decal, d.decal === 'none' ? '' : d.decalRgb.join(','), d.bumper].join('|');
}

/**
 * Draw identities for the given vehicle ids (in order). Consecutive groups of `idsPerModel` ids share a
 * type + colour model (the model is drawn from `rng.derive('model/<g>')`); each id's shade and details come from
 * `rng.derive('id/<vehicleId>')`, resampled until its detail key differs from its model-mates'.
 */
export function makeIdentities(vehicleIds: readonly number[], rng: Rng, options: IdentityOptions = {}): VehicleIdentity[] {
  const perModel = options.idsPerModel ?? 4;
  if (!Number.isInteger(perModel) || perModel < 1) throw new Error(`idsPerModel must be a positive integer, got ${perModel}`);
  const attributes = options.attributes ?? 'weighted';
  const grid = VEHICLE_TYPES.flatMap((type) => COLOUR_NAMES.map((colour) => ({ type, colour })));
  const orders = new Map<number, number[]>(); // block of grid.length models → its shuffled cell order
  const gridOrder = (block: number): number[] => {
    if (!orders.has(block)) orders.set(block, rng.derive(`grid/${block}`).shuffle(grid.map((_, k) => k)));
    return orders.get(block)!;
  };
  const out: VehicleIdentity[] = [];
  let seenInModel = new Set<string>();
  vehicleIds.forEach((vehicleId, i) => {
    const g = Math.floor(i / perModel);
    if (i % perModel === 0) seenInModel = new Set();
    const modelRng = rng.derive(`model/${vehicleIds[g * perModel]}`);
    const { type, colour } =
      attributes === 'balanced' ? grid[gridOrder(Math.floor(g / grid.length))[g % grid.length]!]! : { type: weighted(modelRng, TYPE_WEIGHTS), colour: weighted(modelRng, COLOUR_WEIGHTS) };
    const idRng = rng.derive(`id/${vehicleId}`);
    const rgb = shadeColour(colour, idRng);
    let details = drawDetails(idRng, type, rgb);
    for (let attempt = 0; attempt < 50 && seenInModel.has(detailKey(details)); attempt++) details = drawDetails(idRng, type, rgb);
    seenInModel.add(detailKey(details));
    out.push({ vehicleId, type, colour, rgb, details });
  });
  return out;
}

/** Draw a camera's nuisance parameters from `rng.derive('cam/<cameraId>')`. */
export function makeCamera(cameraId: number, rng: Rng): CameraSpec {
  const r = rng.derive(`cam/${cameraId}`);
  // Each camera favours one or two views (a camera on a gantry sees fronts, one behind traffic sees rears…).
  const favourite = r.int(VIEWS.length);
  const second = r.int(VIEWS.length);
  const viewWeights = VIEWS.map((_, v) => 0.25 + (v === favourite ? 3 : 0) + (v === second ? 1.5 : 0));
  const total = viewWeights.reduce((s, w) => s + w, 0);
  const warm = r.uniform(-0.12, 0.12);
  const q = r.intRange(55, 90);
  const scenery = r.choice(['buildings', 'trees', 'wall'] as const);
  const roadGrey = r.intRange(70, 130);
  return {
    cameraId,
    viewWeights: viewWeights.map((w) => w / total),
    sky: [clamp255(r.uniform(120, 200)), clamp255(r.uniform(150, 210)), clamp255(r.uniform(170, 235))],
    road: [roadGrey + r.intRange(-8, 8), roadGrey + r.intRange(-8, 8), roadGrey + r.intRange(-4, 12)],
    horizon: r.uniform(0.2, 0.42),
    scenery,
    laneMarkings: r.bernoulli(0.7),
    gain: r.uniform(0.65, 1.2),
    cast: [1 + warm + r.uniform(-0.05, 0.05), 1 + r.uniform(-0.05, 0.05), 1 - warm + r.uniform(-0.05, 0.05)],
    blur: r.bernoulli(0.5) ? r.uniform(0.3, 1.0) : 0,
    scale: [r.uniform(0.72, 0.8), r.uniform(0.86, 0.96)],
    shift: r.uniform(0.02, 0.08),
    occlusion: r.uniform(0, 0.3),
    noise: r.uniform(1, 6),
    jpegQuality: [q, Math.min(95, q + r.intRange(3, 10))],
  };
}

/** Sample a view from a camera's distribution. */
export function sampleView(camera: CameraSpec, rng: Rng): View {
  let u = rng.float();
  for (let v = 0; v < VIEWS.length; v++) {
    u -= camera.viewWeights[v]!;
    if (u < 0) return VIEWS[v]!;
  }
  return VIEWS[VIEWS.length - 1]!;
}
