/**
 * @clip-senet/core — runtime and shared infrastructure: the tfjs namespace and backend selection with
 * training-kernel fixes, seeded Rng, registries, config loading, safetensors IO, atomic writes, progress.
 */

// tfjs runtime
export { tf } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable, Scalar } from './tf';
export { initBackend, backendInfo } from './backend';
export type { BackendPreference, BackendName, BackendInfo, InitBackendOptions } from './backend';
export { registerTrainingKernels } from './kernels/index';
export { tfGemm } from './gemm';
export type { KernelPatchReport } from './kernels/index';

// tf-free utilities (also available without tfjs as '@clip-senet/core/base')
export {
  Rng,
  hashString32,
  writeFileAtomic,
  writeJsonAtomic,
  createRegistry,
  assertRegistryName,
  loadConfigFile,
  resolveConfigFile,
  parseOverrides,
  applyOverrides,
  deepMerge,
  deepFreeze,
  isPlainObject,
  stringifyConfig,
  formatConfigPath,
  MAX_EXTENDS_DEPTH,
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
  createProgress,
  formatDuration,
  formatRate,
} from './base';
export type {
  RngState,
  Registry,
  DeepReadonly,
  ConfigOverride,
  LoadConfigOptions,
  ResolvedConfig,
  ConfigOrigin,
  SafeTensor,
  SafeTensorData,
  SafeTensorInput,
  SafeDtype,
  SafetensorsFile,
  Progress,
  ProgressOptions,
  ProgressInfo,
  ProgressStream,
} from './base';
