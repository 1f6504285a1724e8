/**
 * Every shipped ablation (configs/ablations/*.yaml) loads, expands into valid experiments at every profile, maps
 * only to known paper cells, and each distinct run of its smoke profile builds in smoke mode (`smokeConfig`) and
 * runs one forward pass without leaking tensors.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, Rng, tf } from '@clip-senet/core';
import { buildModel } from '@clip-senet/engine';
import { paperCell } from '../report/paper-values';
import { SMOKE_INPUT, smokeConfig } from '../smoke';
import { loadAblation, PROFILES } from './definition';
import { planAblation } from './plan';

const DIR = fileURLToPath(new URL('../../configs/ablations/', import.meta.url));
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

describe('configs/ablations inventory', () => {
  it('ships the issue\'s ablations', () => {
    expect(files).toEqual([
      'afem-groups.yaml', 'afem-weight-mode.yaml', 'backbones.yaml', 'components.yaml', 'fusion.yaml', 'main.yaml', 'metric-loss.yaml', 'rerank.yaml', 'sem-frozen.yaml',
    ]);
  });

  it('main (the Nx default) compares baseline, +SEM, +SEM+AFEM and two fusion variants over ≥ 2 seeds', () => {
    const plan = planAblation(loadAblation(join(DIR, 'main.yaml')), { profile: 'default' });
    expect(plan.variants).toEqual(['baseline', '+SEM', '+SEM+AFEM', 'sum', 'gated']);
    expect(plan.seeds.length).toBeGreaterThanOrEqual(2);
    expect(plan.runs.map((r) => r.config.model.fusion.name)).toEqual(['appearance-only', 'appearance-only', 'concat-fc', 'concat-fc', 'clip-senet', 'clip-senet', 'sum', 'sum', 'gated', 'gated']);
    expect(plan.runs.every((r) => r.config.data.dataset === 'synthetic')).toBe(true);
  });
});

describe.each(files)('%s', (file) => {
  const ablation = loadAblation(join(DIR, file));

  it('expands at every profile; paper keys are known', () => {
    for (const profile of PROFILES) {
      const plan = planAblation(ablation, { profile });
      expect(plan.runs.length).toBe(plan.variants.length * plan.seeds.length);
      if (profile === 'full') expect(plan.runs.every((r) => r.config.data.dataset !== 'synthetic')).toBe(true);
    }
    for (const v of ablation.def.variants) for (const key of v.paper) expect(() => paperCell(key)).not.toThrow();
  });

  it('every distinct smoke run builds in smoke mode and runs a forward pass', () => {
    const plan = planAblation(ablation, { profile: 'smoke' });
    const seen = new Set<string>();
    for (const run of plan.runs) {
      if (seen.has(run.runKey)) continue;
      seen.add(run.runKey);
      const smoke = smokeConfig(run.config);
      const before = tf.memory().numTensors;
      const model = buildModel(smoke.model, { numClasses: 4, rng: new Rng(run.seed), log: null });
      try {
        model.eval();
        const cv = smoke.model.fusion.cameraView;
        const f = tf.tidy(() => {
          const image = (): tf.Tensor4D => tf.randomUniform([2, SMOKE_INPUT, SMOKE_INPUT, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
          const ids = (): tf.Tensor1D => tf.tensor1d([0, 1], 'int32');
          return model.forward({
            appearance: image(),
            ...(model.sem ? { semantic: image() } : {}),
            ...(cv && cv.numCameras > 0 ? { cameraIds: ids() } : {}),
            ...(cv && cv.numViews > 0 ? { viewIds: ids() } : {}),
          }).features.arraySync();
        });
        expect(f[0]!.length, `${run.variant}`).toBe(run.config.model.fusion.outDim);
        expect(f.flat().every(Number.isFinite)).toBe(true);
      } finally {
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
