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
