/**
 * Every registered fusion variant (with and without the camera/view embedding) and every AFEM preset on webgpu
 * against cpu (issue 14), looped over the registries so a new entry is picked up: one training-mode forward, the
 * gradient of a fixed weighted sum of the output with respect to every parameter and both input features, and
 * the BatchNorm running statistics after it. In CI on Mesa's llvmpipe (software GL); where no adapter exists it
 * asserts the clear "no adapter" line instead (see @clip-senet/core/webgpu-testing).
 */
import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@clip-senet/core';
import { hostNormal, moduleParity, webgpuForTests, type ParityModule, describeOnWebGPU } from '@clip-senet/core/webgpu-testing';
import type { FusionConfigInput, FusionName } from './fusion-variants';
import { afemPresets, buildAfem, buildFusion, fusions } from './registry';

const target = await webgpuForTests();
/** Relative to the largest magnitude of each tensor (train-mode BatchNorm over 4 samples is the worst conditioned). */
const TOL = 1e-4;
const N = 4;
const DIMS = { appearanceDim: 12, semanticDim: 6 };
const CV = { cameraView: { numCameras: 3, numViews: 2, scale: 0.5, initStd: 0.5 } };

function fusionConfig(name: FusionName, withCv: boolean): FusionConfigInput {
  const afem = name === 'clip-senet' || name === 'semantic-only' ? { afem: { groups: 4 } } : {};
  return { name, outDim: 8, ...afem, ...(withCv ? CV : {}) } as FusionConfigInput;
}

/** An input as a variable, so its gradient is compared (tidy disposes the initial tensor). */
function inputVariable(values: Float32Array, shape: [number, number]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor2d(values, shape)));
}

/** The fusion with its two input features as variables (their gradients are compared too). */
function fusionModule(cfg: FusionConfigInput): ParityModule {
  const f = buildFusion(cfg, DIMS, new Rng(5));
  const a = hostNormal([N, DIMS.appearanceDim], 10);
  const s = hostNormal([N, DIMS.semanticDim], 11);
  const ta = inputVariable(a.values, [N, DIMS.appearanceDim]);
  const ts = inputVariable(s.values, [N, DIMS.semanticDim]);
  // fresh id tensors per forward: host data, as the engine's batches give them
  const ids = (v: number[]): tf.Tensor1D => tf.tensor1d(v, 'int32');
  return {
    variables: new Map([...f.params, ['input.appearance', ta], ['input.semantic', ts]]),
    buffers: f.buffers,
    forward: () => f.forward({ appearance: ta as unknown as tf.Tensor2D, semantic: ts as unknown as tf.Tensor2D, cameraIds: ids([0, 2, 1, 2]), viewIds: ids([1, 0, 0, 1]) }, { training: true }),
    dispose: () => {
      tf.dispose([ta, ts]);
      f.dispose();
    },
  };
}

function afemModule(preset: string): ParityModule {
  const inDim = 12;
  const m = buildAfem({ preset, overrides: { groups: 4, dOut: 16 } }, inDim, new Rng(6));
  const x = hostNormal([N, inDim], 12);
  const tx = inputVariable(x.values, [N, inDim]);
  return {
    variables: new Map([...m.params, ['input', tx]]),
    buffers: m.buffers,
    forward: () => m.forward(tx as unknown as tf.Tensor2D, { training: true }),
    dispose: () => {
      tx.dispose();
      m.dispose();
    },
  };
}

describeOnWebGPU({ describe, it, expect }, 'fusions and AFEM presets on webgpu vs cpu', target, ({ where }) => {

  for (const name of fusions.list() as FusionName[]) {
    for (const withCv of [false, true]) {
      it(`fusion ${name}${withCv ? ' + CV' : ''}: output, gradients (parameters and the inputs it reads) and running statistics match cpu on ${where}; no leaks`, async () => {
        const r = await moduleParity(() => fusionModule(fusionConfig(name, withCv)));
        expect(r.leaked).toEqual({ webgpu: 0, cpu: 0 });
        expect(r.mismatchedNames).toEqual([]);
        // each variant reads at least one of the two features (appearance-only ignores the semantic one, and back)
        expect(r.names.some((n) => n.startsWith('grad:input.'))).toBe(true);
        if (withCv) expect(r.names).toContain('grad:camera_view.camera');
        for (const [n, error] of r.errors) expect(error, n).toBeLessThan(TOL);
      });
    }
  }

  for (const preset of afemPresets.list()) {
    it(`AFEM preset ${preset}: output, gradients and running statistics match cpu on ${where}; no leaks`, async () => {
      const r = await moduleParity(() => afemModule(preset));
      expect(r.leaked).toEqual({ webgpu: 0, cpu: 0 });
      expect(r.mismatchedNames).toEqual([]);
      expect(r.names).toContain('grad:input');
      for (const [n, error] of r.errors) expect(error, n).toBeLessThan(TOL);
    });
  }
});
