/**
 * Dataset resolution for the CLI: `synthetic` generates (or reuses) the embedded world under the git-ignored
 * `<repo>/datasets/synthetic/` and reads it as VeRi-776; `veri776` reads `data.root`.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashString32 } from '@clip-senet/core';
import { generateSyntheticWorld, loadVeRi776, SYNTHETIC_WORLD_VERSION, type Sample, type SyntheticWorldManifest } from '@clip-senet/datasets';
import type { DataConfig, WorldConfig } from './config';

/** Repository root (experiments/src/ → ../../). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Splits of a re-ID dataset. */
export interface LoadedData {
  readonly root: string;
  readonly train: readonly Sample[];
  readonly query: readonly Sample[];
  readonly gallery: readonly Sample[];
  readonly numClasses: number;
}

/**
 * Folder of the synthetic world with these parameters: `<repo>/datasets/synthetic/<seed>-<hash>`, the hash over
 * the parameters and the generator version (a new generator version gets a new folder instead of a refusal).
 */
export function syntheticWorldDir(world: Readonly<WorldConfig>): string {
  const hash = hashString32(JSON.stringify({ version: SYNTHETIC_WORLD_VERSION, world })).toString(16).padStart(8, '0');
  return join(REPO_ROOT, 'datasets', 'synthetic', `${world.seed ?? 'default'}-${hash}`);
}

/** Generate (or reuse) the configured synthetic world; returns its root. */
export function ensureSyntheticWorld(data: Readonly<DataConfig>): string {
  const outDir = data.root !== undefined ? resolve(data.root) : syntheticWorldDir(data.world);
  return generateSyntheticWorld({ ...data.world, outDir }).root;
}

/** Load the configured dataset (generating the synthetic world first when needed). */
export function loadData(data: Readonly<DataConfig>): LoadedData {
  if (data.dataset === 'veri776') {
    const root = resolve(data.root!);
    const ds = loadVeRi776(root);
    return { root, train: ds.train, query: ds.query, gallery: ds.gallery, numClasses: ds.numTrainIds };
  }
  const root = ensureSyntheticWorld(data);
  const manifest = JSON.parse(readFileSync(join(root, 'world.json'), 'utf8')) as SyntheticWorldManifest;
  const ds = loadVeRi776(root, { ...manifest.readerOptions, strict: true });
  return { root, train: ds.train, query: ds.query, gallery: ds.gallery, numClasses: ds.numTrainIds };
}
