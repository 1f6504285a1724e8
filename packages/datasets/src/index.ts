/**
 * @clip-senet/datasets — VeRi-776 / VehicleID / VeRi-Wild readers with the exact protocols (PROTOCOLS.md) and
 * loud errors, layout writers for miniature and synthetic trees, the synthetic vehicle world, decode +
 * transforms, the P×K sampler and the batch loader.
 */

// sample record
export type { Sample } from './sample';

// readers: errors and count checks
export { DatasetFormatError, DatasetCountError } from './errors';
export { VERI776_COUNTS, VEHICLEID_TEST_SIZES, VERIWILD_TEST_SIZES, vehicleIdCounts, veriWildCounts } from './published-counts';
export type {
  CountCheckOptions,
  CountSpec,
  SplitCounts,
  QueryGalleryCounts,
  TrainTestCounts,
  VehicleIDTestSize,
  VeRiWildTestSize,
} from './published-counts';

// readers: VeRi-776
export { loadVeRi776, parseVeRi776Name, VERI776_NAME_PATTERN, VERI776_SPLITS } from './veri776';
export type { VeRi776Dataset, VeRi776Options, VeRi776Name } from './veri776';
export { readViewLabels, readGoodJunk, NUM_VIEWS } from './veri776-extras';
export type { VeRi776GoodJunk } from './veri776-extras';

// readers: VehicleID
export { loadVehicleID, vehicleIdQueryGallery } from './vehicleid';
export type { VehicleIDDataset, VehicleIDOptions } from './vehicleid';

// readers: VeRi-Wild
export { loadVeRiWild, veriWildListNames } from './veriwild';
export type { VeRiWildDataset, VeRiWildOptions, VeRiWildFormat } from './veriwild';

// layout writers (miniature test trees, synthetic world)
export { writeVeRi776Layout, goodJunkLines } from './layout-writers';
export type { LayoutEntry, VeRi776LayoutEntry, VeRi776LayoutOptions, WrittenVeRi776Layout } from './layout-writers';
export { writeVehicleIDLayout } from './layout-writers-vehicleid';
export type { VehicleIDLayoutEntry, VehicleIDLayoutOptions, WrittenVehicleIDLayout } from './layout-writers-vehicleid';
export { writeVeRiWildLayout } from './layout-writers-veriwild';
export type { VeRiWildLayoutEntry, VeRiWildLayoutOptions, WrittenVeRiWildLayout } from './layout-writers-veriwild';

// synthetic vehicle world
export { generateSyntheticWorld, renderPlannedImage, veriName, SYNTHETIC_WORLD_VERSION } from './synthetic/generator';
export type { SyntheticWorld, SyntheticWorldManifest } from './synthetic/generator';
export { DEFAULT_WORLD_PARAMS, planWorld, resolveWorldParams } from './synthetic/world-plan';
export type { SyntheticWorldOptions, SyntheticWorldParams, PlannedImage, WorldPlan } from './synthetic/world-plan';
export { VEHICLE_TYPES, COLOURS, COLOUR_NAMES, VIEWS, makeIdentities, makeCamera } from './synthetic/world-spec';
export type { VehicleType, ColourName, View, VehicleDetails, VehicleIdentity, CameraSpec } from './synthetic/world-spec';
export { captionFor, captionRecord, visibleDetails } from './synthetic/captions';
export type { CaptionRecord, DetailName } from './synthetic/captions';
export { writeContactSheet } from './synthetic/contact-sheet';
export type { ContactSheetOptions } from './synthetic/contact-sheet';

// input pipeline: decode, transforms, P×K sampler, batch loader, resized-image cache
export { decodeImage, resizeBilinear } from './decode';
export type { RgbImage } from './decode';
export {
  assertImagesIntact,
  checkImageFiles,
  encodedImageProblem,
  headTailProblem,
  imageFileProblem,
  DamagedImagesError,
  DAMAGED_SHOWN,
  HEAD_BYTES,
  TAIL_BYTES,
} from './image-structure';
export type { DamagedImage, ImageCheckReport } from './image-structure';
export {
  applyTransforms,
  trainTransforms,
  hflip,
  padCrop,
  colorJitter,
  normalize,
  randomErasing,
  toUnitFloat,
  normalizationStats,
  NORMALIZATION_STATS,
} from './transforms';
export type { TransformOptions, Normalization, NormalizationStats, ColorJitterOptions, RandomErasingOptions, EraseBox } from './transforms';
export { createPKSampler, identityOf } from './sampler';
export type { PKSampler, PKSamplerOptions, PKSamplerState, SampledBatch } from './sampler';
export { createBatchLoader, BatchLoader, disposeBatch } from './loader';
export type { BatchLoaderOptions, BatchRequest, LoadedBatch } from './loader';
export { ResizedImageCache, MemoryImageCache, DEFAULT_IMAGE_MEMORY_MB, imageMemoryBudget, loadResized } from './image-cache';
export type { ImageCacheStats } from './image-cache';
