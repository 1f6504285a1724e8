/**
 * A run exported for the explorer's live demo: its model config (pretrained weight paths removed — the parameters
 * come from its checkpoint), every parameter and buffer of the latest checkpoint as float32 (`weights.bin`), the
 * gallery features extracted at build time by the same code as `clip-senet eval` (`loadRunModel`, `evalLoader`,
 * `extractFeatures`; `gallery.bin`), and the test split's queries as the Node decoder's RGB pixels (`queries.rgb`,
 * so the page feeds the model exactly what the Node loader would) with their build-time features (`queries.bin`).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { backendInfo, tf } from '@clip-senet/core';
import { decodeImage } from '@clip-senet/datasets';
import { extractFeatures, latestCheckpoint, type ClipSenetModel } from '@clip-senet/engine';
import { loadRunConfig, withRepoPaths, type ExperimentConfig } from '../config';
import { loadData } from '../data';
import { evaluationFor } from '../protocol';
import { evalLoader, loadRunModel } from '../run-model';
import { imageAsset, type AssetList } from './site-data';
import type { DemoModel, DemoQuery, WeightEntry } from './site-types';

/** Why a run folder cannot be exported, or undefined when it can. */
export function demoUnavailable(runDir: string): string | undefined {
  if (!existsSync(runDir)) return `run folder ${runDir} does not exist on the machine that built the site`;
  if (!existsSync(join(runDir, 'resolved-config.yaml'))) return `${runDir} is not a run folder (no resolved-config.yaml)`;
  const ckpt = join(runDir, 'checkpoints');
  if (!existsSync(ckpt) || latestCheckpoint(ckpt) === undefined) return `${runDir} has no checkpoint (no ${join('checkpoints', 'latest.json')}): the run holds no weights`;
  return undefined;
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Every parameter and buffer of the model, in name order, as one float32 buffer. */
function exportWeights(model: ClipSenetModel): { entries: WeightEntry[]; data: Float32Array } {
  const all = [...model.params, ...model.buffers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const total = all.reduce((n, [, v]) => n + v.size, 0);
  const data = new Float32Array(total);
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const [name, v] of all) {
    const values = v.dataSync() as Float32Array;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) throw new Error(`demo export: parameter '${name}' holds a non-finite value at flat index ${i}`);
    }
    data.set(values, offset);
    entries.push({ name, shape: [...v.shape], offset });
    offset += v.size;
  }
  return { entries, data };
}

/** Options of {@link exportDemoRun}. */
export interface DemoExportOptions {
  readonly runDir: string;
  readonly id: string;
  readonly label: string;
  /** Absolute folder the export is written to (`<site>/demo/<id>`). */
  readonly outDir: string;
  /** Site-relative folder of `outDir`. */
  readonly siteDir: string;
  readonly assets: AssetList;
  readonly repoRoot: string;
}

function architecture(config: ExperimentConfig): unknown {
  return {
    ...config.model,
    appearance: { ...config.model.appearance, weights: null },
    sem: config.model.sem === null ? null : { ...config.model.sem, weights: null },
  };
}

/** Export one run for the demo (files under `outDir`, images added to `assets`). */
export async function exportDemoRun(o: DemoExportOptions): Promise<DemoModel> {
  const config = withRepoPaths(loadRunConfig(o.runDir));
  const data = loadData(config.data);
  const plan = evaluationFor(config, data);
  if (plan.gallery.length === 0) throw new Error(`${o.runDir}: its protocol (${plan.protocol.id}) has no fixed gallery (VehicleID draws); the demo needs a query/gallery split`);
  const checkpoint = latestCheckpoint(join(o.runDir, 'checkpoints'))!;
  const model = loadRunModel(o.runDir, config);
  const loader = evalLoader(model, config);
  try {
    const batchSize = config.train.eval.batchSize;
    const gallery = await extractFeatures(model, plan.gallery, { loader, batchSize, split: 'gallery' });
    const queryFeatures = await extractFeatures(model, plan.query, { loader, batchSize, split: 'query' });
    const weights = exportWeights(model);
    mkdirSync(o.outDir, { recursive: true });
    writeFileSync(join(o.outDir, 'weights.bin'), f32Bytes(weights.data));
    writeFileSync(join(o.outDir, 'gallery.bin'), f32Bytes(gallery.features));
    writeFileSync(join(o.outDir, 'queries.bin'), f32Bytes(queryFeatures.features));
    const rgb: Uint8Array[] = [];
    let at = 0;
    const queries: DemoQuery[] = plan.query.map((s) => {
      const img = decodeImage(s.path);
      rgb.push(img.data);
      const q: DemoQuery = {
        path: s.path.startsWith(data.root) ? s.path.slice(data.root.length + 1) : basename(s.path),
        image: imageAsset(data.root, s.path, o.assets, o.repoRoot)!,
        vehicleId: s.vehicleId, cameraId: s.cameraId, ...(s.viewId !== undefined ? { viewId: s.viewId } : {}),
        rgbOffset: at, width: img.width, height: img.height,
      };
      at += img.data.length;
      return q;
    });
    writeFileSync(join(o.outDir, 'queries.rgb'), Buffer.concat(rgb));
    const rel = (p: string): string => (p.startsWith(data.root) ? p.slice(data.root.length + 1) : p);
    const demo: DemoModel = {
      format: 'clip-senet/explorer-demo@1', id: o.id, label: o.label, runDir: o.runDir,
      model: architecture(config), numClasses: model.classifier.params.get('weight')?.shape[1] ?? 0, seed: config.train.seed,
      featureDim: gallery.dim, protocolId: plan.protocol.id, metric: plan.protocol.metric, checkpoint: basename(checkpoint),
      weights: weights.entries, queries,
      gallery: {
        count: plan.gallery.length, paths: plan.gallery.map((s) => rel(s.path)),
        images: plan.gallery.map((s) => imageAsset(data.root, s.path, o.assets, o.repoRoot)!),
        ids: Array.from(gallery.ids), cams: Array.from(gallery.cams),
      },
      buildBackend: backendInfo()?.provenance ?? tf.getBackend(),
    };
    writeFileSync(join(o.outDir, 'model.json'), JSON.stringify(demo));
    return demo;
  } finally {
    await loader.close();
    model.dispose();
  }
}
