/**
 * The live demo's model: a run's CLIP-SENet assembled in the page by the toolkit's own engine (`assembleModel`),
 * its parameters restored from the build's export, and queries embedded through the same preprocessing the Node
 * loader applies (datasets' `resizeBilinear` + `applyTransforms`, engine's `batchInputs`, the eval-mode forward).
 */
import { Rng, tf } from '@clip-senet/core/browser';
import { applyTransforms, resizeBilinear, type RgbImage } from '@clip-senet/datasets/browser';
import { assembleModel, batchInputs, type ClipSenetModel } from '@clip-senet/engine/browser';
import type { DemoModel } from '../../src/explorer/site-types';

/** A loaded demo run. */
export interface LoadedDemo {
  readonly meta: DemoModel;
  readonly model: ClipSenetModel;
  readonly gallery: Float32Array;
  /** Build-time (Node) features of the queries, row-major. */
  readonly queryFeatures: Float32Array;
  readonly queryPixels: Uint8Array;
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

const f32 = async (url: string): Promise<Float32Array> => new Float32Array(await (await fetchOk(url)).arrayBuffer());

/** Build the model and restore every parameter and buffer (names and shapes checked, all-or-nothing). */
export function restoreModel(meta: DemoModel, weights: Float32Array): ClipSenetModel {
  const model = assembleModel(meta.model as Parameters<typeof assembleModel>[0], { numClasses: meta.numClasses, rng: new Rng(meta.seed).derive('model'), log: null });
  try {
    const byName = new Map(meta.weights.map((w) => [w.name, w]));
    const vars = [...model.params, ...model.buffers];
    const problems: string[] = [];
    for (const [name, v] of vars) {
      const w = byName.get(name);
      if (!w) problems.push(`missing '${name}'`);
      else if (w.shape.join(',') !== v.shape.join(',')) problems.push(`'${name}': export [${w.shape.join(', ')}] ≠ model [${v.shape.join(', ')}]`);
      byName.delete(name);
    }
    for (const name of byName.keys()) problems.push(`unexpected '${name}'`);
    if (problems.length > 0) throw new Error(`the exported weights do not fit the model: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` … (${problems.length})` : ''}`);
    const index = new Map(meta.weights.map((w) => [w.name, w]));
    for (const [name, v] of vars) {
      const w = index.get(name)!;
      const t = tf.tensor(weights.subarray(w.offset, w.offset + v.size), [...v.shape]);
      v.assign(t);
      t.dispose();
    }
    return model.eval();
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** Fetch a demo export and restore its model on the current backend. */
export async function loadDemo(dir: string): Promise<LoadedDemo> {
  const meta = (await (await fetchOk(`${dir}/model.json`)).json()) as DemoModel;
  const [weights, gallery, queryFeatures, pixels] = await Promise.all([
    f32(`${dir}/weights.bin`), f32(`${dir}/gallery.bin`), f32(`${dir}/queries.bin`), fetchOk(`${dir}/queries.rgb`).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  return { meta, model: restoreModel(meta, weights), gallery, queryFeatures, queryPixels: pixels };
}

/** Side information of a query (camera / view ids for models that embed them). */
export interface QuerySide {
  readonly vehicleId: number;
  readonly cameraId: number;
  readonly viewId?: number;
}

/** Embed one RGB image (any size) with the model; the feature [dim] and the milliseconds it took (incl. read-back). */
export async function embed(model: ClipSenetModel, image: RgbImage, side: QuerySide, path: string): Promise<{ feature: Float32Array; ms: number }> {
  const t0 = performance.now();
  const branches = model.branchInputs().map((b) => {
    const [h, w] = b.size;
    const x = applyTransforms(resizeBilinear(image, w, h), { size: [h, w], normalization: b.normalization }, new Rng(0));
    return tf.tensor4d(x, [1, h, w, 3]);
  });
  try {
    const sample = { path, vehicleId: side.vehicleId, cameraId: side.cameraId, ...(side.viewId !== undefined ? { viewId: side.viewId } : {}) };
    const batch = { epoch: 0, index: 0, images: branches[0]!, branches, labels: Int32Array.of(side.vehicleId), cameraIds: Int32Array.of(side.cameraId), samples: [sample] };
    const f = tf.tidy(() => model.forward(batchInputs(model, batch)).features);
    const feature = (await f.data()) as Float32Array;
    f.dispose();
    return { feature: new Float32Array(feature), ms: performance.now() - t0 };
  } finally {
    for (const b of branches) b.dispose();
  }
}

/** Decode an image file in the browser to RGB (alpha dropped), or throw saying it cannot be decoded. */
export async function decodeFile(file: Blob, name: string): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new Error(`cannot decode ${name}: the browser could not read it as an image (${(err as Error).message || (err as Error).name})`);
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const data = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i]!;
    data[j + 1] = rgba[i + 1]!;
    data[j + 2] = rgba[i + 2]!;
  }
  bitmap.close();
  return { width: canvas.width, height: canvas.height, data };
}
