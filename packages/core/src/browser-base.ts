/**
 * @clip-senet/core's browser half of `./base`: the parts that need neither Node nor tfjs — seeded Rng and
 * registries. Config loading, safetensors and atomic-file IO, and progress bars read files or the terminal and stay
 * in `./base` (Node). A browser bundle resolves `@clip-senet/core/base` here.
 */

// randomness
export { Rng, hashString32 } from './rng';
export type { RngState } from './rng';

// dataset and protocol facts (plain data)
export {
  VERI776_FACTS, VEHICLEID_FACTS, VEHICLEID_EVAL_SIZES, VERIWILD_FACTS, VERIWILD_TEST_SIZES, NORMALIZATION_STATS, vehicleIdDraw,
} from './dataset-facts';
export type { FactCount, SplitFacts, VehicleIdEvalSize, VeriWildTestSize, NormalizationStats } from './dataset-facts';

// registries
export { createRegistry, assertRegistryName } from './registry';
export type { Registry } from './registry';

// validate once: a config parsed where it enters is frozen and marked, and builders further down take it as is
export { validated, markValidated, isValidated } from './validated';
