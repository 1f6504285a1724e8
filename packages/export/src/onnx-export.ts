/**
 * ONNX export of a trained CLIP-SENet's inference path (PAPER.md "Tensor walk-through"): image batch(es) → the
 * retrieval feature `eval` ranks with (fusion, camera/view embedding, BNNeck pre/post per `neck.retrievalFeature`,
 * optionally the flip-TTA mean), dynamic batch size. Inputs are NCHW float32 images already resized and normalised
 * (the recipe is written to the model's `metadata_props`), plus int64 camera / view ids when the model has those
 * tables. The graph is built by walking each part's structure (emit-backbones, emit-head); every parameter and
 * buffer of an exported part must be read by the graph, else the export fails naming the tensors without a mapping.
 */
import type { ClipSenetModel } from '@clip-senet/engine';
import { NORMALIZATION_STATS } from '@clip-senet/datasets';
import { emitClipVit, emitResNet } from './emit-backbones';
import { emitBnNeck, emitFusion, fusionReads } from './emit-head';
import { DEFAULT_OPSET, OnnxGraph, type ValueSpec } from './onnx-graph';
import { PartWeights } from './weights';

/** Version tag of the exported model's metadata layout. */
export const ONNX_EXPORT_FORMAT = 'clip-senet-onnx/1';

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** ONNX opset (default {@link DEFAULT_OPSET}); outside MIN_OPSET–MAX_OPSET is an error. */
  readonly opset?: number;
  /** Bake flip test-time augmentation in (mean of the features of the images and their mirrors), as `eval --flip`. */
  readonly flip?: boolean;
  /** Extra `metadata_props` (e.g. run folder, checkpoint, commit). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The preprocessing one image input expects (also in the model's metadata as JSON). */
export interface InputRecipe {
  readonly name: 'appearance' | 'semantic';
  /** [height, width] after resizing. */
  readonly size: readonly [number, number];
  readonly layout: 'NCHW';
  readonly channelOrder: 'RGB';
  /** Bilinear resize with half-pixel centres (the datasets loader's `resizeBilinear`), then x / 255. */
  readonly resize: 'bilinear-half-pixel';
  readonly scale: number;
  readonly normalization: string;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** An encoded export and what it declares. */
export interface OnnxExport {
  readonly bytes: Uint8Array;
  readonly opset: number;
  readonly inputs: readonly ValueSpec[];
  readonly output: ValueSpec;
  readonly recipes: readonly InputRecipe[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Node count by operator. */
  readonly opCounts: ReadonlyMap<string, number>;
}

const BATCH = 'batch';

function recipe(name: InputRecipe['name'], input: { size: readonly [number, number]; normalization: keyof typeof NORMALIZATION_STATS }): InputRecipe {
  const stats = NORMALIZATION_STATS[input.normalization];
  return { name, size: input.size, layout: 'NCHW', channelOrder: 'RGB', resize: 'bilinear-half-pixel', scale: 1 / 255, normalization: input.normalization, mean: stats.mean, std: stats.std };
}

/** Mirror the W axis of an NCHW value (Slice with step −1). */
function mirror(g: OnnxGraph, x: string): string {
  return g.op('Slice', [x, g.constInt64('starts', [-1]), g.constInt64('ends', [Number.MIN_SAFE_INTEGER]), g.constInt64('axes', [3]), g.constInt64('steps', [-1])]);
}

/**
 * Build the ONNX model of `model`'s retrieval feature. The model's tensors are read, not changed.
 * @throws on an unsupported opset, a part or variant without an ONNX mapping, a tensor the graph does not read, or a
 *   non-finite weight
 */
export function exportOnnx(model: ClipSenetModel, options: OnnxExportOptions = {}): OnnxExport {
  const opset = options.opset ?? DEFAULT_OPSET;
  const g = new OnnxGraph(opset);
  const cfg = model.config;
  if (model.appearance.family !== 'cnn') throw new Error(`ONNX export: no ONNX mapping for an appearance backbone of family '${model.appearance.family}'`);
  const reads = fusionReads(model.fusion);
  const recipes: InputRecipe[] = [];
  const inputs: ValueSpec[] = [];
  const image = (name: InputRecipe['name'], input: { size: readonly [number, number]; normalization: keyof typeof NORMALIZATION_STATS }): string => {
    recipes.push(recipe(name, input));
    const spec: ValueSpec = { name, type: 'float32', dims: [BATCH, 3, input.size[0], input.size[1]] };
    inputs.push(spec);
    return g.input(spec);
  };
  const xa = reads.appearance ? image('appearance', cfg.appearance.input) : undefined;
  if (reads.semantic && (!model.sem || !cfg.sem)) throw new Error(`ONNX export: fusion '${model.fusion.name}' reads the SEM but the model has none`);
  const xs = reads.semantic && cfg.sem ? image('semantic', cfg.sem.input) : undefined;
  const cv = cfg.fusion.cameraView;
  const ids = (name: string): string => {
    const spec: ValueSpec = { name, type: 'int64', dims: [BATCH] };
    inputs.push(spec);
    return g.input(spec);
  };
  const cameraIds = cv && cv.numCameras > 0 ? ids('camera_ids') : undefined;
  const viewIds = cv && cv.numViews > 0 ? ids('view_ids') : undefined;

  const parts: PartWeights[] = [];
  const part = (name: string, holder: ConstructorParameters<typeof PartWeights>[2]): PartWeights => {
    const w = new PartWeights(g, name, holder);
    parts.push(w);
    return w;
  };
  const wa = reads.appearance ? part('appearance', model.appearance) : undefined;
  const ws = reads.semantic && model.sem ? part('sem', model.sem) : undefined;
  const wf = part('fusion', model.fusion);
  const wn = model.bnneck ? part('neck', model.bnneck) : undefined;

  const feature = (a: string | undefined, s: string | undefined): string => {
    const ta = a !== undefined && wa ? emitResNet(g, wa, model.appearance as Parameters<typeof emitResNet>[2], a) : undefined;
    const ts = s !== undefined && ws && model.sem && cfg.sem ? emitClipVit(g, ws, model.sem, s, cfg.sem.input.size) : undefined;
    const t = emitFusion(g, wf, model.fusion, { ...(ta ? { appearance: ta } : {}), ...(ts ? { semantic: ts } : {}), ...(cameraIds ? { cameraIds } : {}), ...(viewIds ? { viewIds } : {}) });
    if (!model.bnneck || !wn) return t;
    const bn = emitBnNeck(g, wn, model.bnneck, t);
    return cfg.neck.retrievalFeature === 'pre-bn' ? t : bn;
  };
  let out = feature(xa, xs);
  if (options.flip) {
    const f2 = feature(xa !== undefined ? mirror(g, xa) : undefined, xs !== undefined ? mirror(g, xs) : undefined);
    out = g.op('Mul', [g.op('Add', [out, f2]), g.constFloat('half', [0.5], [])]);
  }
  for (const w of parts) w.assertAllUsed();
  const output: ValueSpec = { name: 'features', type: 'float32', dims: [BATCH, model.featureDim] };
  g.output(output, out);

  const metadata: Record<string, string> = {
    'clip_senet.format': ONNX_EXPORT_FORMAT,
    'clip_senet.inputs': JSON.stringify(recipes),
    'clip_senet.feature': JSON.stringify({ output: 'features', dim: model.featureDim, retrievalFeature: model.bnneck ? cfg.neck.retrievalFeature : 'fused', flip: options.flip === true }),
    'clip_senet.model_config': JSON.stringify(cfg),
    ...(cv ? { 'clip_senet.side_info': JSON.stringify({ camera_ids: cv.numCameras, view_ids: cv.numViews }) } : {}),
    ...options.metadata,
  };
  for (const r of recipes) {
    metadata[`${r.name}.input_size`] = `${r.size[0]}x${r.size[1]}`;
    metadata[`${r.name}.layout`] = r.layout;
    metadata[`${r.name}.channel_order`] = r.channelOrder;
    metadata[`${r.name}.mean`] = r.mean.join(',');
    metadata[`${r.name}.std`] = r.std.join(',');
  }
  const bytes = g.encode({
    producer: 'clip-senet',
    producerVersion: ONNX_EXPORT_FORMAT,
    graphName: 'clip_senet_retrieval_feature',
    docString: 'CLIP-SENet retrieval feature; preprocessing in metadata_props (clip_senet.inputs)',
    metadata,
  });
  return { bytes, opset, inputs, output, recipes, metadata, opCounts: g.opCounts() };
}
