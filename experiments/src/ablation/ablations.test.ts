/**
 * Every shipped ablation (configs/ablations/*.yaml) loads, expands into valid experiments at every profile, maps
 * only to known paper cells, and each distinct run of its smoke profile builds in smoke mode (`smokeForward`) and
 * runs one forward pass without leaking tensors.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend } from '@clip-senet/core';
import { parse as parseYaml } from 'yaml';
import { ExperimentConfigSchema, resolvedConfigText } from '../config';
import { paperCell } from '../report/paper-values';
import { smokeForward } from '../smoke';
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

  it('main (the Nx default) compares baseline, +SEM, +SEM+AFEM over ≥ 5 seeds; every default grid has ≥ 5 seeds', () => {
    const plan = planAblation(loadAblation(join(DIR, 'main.yaml')), { profile: 'default' });
    expect(plan.variants).toEqual(['baseline', '+SEM', '+SEM+AFEM']);
    expect(plan.seeds.length).toBeGreaterThanOrEqual(5);
    const perVariant = (name: string): number => plan.runs.filter((r) => r.config.model.fusion.name === name).length;
    expect([perVariant('appearance-only'), perVariant('concat-fc'), perVariant('clip-senet')]).toEqual([plan.seeds.length, plan.seeds.length, plan.seeds.length]);
    for (const file of files) expect(planAblation(loadAblation(join(DIR, file)), { profile: 'default' }).seeds.length, file).toBeGreaterThanOrEqual(5);
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
    // `clip-senet train` re-reads resolved-config.yaml and requires the same text back (run key = checkpoint hash)
    for (const profile of PROFILES) {
      for (const r of planAblation(ablation, { profile }).runs) expect(resolvedConfigText(ExperimentConfigSchema.parse(parseYaml(r.configText)))).toBe(r.configText);
    }
  });

  it('every distinct smoke run builds in smoke mode and runs a forward pass', () => {
    const plan = planAblation(ablation, { profile: 'smoke' });
    const seen = new Set<string>();
    for (const run of plan.runs) {
      if (seen.has(run.runKey)) continue;
      seen.add(run.runKey);
      expectNoLeaksSync(() => {
        const f = smokeForward(run.config, { numClasses: 4, seed: run.seed });
        expect(f[0]!.length, run.variant).toBe(run.config.model.fusion.outDim);
        expect(f.flat().every(Number.isFinite)).toBe(true);
      }, `smokeForward of ${run.variant}`);
    }
  });
});
