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
export type { KernelPatchReport } from './kernels/index';

// randomness
export { Rng, hashString32 } from './rng';
export type { RngState } from './rng';

// files
export { writeFileAtomic, writeJsonAtomic } from './atomic';
