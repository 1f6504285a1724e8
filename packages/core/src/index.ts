/**
 * @clip-senet/core — runtime and shared infrastructure: the tfjs namespace and backend selection with
 * training-kernel fixes, seeded Rng, registries, config loading, safetensors IO, atomic writes, progress.
 */

// tfjs runtime
export { tf } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable, Scalar } from './tf';
export { initBackend, backendInfo, probeNativeKernels } from './backend';
export type { BackendPreference, BackendName, BackendInfo, InitBackendOptions } from './backend';
export { registerTrainingKernels } from './kernels/index';
export { groupedConv2d } from './kernels/grouped-conv';
export { batchNormTrain } from './kernels/batchnorm-train';
export type { BatchNormTrainOptions, BatchNormTrainResult } from './kernels/batchnorm-train';
export { adamUpdate } from './kernels/adam-update';
export type { AdamUpdateHyper, AdamUpdateResult } from './kernels/adam-update';
export { tfGemm } from './gemm';
export { hostValues, WebGPUDeviceError, webgpuDeviceFailure } from './webgpu';
export { expectNoLeaks, expectNoLeaksSync, type LeakCheckOptions } from './leak-check';
// the one module base (params, buffers, train/eval, child prefixes, disposal) and the two layers beside it
export { Module, normalArray, uniformArray } from './module';
export type { ForwardOptions } from './module';
export { Linear, BatchNorm1d } from './layers';
export type { LinearOptions, BatchNormOptions } from './layers';
export type { KernelPatchReport } from './kernels/index';

// tf-free utilities (also importable without tfjs as '@clip-senet/core/base'). base.ts is itself the curated
// list of named exports, so it is re-exported whole here rather than listed twice.
export * from './base';
