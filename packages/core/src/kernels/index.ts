/**
 * Registers the training-kernel fixes (see ../../README.md, "Training kernels") for a backend:
 *
 * | kernel                 | wasm                                  | cpu                          |
 * |------------------------|---------------------------------------|------------------------------|
 * | Conv2DBackpropFilter   | missing → dilated forward conv        | naive (~56 s/layer) → same   |
 * | Conv2DBackpropInput    | slow → stride-1 forward conv          | slow → same                  |
 * | BatchMatMul            | flags 10–14× slower → flag-free       | unchanged                    |
 * | UnsortedSegmentSum     | missing → one JS pass (bridge for other cases) | present               |
 * | depthwise backprops, … | missing → bridge to the cpu kernel    | present                      |
 * | Sum, Mean (non-trailing axes) | transpose+reduce → one streaming pass | unchanged                |
 * | Tile / BroadcastTo     | element loop → broadcasting Add       | unchanged                    |
 * | Identity               | memcpy → shared buffer (refcount)     | already shared               |
 * | Cast (to its own dtype) | memcpy → shared buffer (refcount)    | already shared               |
 * | MaxPoolGrad            | generic loop → one JS pass            | same                         |
 * | FusedBatchNorm, Mean gradients | no Tile / no ones(x.shape) (global gradient registry) | same |
 * | Relu gradient (ClipSenetReluGrad, new) | Step + Multiply → one pass (global gradient registry) | same |
 * | GroupedConv2D (+ backprops, new) | split / conv / concat (oneDNN: one grouped primitive) | split / conv / concat |
 * | ClipSenetBatchNormTrain, ClipSenetAdamUpdate (new) | only with the native addon (else the ops compose tf ops) | — |
 *
 * webgpu (`registerWebGPUKernels`) keeps its own shaders for the stock kernels and gets the project's custom ones
 * (GroupedConv2D and its backprops, by slices), AddN chunked to the device's storage-buffer limit, and the same
 * gradient registrations.
 */
import { tf } from '../tf';
import { flagFreeBatchMatMul } from './batch-matmul';
import { fusedBatchNormGradNoTile } from './batchnorm-grad';
import { batchNormTrainGradient } from './batchnorm-train';
import { registerCpuBridges } from './bridges';
import { conv2dBackpropFilterAsConv, conv2dBackpropInputAsConv } from './conv-backprop';
import { broadcastTile, sameDtypeCast, sharedIdentity } from './copies';
import { firstMaxPoolGrad } from './maxpool-grad';
import {
  GROUPED_CONV_KERNELS,
  groupedConvBackpropFilterBySlices,
  groupedConvBackpropInputBySlices,
  groupedConvForwardBySlices,
  groupedConvGradient,
} from './grouped-conv';
import { meanGradBroadcast } from './mean-grad';
import { streamingReduction } from './reductions';
import { RELU_GRAD_KERNEL, reluGradByLoop, reluGradFused, reluGradKernelGradient } from './relu-grad';
import { rowSegmentSum } from './segment-sum';
import { chunkedAddN } from './webgpu-addn';

/** What `registerTrainingKernels` changed for one backend. */
export interface KernelPatchReport {
  readonly backend: string;
  readonly replaced: readonly string[];
  readonly bridged: readonly string[];
}

const patched = new Map<string, KernelPatchReport>();
let gradientPatched = false;

function replaceKernel(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, backendName) != null) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

function registerGradients(): void {
  if (gradientPatched) return;
  silenceOverrideWarning(() => {
    tf.registerGradient(fusedBatchNormGradNoTile);
    tf.registerGradient(meanGradBroadcast);
    tf.registerGradient(reluGradFused); // the stock formula where the backend lacks ClipSenetReluGrad
  });
  tf.registerGradient(groupedConvGradient);
  tf.registerGradient(reluGradKernelGradient);
  tf.registerGradient(batchNormTrainGradient);
  gradientPatched = true;
}

/** Registers the fast training kernels for `backendName` ('wasm' or 'cpu'). Idempotent. */
export function registerTrainingKernels(backendName: 'wasm' | 'cpu'): KernelPatchReport {
  const done = patched.get(backendName);
  if (done) return done;
  registerGradients();
  const replaced = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad'];
  replaceKernel('Conv2DBackpropFilter', backendName, conv2dBackpropFilterAsConv(backendName) as tf.KernelFunc);
  replaceKernel('Conv2DBackpropInput', backendName, conv2dBackpropInputAsConv(backendName) as tf.KernelFunc);
  replaceKernel('MaxPoolGrad', backendName, firstMaxPoolGrad(backendName) as tf.KernelFunc);
  replaceKernel(GROUPED_CONV_KERNELS.forward, backendName, groupedConvForwardBySlices(backendName) as tf.KernelFunc);
  replaceKernel(GROUPED_CONV_KERNELS.backpropInput, backendName, groupedConvBackpropInputBySlices(backendName) as tf.KernelFunc);
  replaceKernel(GROUPED_CONV_KERNELS.backpropFilter, backendName, groupedConvBackpropFilterBySlices(backendName) as tf.KernelFunc);
  replaced.push(GROUPED_CONV_KERNELS.forward, GROUPED_CONV_KERNELS.backpropInput, GROUPED_CONV_KERNELS.backpropFilter);
  replaceKernel(RELU_GRAD_KERNEL, backendName, reluGradByLoop(backendName) as tf.KernelFunc);
  replaced.push(RELU_GRAD_KERNEL);
  let bridged: string[] = [];
  if (backendName === 'wasm') {
    const matmul = tf.getKernel('BatchMatMul', 'wasm');
    if (matmul == null) throw new Error('wasm backend has no BatchMatMul kernel to wrap');
    replaceKernel('BatchMatMul', 'wasm', flagFreeBatchMatMul('wasm', matmul.kernelFunc) as tf.KernelFunc);
    replaced.push('BatchMatMul');
    for (const [name, kind] of [['Sum', 'sum'], ['Mean', 'mean']] as const) {
      replaceKernel(name, 'wasm', streamingReduction(kind, originalKernel(name, 'wasm')) as tf.KernelFunc);
    }
    replaceKernel('Tile', 'wasm', broadcastTile('wasm', originalKernel('Tile', 'wasm')) as tf.KernelFunc);
    replaceKernel('Identity', 'wasm', sharedIdentity as tf.KernelFunc);
    replaceKernel('Cast', 'wasm', sameDtypeCast(originalKernel('Cast', 'wasm')) as tf.KernelFunc);
    replaced.push('Sum', 'Mean', 'Tile', 'Identity', 'Cast');
    bridged = registerCpuBridges('wasm');
    // The gather gradient in one pass (the bridged cpu kernel stays as the fallback for other dtypes / id ranks).
    replaceKernel('UnsortedSegmentSum', 'wasm', rowSegmentSum('wasm', originalKernel('UnsortedSegmentSum', 'wasm')) as tf.KernelFunc);
    replaced.push('UnsortedSegmentSum');
    bridged = bridged.filter((n) => n !== 'UnsortedSegmentSum');
  }
  const report: KernelPatchReport = { backend: backendName, replaced, bridged };
  patched.set(backendName, report);
  return report;
}

/**
 * Registers for webgpu what training needs beyond its stock kernels: the grouped conv kernels as per-group slices
 * of its own Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter shaders, and the gradient registrations. Idempotent.
 */
export function registerWebGPUKernels(): KernelPatchReport {
  const done = patched.get('webgpu');
  if (done) return done;
  registerGradients();
  replaceKernel(GROUPED_CONV_KERNELS.forward, 'webgpu', groupedConvForwardBySlices('webgpu') as tf.KernelFunc);
  replaceKernel(GROUPED_CONV_KERNELS.backpropInput, 'webgpu', groupedConvBackpropInputBySlices('webgpu') as tf.KernelFunc);
  replaceKernel(GROUPED_CONV_KERNELS.backpropFilter, 'webgpu', groupedConvBackpropFilterBySlices('webgpu') as tf.KernelFunc);
  replaceKernel('AddN', 'webgpu', chunkedAddN(originalKernel('AddN', 'webgpu')) as tf.KernelFunc);
  const report: KernelPatchReport = { backend: 'webgpu', replaced: [GROUPED_CONV_KERNELS.forward, GROUPED_CONV_KERNELS.backpropInput, GROUPED_CONV_KERNELS.backpropFilter, 'AddN'], bridged: [] };
  patched.set('webgpu', report);
  return report;
}

function originalKernel(name: string, backendName: string): tf.KernelFunc {
  const k = tf.getKernel(name, backendName);
  if (k == null) throw new Error(`${backendName} backend has no ${name} kernel to wrap`);
  return k.kernelFunc;
}

function silenceOverrideWarning(fn: () => void): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Overriding the gradient for')) return;
    warn(...args);
  };
  try {
    fn();
  } finally {
    console.warn = warn;
  }
}
