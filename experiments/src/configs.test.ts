/**
 * Every experiment YAML under configs/ (recursively) loads with the composed schema and builds in smoke mode
 * (`smokeConfig`: tiny backbone presets of the same families, 32² inputs, no weights) on the wasm backend, with
 * one forward pass. The full-size architectures are not built here (≈ 7 s / 360 MB each on a CPU backend): their
 * names are checked against the backbone registry, and data / weights paths are checked to be well-formed
 * repository-relative paths. configs/ablations/ is skipped: those files are ablation definitions with their own
 * schema, tested with the ablation runner.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaksSync, initBackend } from '@clip-senet/core';
import { backbones } from '@clip-senet/backbones';
import { planWorld, resolveWorldParams } from '@clip-senet/datasets';
import { loadExperimentConfig, resolvedConfigText, withRepoPaths, REPO_ROOT, type ExperimentConfig } from './config';
import { protocolFor } from './protocol';
import { smokeConfig, smokeForward } from './smoke';

const CONFIGS = fileURLToPath(new URL('../configs/', import.meta.url));
/** Folders of configs/ holding other schemas (see the module header). */
const OTHER_SCHEMAS = new Set(['ablations']);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return dir === CONFIGS && OTHER_SCHEMAS.has(e.name) ? [] : yamlFiles(join(dir, e.name));
    return /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [];
  });
}

const files = yamlFiles(CONFIGS).map((f) => relative(CONFIGS, f)).sort();
const load = (file: string): ExperimentConfig => loadExperimentConfig(join(CONFIGS, file));

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

describe('configs/ inventory', () => {
  it('holds the base definitions and one paper file per reproducible table row', () => {
    expect(files.filter((f) => f.startsWith('base/'))).toEqual(['base/vehicleid.yaml', 'base/veri776-cv.yaml', 'base/veri776.yaml', 'base/veriwild.yaml']);
    const rows = (table: string): number => files.filter((f) => f.startsWith(`paper/table${table}-`)).length;
    expect([rows('1'), rows('2'), rows('3'), rows('4'), rows('5'), rows('6')]).toEqual([1, 3, 3, 4, 6, 4]);
  });
});

describe.each(files)('%s', (file) => {
  it('loads with the composed schema and builds in smoke mode (one forward pass)', () => {
    const config = load(file);
    expect(() => protocolFor(config, { goodJunk: { good: [], junk: [] } })).not.toThrow();
    expectNoLeaksSync(() => {
      const features = smokeForward(config);
      expect(features.length).toBe(2);
      expect(features[0]!.length).toBe(config.model.fusion.outDim);
      expect(features.flat().every(Number.isFinite)).toBe(true);
    }, 'smokeForward');
  });

  it('names registered backbones of the right family at full size', () => {
    const { appearance, sem } = load(file).model;
    if (appearance.backbone.name !== 'resnet') expect(backbones.get(appearance.backbone.name).family).toBe('cnn');
    if (sem && sem.backbone.name !== 'clip-vit') expect(backbones.get(sem.backbone.name).family).toBe('clip-vit');
  });

  it('has well-formed repository-relative data and weights paths, kept as written in the resolved config', () => {
    const config = load(file);
    const paths = [config.data.root, config.data.viewLabels, config.model.appearance.weights, config.model.sem?.weights].filter((p): p is string => typeof p === 'string');
    for (const p of paths) {
      expect(p, `${p} must be relative to the repository root`).not.toMatch(/^([/\\]|[A-Za-z]:)/);
      expect(normalize(p), `${p} must be normalised, with / separators`).toBe(p);
      expect(p.includes('\\')).toBe(false);
      expect(p.startsWith('..'), `${p} must stay inside the repository`).toBe(false);
      expect(resolvedConfigText(config)).toContain(p);
    }
    const paperWeights = /^(base|paper)\//.test(file);
    for (const w of [config.model.appearance.weights, config.model.sem?.weights]) {
      if (typeof w === 'string') expect(w).toMatch(paperWeights ? /^weights\/[\w.-]+\.(safetensors|pth|pt)$/ : /\.(safetensors|pth|pt)$/);
    }
    if (config.data.dataset !== 'synthetic') expect(config.data.root).toMatch(/^datasets\//);
  });
});

describe.each(files.filter((f) => f.startsWith('paper/')))('%s header', (file) => {
  it('names the table, the row, the paper numbers and the exact command, and extends a base', () => {
    const text = readFileSync(join(CONFIGS, file), 'utf8');
    const header = text.split('\n').filter((l) => l.startsWith('#')).join('\n');
    expect(header).toMatch(/^# Table (I|II|III|IV|V|VI) \([^)]+\), row /);
    expect(header).toMatch(/Paper: (mAP|R1) \d+\.\d/);
    expect(header).toContain(`npx nx run experiments:train -- --config configs/paper/${basename(file)}`);
    expect(text).toMatch(/^extends: \.\.\/base\/[\w-]+\.yaml$/m);
  });
});

describe('smokeConfig', () => {
  it.each([
    ['paper/table6-resnet50-ibn-a.yaml', 'resnet-tiny-ibn-a'],
    ['paper/table6-resnet101-ibn-a.yaml', 'resnet-tiny-ibn-a'],
    ['paper/table6-se-resnet101-ibn-a.yaml', 'se-resnet-tiny-ibn-a'],
    ['paper/table6-resnext101-32x4d-ibn-a.yaml', 'resnext-tiny-ibn-a'],
  ])('%s → %s of the same family, knobs kept, no weights, 32² inputs', (file, tiny) => {
    const config = load(file);
    const smoke = smokeConfig(config);
    expect(smoke.model.appearance.backbone).toEqual({ ...config.model.appearance.backbone, name: tiny });
    expect(smoke.model.sem?.backbone.name).toBe('clip-vit-tiny');
    expect([smoke.model.appearance.weights, smoke.model.sem?.weights]).toEqual([null, null]);
    expect([smoke.model.appearance.input.size, smoke.model.sem?.input.size]).toEqual([[32, 32], [32, 32]]);
    expect(smoke.model.fusion).toEqual(config.model.fusion);
    expect(smoke.data).toEqual(config.data);
  });
});

describe('documented defaults the base files rely on', () => {
  it('base/veri776.yaml resolves AFEM to G = 32, scalar weights, residual; the starred row adds 20 cameras and 8 views', () => {
    const base = load('base/veri776.yaml');
    expect(base.model.fusion.name === 'clip-senet' && base.model.fusion.afem).toEqual({ groups: 32, weightMode: 'scalar', residual: true, bnMomentum: 0.1, bnEps: 1e-5 });
    expect(base.model.fusion.cameraView).toBeNull();
    expect(load('paper/table1-clip-senet-star.yaml').model.fusion.cameraView).toMatchObject({ numCameras: 20, numViews: 8 });
    expect(withRepoPaths(base).data.root).toBe(join(REPO_ROOT, 'datasets/VeRi'));
  });
});

describe('the embedded world is sized to decide the default ablations', () => {
  it('synthetic/base.yaml plans ≥ 200 query and ≥ 2000 gallery images (R1 moves ≤ 0.5 points per query) and 3× the 425 training images of the earlier 48-identity world', () => {
    const world = load('synthetic/base.yaml').data.world;
    expect(world).not.toBeNull();
    const plan = planWorld(resolveWorldParams(world!));
    const count = (split: string): number => plan.images.filter((i) => i.split === split).length;
    expect(count('query')).toBeGreaterThanOrEqual(200);
    expect(count('gallery')).toBeGreaterThanOrEqual(2000);
    expect(count('train')).toBeGreaterThanOrEqual(3 * 425);
    expect(100 / count('query')).toBeLessThanOrEqual(0.5);
  });
});
