import { describe, expect, it } from 'vitest';
import { tf } from './tf';
import { backendInfo, initBackend } from './backend';
import { isModuleNotFound } from './optional-module';

describe('initBackend', () => {
  it("an absent optional package reads 'not installed' whether Node (a code) or Vite's SSR loader (a plain message) says so", () => {
    const pkg = '@tensorflow/tfjs-node-gpu';
    expect(isModuleNotFound(Object.assign(new Error(`Cannot find package '${pkg}'`), { code: 'ERR_MODULE_NOT_FOUND' }), pkg)).toBe(true);
    expect(isModuleNotFound(new Error(`Could not resolve "${pkg}" imported by "@clip-senet/core". Is it installed?`), pkg)).toBe(true);
    expect(isModuleNotFound(new Error(`Could not resolve "other-package" imported by "${pkg}".`), pkg)).toBe(false);
    expect(isModuleNotFound(new Error('libtensorflow.so.2: cannot open shared object file'), pkg)).toBe(false);
  });

  it('auto picks wasm here (no libtensorflow) and logs one line naming the choice and why', async () => {
    const lines: string[] = [];
    const name = await initBackend('auto', { env: {}, threads: 1, log: (l) => lines.push(l) });
    expect(name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/backend: wasm — auto: @tensorflow\/tfjs-node-gpu not installed, @tensorflow\/tfjs-node not installed/);
    expect(backendInfo()?.kernels?.replaced).toContain('Conv2DBackpropFilter');
    expect(backendInfo()?.kernels?.replaced).toContain('UnsortedSegmentSum');
    expect(backendInfo()?.kernels?.bridged).toContain('DepthwiseConv2dNativeBackpropFilter');
  });

  it('CLIP_SENET_BACKEND overrides the requested preference', async () => {
    const lines: string[] = [];
    expect(await initBackend('wasm', { env: { CLIP_SENET_BACKEND: 'cpu' }, log: (l) => lines.push(l) })).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines[0]).toContain('(CLIP_SENET_BACKEND)');
    expect(backendInfo()?.provenance).toBe('cpu');
    expect(backendInfo()?.native).toBeUndefined();
    expect(await initBackend('wasm', { env: {}, threads: 1, log: null })).toBe('wasm');
  });

  it("'tensorflow' without tfjs-node fails with install instructions incl. the mirror knob", async () => {
    await expect(initBackend('tensorflow', { env: {}, log: null })).rejects.toThrow(/TFJS_NODE_BASE_URI/);
    await expect(initBackend('tensorflow', { env: {}, log: null })).rejects.toThrow(/npm install @tensorflow\/tfjs-node/);
  });

  it('rejects unknown preferences and thread counts, naming the source', async () => {
    await expect(initBackend('auto', { env: { CLIP_SENET_BACKEND: 'gpu' }, log: null })).rejects.toThrow(/CLIP_SENET_BACKEND: unknown backend 'gpu'/);
    await expect(initBackend('auto', { env: { CLIP_SENET_WASM_THREADS: '9' }, log: null })).rejects.toThrow(/CLIP_SENET_WASM_THREADS: expected an integer 1–4/);
  });
});
