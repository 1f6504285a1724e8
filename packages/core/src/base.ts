/**
 * @clip-senet/core/base — the tf-free half of core: seeded Rng, registries, config loading, safetensors
 * IO, atomic writes, progress. Packages that do not need tfjs (metrics) import this entry point so
 * they never load tfjs (~3 s and ~160 MB).
 */

// randomness
export { Rng, hashString32 } from './rng';
export type { RngState } from './rng';

// dataset and protocol facts
export {
  VERI776_FACTS, VEHICLEID_FACTS, VEHICLEID_EVAL_SIZES, VERIWILD_FACTS, VERIWILD_TEST_SIZES, NORMALIZATION_STATS, vehicleIdDraw,
} from './dataset-facts';
export type { FactCount, SplitFacts, VehicleIdEvalSize, VeriWildTestSize, NormalizationStats } from './dataset-facts';

// optional packages
export { isModuleNotFound } from './optional-module';

// files
export { writeFileAtomic, writeJsonAtomic, atomicTempPath, removeStaleTempFiles, processExists } from './atomic';

// registries
export { createRegistry, assertRegistryName } from './registry';
export type { Registry } from './registry';

// validate once: a config parsed where it enters is frozen and marked, and builders further down take it as is
export { validated, markValidated, isValidated } from './validated';

// config
export {
  loadConfigFile,
  resolveConfigFile,
  overrideConfig,
  layerConfig,
  validateConfig,
  REPLACE_KEY,
  parseOverrides,
  applyOverrides,
  deepMerge,
  deepFreeze,
  isPlainObject,
  stringifyConfig,
  formatConfigPath,
  MAX_EXTENDS_DEPTH,
} from './config';
export type { DeepReadonly, ConfigOverride, LoadConfigOptions, ResolvedConfig, ConfigOrigin, ConfigLayerSource, ValidateConfigOptions } from './config';
export { configIdentity, sha256Hex, CONFIG_KEY_DIGITS } from './config-key';
export type { ConfigIdentity } from './config-key';

// safetensors
export {
  readSafetensors,
  writeSafetensors,
  encodeSafetensors,
  toFloat32,
  dtypeSize,
  f16BitsToNumber,
  numberToF16Bits,
  numberToBf16Bits,
  SAFE_DTYPES,
  MAX_HEADER_BYTES,
} from './safetensors';
export type { SafeTensor, SafeTensorData, SafeTensorInput, SafeDtype, SafetensorsFile } from './safetensors';

// progress
export { createProgress, formatDuration, formatRate } from './progress';
export type { Progress, ProgressOptions, ProgressInfo, ProgressStream } from './progress';
