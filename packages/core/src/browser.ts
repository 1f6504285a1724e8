/**
 * @clip-senet/core for the browser: the tfjs namespace (the page registers and picks its backends itself — webgpu,
 * webgl, wasm), the ops the backbones call (grouped convolution, training-mode batch norm, host reads), and the Node-free utilities of
 * `./browser-base`. `initBackend`, the training-kernel fixes, the native kernels, config loading and file IO
 * are Node-only and live in `./index`. A browser bundle resolves `@clip-senet/core` here.
 */

// tfjs runtime
export { tf } from './tf';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable, Scalar } from './tf';
export { groupedConv2d } from './kernels/grouped-conv';
export { hostValues } from './host-values';
export { expectNoLeaks, expectNoLeaksSync, type LeakCheckOptions } from './leak-check';
// the one module base (params, buffers, train/eval, child prefixes, disposal) and the two layers beside it
export { Module, normalArray, uniformArray } from './module';
export type { ForwardOptions } from './module';
export { Linear, BatchNorm1d } from './layers';
export type { LinearOptions, BatchNormOptions } from './layers';
export { batchNormTrain } from './kernels/batchnorm-train';
export type { BatchNormTrainOptions, BatchNormTrainResult } from './kernels/batchnorm-train';

// Node-free utilities
export * from './browser-base';
