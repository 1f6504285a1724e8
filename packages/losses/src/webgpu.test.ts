/**
 * Every registered loss on webgpu against cpu (issue 14), looped over the registry so a new entry is picked up (the
 * triplet loss also with its soft margin and normalised features): the loss value and its gradient with respect to
 * every input it reads (logits, features, image / text embeddings) and to its own parameters (center loss'
 * centres, CLIP's logit scale). In CI on Mesa's llvmpipe (software GL); where no adapter exists it asserts the clear
 * "no adapter" line instead (see @clip-senet/core/webgpu-testing).
 */
import { describe, expect, it } from 'vitest';
import { Rng, tf } from '@clip-senet/core';
import { hostNormal, moduleParity, webgpuForTests, type ParityModule, describeOnWebGPU } from '@clip-senet/core/webgpu-testing';
import type { LossConfigInput } from './registry';
import { buildLosses, losses } from './registry';

const target = await webgpuForTests();
/** Relative to the largest magnitude of each tensor (see moduleParity). */
const TOL = 1e-4;
const N = 6;
const K = 3;
const D = 4;

/** Every registered loss with its defaults, plus the triplet loss' other branches. */
const CASES: LossConfigInput[] = [
  ...losses.list().map((name) => ({ name }) as LossConfigInput),
  { name: 'triplet', softMargin: true, normalizeFeatures: true },
];

function lossModule(config: LossConfigInput): ParityModule {
  const set = buildLosses([config], { numClasses: K, featureDim: D, rng: new Rng(1) });
  const input = (shape: [number, number], seed: number): tf.Variable => tf.tidy(() => tf.variable(tf.tensor2d(hostNormal(shape, seed).values, shape)));
  const inputs = { logits: input([N, K], 1), features: input([N, D], 2), imageEmbeddings: input([N, D], 3), textEmbeddings: input([N, D], 4) };
  return {
    variables: new Map([...set.params, ...Object.entries(inputs).map(([k, v]) => [`input.${k}`, v] as [string, tf.Variable])]),
    forward: () => {
      const labels = tf.tensor1d([0, 0, 1, 1, 2, 2], 'int32'); // P × K: 3 identities, 2 images each
      const { total, terms } = set.compute({ labels, ...(inputs as unknown as Record<string, tf.Tensor2D>) });
      tf.dispose(Object.values(terms));
      return total;
    },
    dispose: () => {
      tf.dispose(Object.values(inputs));
      set.dispose();
    },
  };
}

describeOnWebGPU({ describe, it, expect }, 'losses on webgpu vs cpu', target, ({ where }) => {

  for (const config of CASES) {
    it(`${JSON.stringify(config)}: value and gradients (inputs it reads, its parameters) match cpu on ${where}; no leaks`, async () => {
      const r = await moduleParity(() => lossModule(config));
      expect(r.leaked).toEqual({ webgpu: 0, cpu: 0 });
      expect(r.mismatchedNames).toEqual([]);
      expect(r.names.some((n) => n.startsWith('grad:input.'))).toBe(true);
      const probe = buildLosses([config], { numClasses: K, featureDim: D, rng: new Rng(1) });
      for (const p of probe.params.keys()) expect(r.names, `a gradient reaches ${p}`).toContain(`grad:${p}`);
      probe.dispose();
      for (const [n, error] of r.errors) expect(error, n).toBeLessThan(TOL);
    });
  }
});
