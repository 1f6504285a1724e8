/** The line `clip-senet ablation` prints before training: which kernels its runs will use. */
import { describe, expect, it } from 'vitest';
import { probeNativeKernels } from '@clip-senet/core';
import { kernelsLine } from './ablation';

describe('kernelsLine', () => {
  it('says up front that a machine without the oneDNN kernels trains on wasm alone, and how much slower', async () => {
    const line = await kernelsLine({ CLIP_SENET_NATIVE: '0' });
    expect(line).toBe('kernels: wasm only — native kernels off (CLIP_SENET_NATIVE=0). Runs train about 5× slower than with the oneDNN kernels (reports/bench/runtime.md); the grid still completes');
  });

  it('names the oneDNN kernels when the addon loads, and the backend the environment forces otherwise', async () => {
    const native = await probeNativeKernels({});
    expect(await kernelsLine({})).toEqual(native.active ? `kernels: wasm + ${native.detail} in every run` : expect.stringMatching(/^kernels: wasm only — native kernels unavailable: /));
    expect(await kernelsLine({ CLIP_SENET_BACKEND: 'cpu' })).toBe('kernels: CLIP_SENET_BACKEND=cpu in every run');
  });
});
