/**
 * Every registered backbone on webgpu against cpu (issue 14), looped over the registry so a new entry is picked up:
 * the tiny presets as registered, and every other entry shrunk to one block per stage (a CNN keeps its block type,
 * groups, IBN and SE; a ViT its activation, with 4× smaller patches), plus GeM pooling with last stride 1. The same
 * seeded weights are built on each backend (vector parameters moved off their init, see `perturbVectors`); one training-mode forward (batch statistics) of 4 images, the gradient
 * of a fixed projection of the features with respect to every trainable variable, and the BatchNorm running
 * statistics after it are compared. In CI this runs on Mesa's llvmpipe (software GL); where no adapter exists it
 * asserts the clear "no adapter" line instead (see @clip-senet/core/webgpu-testing).
 */
import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@clip-senet/core';
import { hostNormal, moduleParity, webgpuForTests, type ParityModule, describeOnWebGPU } from '@clip-senet/core/webgpu-testing';
import { backbones, buildBackbone, resolveBackbone } from './registry';
import type { BackboneConfigInput } from './config';

const target = await webgpuForTests();
/**
 * Relative to the largest magnitude of each tensor; measured ≤ 3e-5 on llvmpipe at batch 4. Batch 4, not 2: batch
 * norm over 2 samples at layer4's 1×1 maps is so ill-conditioned that even wasm and cpu differ by 3e-4 there.
 */
const TOL = 1e-4;
/**
 * GeM's p gets one gradient, a sum over every feature of the batch that nearly cancels (−0.0246 from terms of ±0.1
 * and more): its relative error is that much larger — wasm and cpu differ by 4e-4 there, webgpu and cpu by 7e-4.
 */
const TOL_BY_NAME: Record<string, number> = { 'grad:gem.p': 2e-3 };
const BATCH = 4;

/** A registered entry at test size: tiny presets as they are, the others shrunk (see the header). */
function testConfig(name: string): BackboneConfigInput {
  const e = backbones.get(name);
  if (/(^|-)tiny(-|$)/.test(name)) return { name } as BackboneConfigInput; // the test presets (not tinyclip-…)
  if (e.family === 'cnn') {
    const a = e.arch;
    return { name: 'resnet', block: a.block, layers: [1, 1, 1, 1], baseWidth: 16, groups: a.groups, widthPerGroup: a.widthPerGroup, ibn: a.ibn, se: a.se, seReduction: Math.min(a.seReduction, 8) };
  }
  const ps = Math.max(2, e.arch.patchSize / 4);
  return { name: 'clip-vit', width: 32, layers: 1, heads: 2, patchSize: ps, imageSize: 4 * ps, outputDim: 16, activation: e.arch.activation };
}

/** Registered entries with distinct test configs (resnet50 and resnet101 shrink to the same net), and GeM. */
const CASES: Array<[string, BackboneConfigInput]> = (() => {
  const seen = new Set<string>();
  const out: Array<[string, BackboneConfigInput]> = [];
  for (const name of backbones.list()) {
    const cfg = testConfig(name);
    const key = JSON.stringify(resolveBackbone(cfg));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([name === cfg.name ? name : `${name} (shrunk)`, cfg]);
  }
  out.push(['resnet-tiny-ibn-a + GeM, last stride 1', { name: 'resnet-tiny-ibn-a', pooling: 'gem', lastStride: 1 }]);
  return out;
})();

function imageSizeOf(cfg: BackboneConfigInput): number {
  const r = resolveBackbone(cfg);
  return r.family === 'clip-vit' ? r.arch.imageSize : 32;
}

/**
 * Every vector parameter (norm scales and shifts, biases; not GeM's p) moved off its init by seeded noise: with BatchNorm shifts
 * at 0, a channel that is constant over the batch normalises to 0 ± rounding, right on the next ReLU's kink, where
 * the two backends' roundings pick different one-sided derivatives (one element of 512 differed by 3× that way).
 */
function perturbVectors(params: ReadonlyMap<string, tf.Variable>): void {
  let seed = 100;
  for (const [name, v] of params) {
    if (v.rank !== 1 || name === 'gem.p') continue; // GeM's p stays 3: its gradient is then not a near-cancelled sum
    const noise = hostNormal(v.shape, seed++, 0.2);
    tf.tidy(() => v.assign(tf.add(v, tf.tensor1d(noise.values))));
  }
}

function backboneModule(cfg: BackboneConfigInput): ParityModule {
  const model = buildBackbone(cfg, { rng: new Rng(1) });
  perturbVectors(model.params);
  const size = imageSizeOf(cfg);
  const xHost = hostNormal([BATCH, size, size, 3], 2);
  const projHost = hostNormal([model.featureDim, 1], 3);
  const x = tf.tensor4d(xHost.values, [BATCH, size, size, 3]);
  const proj = tf.tensor2d(projHost.values, [model.featureDim, 1]);
  return {
    variables: model.params,
    buffers: model.buffers,
    forward: () => tf.matMul(model.forward(x, { training: true }).features, proj),
    dispose: () => {
      tf.dispose([x, proj]);
      model.dispose();
    },
  };
}

describeOnWebGPU({ describe, it, expect }, 'every registered backbone on webgpu vs cpu', target, ({ where }) => {

  it('covers every registry entry (each one or a shrunk twin with the same test config)', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(10);
    const covered = new Set(CASES.map(([, c]) => JSON.stringify(resolveBackbone(c))));
    for (const name of backbones.list()) expect(covered.has(JSON.stringify(resolveBackbone(testConfig(name)))), name).toBe(true);
  });

  for (const [name, cfg] of CASES) {
    it(`${name}: features, every gradient and the running statistics match cpu on ${where}; no leaks`, async () => {
      const r = await moduleParity(() => backboneModule(cfg));
      expect(r.leaked).toEqual({ webgpu: 0, cpu: 0 });
      expect(r.mismatchedNames).toEqual([]);
      expect(r.names.filter((n) => n.startsWith('grad:')).length).toBeGreaterThan(2);
      for (const [name, error] of r.errors) expect(error, name).toBeLessThan(TOL_BY_NAME[name] ?? TOL);
    });
  }
});
