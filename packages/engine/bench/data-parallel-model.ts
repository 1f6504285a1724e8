/** The model and losses of the data-parallel bench (shared by the runner and the report). */
import type { LossesConfigInput } from '@clip-senet/losses';
import type { ModelConfigInput } from '../src/model-config';

export const CLASSES = 16;

/** ResNet-18 layout (basic blocks [2, 2, 2, 2], last stride 1) at base width `width`, appearance only. */
export function benchModel(width: number, size: number): ModelConfigInput {
  return {
    appearance: { backbone: { name: 'resnet', block: 'basic', layers: [2, 2, 2, 2], baseWidth: width, lastStride: 1 }, input: { size: [size, size], normalization: 'imagenet' } },
    sem: null,
    fusion: { name: 'appearance-only', outDim: 8 * width },
  };
}

export const benchLosses: LossesConfigInput = [{ name: 'cross-entropy' }, { name: 'supcon' }];
