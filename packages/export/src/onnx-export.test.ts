/**
 * Contract test of the ONNX export, verified by a real consumer (onnxruntime-node, CPU): for every registered
 * appearance backbone and CLIP ViT (shrunk, see testing.ts), every registered fusion variant, the camera / view
 * embedding, the BNNeck choices and every supported opset, the exported model is accepted by the runtime (session
 * creation runs its checker and shape inference), its features equal the tfjs eval-mode features to ≤ 1e-4
 * relative at two batch sizes, and different images give different features.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { expectNoLeaksSync, initBackend, Rng, tf } from '@clip-senet/core';
import { fusions, type Fusion } from '@clip-senet/afem';
import { buildModel, type ClipSenetModel, type ModelConfigInput, type ModelInputs } from '@clip-senet/engine';
import { exportOnnx, type OnnxExport } from './onnx-export';
import { decodeOnnxModel, MAX_OPSET, MIN_OPSET } from './onnx-graph';
import { fusionReads } from './emit-head';
import { entriesOf, nchwToNhwc, perturbVectors, randomNchw, relErr, tinyCnnOf, tinyModelConfig, tinyVitOf } from './testing';

beforeAll(async () => {
  await initBackend('wasm', { log: null, threads: 1 });
});

const TOL = 1e-4;

/** Registry presets meant for tests (`resnet-tiny`, `clip-vit-tiny`, …) run as they are; the others shrunk. */
const isTinyPreset = (name: string): boolean => /(^|-)tiny(-|$)/.test(name);

/** Random inputs of one batch, as ONNX feeds and as the tfjs model's inputs. */
function batchFor(model: ClipSenetModel, ex: OnnxExport, n: number, seed: number): { feeds: Record<string, ort.Tensor>; tfInputs: ModelInputs; dispose: () => void } {
  const feeds: Record<string, ort.Tensor> = {};
  const tensors: tf.Tensor[] = [];
  const tfIn: Record<string, tf.Tensor> = {};
  const r = new Rng(seed);
  const cfg = model.config;
  const imageOf = (size: readonly [number, number], s: number): [Float32Array, tf.Tensor4D] => {
    const data = randomNchw(n, size, s);
    const t = nchwToNhwc(data, n, size);
    tensors.push(t);
    return [data, t];
  };
  const [aData, aT] = imageOf(cfg.appearance.input.size, seed * 7 + 1);
  tfIn.appearance = aT;
  if (ex.inputs.some((i) => i.name === 'appearance')) feeds.appearance = new ort.Tensor('float32', aData, [n, 3, ...cfg.appearance.input.size]);
  if (model.sem && cfg.sem) {
    const [sData, sT] = imageOf(cfg.sem.input.size, seed * 7 + 2);
    tfIn.semantic = sT;
    if (ex.inputs.some((i) => i.name === 'semantic')) feeds.semantic = new ort.Tensor('float32', sData, [n, 3, ...cfg.sem.input.size]);
  }
  const cv = cfg.fusion.cameraView;
  for (const [key, feed, rows] of [['cameraIds', 'camera_ids', cv?.numCameras ?? 0], ['viewIds', 'view_ids', cv?.numViews ?? 0]] as const) {
    if (rows === 0) continue;
    const ids = Array.from({ length: n }, () => r.int(rows));
    feeds[feed] = new ort.Tensor('int64', BigInt64Array.from(ids, (i) => BigInt(i)), [n]);
    const t = tf.tensor1d(ids, 'int32');
    tensors.push(t);
    tfIn[key] = t;
  }
  return { feeds, tfInputs: tfIn as unknown as ModelInputs, dispose: () => tf.dispose(tensors) };
}

function tfFeatures(model: ClipSenetModel, inputs: ModelInputs, flip: boolean): Float32Array {
  model.eval();
  return tf.tidy(() => {
    const f = model.forward(inputs).features;
    if (!flip) return f.dataSync() as Float32Array;
    const m = (x: tf.Tensor4D): tf.Tensor4D => tf.reverse(x, 2);
    const g = model.forward({ ...inputs, appearance: m(inputs.appearance), ...(inputs.semantic ? { semantic: m(inputs.semantic) } : {}) }).features;
    return tf.div(tf.add(f, g), 2).dataSync() as Float32Array;
  });
}

/** Export `config`, run it in onnxruntime at batch 3 and 1, compare with tfjs; returns the export. */
async function checkExport(config: ModelConfigInput, opts: { opset?: number; flip?: boolean; seed?: number } = {}): Promise<OnnxExport> {
  const model = buildModel(config, { numClasses: 5, rng: new Rng(opts.seed ?? 1) });
  try {
    perturbVectors(model, 11);
    const ex = expectNoLeaksSync(() => exportOnnx(model, { ...(opts.opset ? { opset: opts.opset } : {}), flip: opts.flip === true }), 'exportOnnx');
    const session = await ort.InferenceSession.create(ex.bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    try {
      expect([...session.inputNames].sort()).toEqual(ex.inputs.map((i) => i.name).sort());
      const d = model.featureDim;
      const b3 = batchFor(model, ex, 3, 5);
      const got = (await session.run(b3.feeds)).features!;
      expect(got.dims).toEqual([3, d]);
      const want = tfFeatures(model, b3.tfInputs, opts.flip === true);
      const g3 = got.data as Float32Array;
      expect(relErr(g3, want)).toBeLessThanOrEqual(TOL);
      expect(g3.every(Number.isFinite)).toBe(true);
      // different images → different features (not one output for every image)
      const scale = Math.max(...Array.from(g3, Math.abs));
      for (const [i, j] of [[0, 1], [0, 2], [1, 2]] as const) {
        const gap = Math.max(...Array.from(g3.subarray(i * d, (i + 1) * d), (v, k) => Math.abs(v - g3[j * d + k]!)));
        expect(gap).toBeGreaterThan(1e-3 * scale);
      }
      b3.dispose();
      // dynamic batch: one image
      const b1 = batchFor(model, ex, 1, 9);
      const g1 = (await session.run(b1.feeds)).features!.data as Float32Array;
      expect(relErr(g1, tfFeatures(model, b1.tfInputs, opts.flip === true))).toBeLessThanOrEqual(TOL);
      b1.dispose();
    } finally {
      await session.release();
    }
    return ex;
  } finally {
    model.dispose();
  }
}

describe('ONNX export in onnxruntime-node: every registered appearance backbone', () => {
  for (const [name, entry] of entriesOf('cnn')) {
    it(`${name} (${entry.arch.block}, groups ${entry.arch.groups}${entry.arch.ibn ? ', IBN-a' : ''}${entry.arch.se ? ', SE' : ''})`, async () => {
      const backbone = isTinyPreset(name) ? { name } : tinyCnnOf(entry);
      await checkExport(tinyModelConfig({ appearance: { backbone: backbone as never, input: { size: [32, 32], normalization: 'imagenet' } } }));
    });
  }
  it('GeM pooling and last stride 1', async () => {
    await checkExport(tinyModelConfig({ appearance: { backbone: { name: 'resnet-tiny-ibn-a', pooling: 'gem', gemP: 3, lastStride: 1 }, input: { size: [32, 32], normalization: 'imagenet' } } }));
  });
});

describe('ONNX export in onnxruntime-node: every registered CLIP ViT SEM (position embedding resized to a non-square grid)', () => {
  for (const [name, entry] of entriesOf('clip-vit')) {
    it(`${name} (${entry.arch.activation})`, async () => {
      const vit = isTinyPreset(name) ? { name } : tinyVitOf(entry);
      const ps = isTinyPreset(name) ? entry.arch.patchSize : tinyVitOf(entry).patchSize;
      await checkExport(tinyModelConfig({ sem: { backbone: vit as never, input: { size: [3 * ps, 5 * ps], normalization: 'clip' } } }));
    });
  }
  it('antialiased position resize, and the pretraining grid itself', async () => {
    await checkExport(tinyModelConfig({ sem: { backbone: { name: 'clip-vit-tiny', posInterpAntialias: true }, input: { size: [16, 48], normalization: 'clip' } } }));
    await checkExport(tinyModelConfig({ sem: { backbone: { name: 'clip-vit-tiny' }, input: { size: [32, 32], normalization: 'clip' } } }));
  });
});

describe('ONNX export in onnxruntime-node: every registered fusion variant and the camera / view embedding', () => {
  for (const name of fusions.list()) {
    it(name, async () => {
      const extra = name === 'clip-senet' || name === 'semantic-only' ? { afem: { groups: 4 } } : {};
      const ex = await checkExport(tinyModelConfig({ fusion: { name, outDim: 16, ...extra } as never, ...(name === 'appearance-only' ? { sem: null } : {}) }));
      const reads = fusionReads({ name } as Fusion);
      expect(ex.inputs.map((i) => i.name)).toEqual([...(reads.appearance ? ['appearance'] : []), ...(reads.semantic ? ['semantic'] : [])]);
    });
  }
  it('variant knobs: AFEM vector weights without residual, gated with projections, semantic-only without AFEM', async () => {
    await checkExport(tinyModelConfig({ fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4, weightMode: 'vector', residual: false } } }));
    await checkExport(tinyModelConfig({ fusion: { name: 'gated', outDim: 24, gateBiasInit: 0.5 } }));
    await checkExport(tinyModelConfig({ fusion: { name: 'semantic-only', outDim: 16, useAfem: false } }));
  });
  it('camera and view ids are extra int64 inputs', async () => {
    const ex = await checkExport(tinyModelConfig({ fusion: { name: 'clip-senet', outDim: 16, afem: { groups: 4 }, cameraView: { numCameras: 4, numViews: 3, scale: 2, initStd: 0.5 } } }));
    expect(ex.inputs.filter((i) => i.type === 'int64').map((i) => i.name)).toEqual(['camera_ids', 'view_ids']);
    await checkExport(tinyModelConfig({ sem: null, fusion: { name: 'appearance-only', outDim: 16, cameraView: { numCameras: 3, initStd: 0.5 } } }));
  });
  it('BNNeck: pre-BN, post-BN and none; flip test-time augmentation baked in', async () => {
    await checkExport(tinyModelConfig({ neck: { bnneck: true, retrievalFeature: 'pre-bn' } }));
    await checkExport(tinyModelConfig({ neck: { bnneck: false } }));
    await checkExport(tinyModelConfig({ neck: { bnneck: true, retrievalFeature: 'post-bn' } }), { flip: true });
  });
});

describe('ONNX export: opsets, metadata, bad input', () => {
  it(`every opset ${MIN_OPSET}–${MAX_OPSET} runs (ReduceMean / LayerNormalization signatures differ)`, async () => {
    const config = tinyModelConfig({ appearance: { backbone: { name: 'se-resnet-tiny-ibn-a' }, input: { size: [32, 32], normalization: 'imagenet' } } });
    for (let opset = MIN_OPSET; opset <= MAX_OPSET; opset++) {
      const ex = await checkExport(config, { opset });
      expect(Number(decodeOnnxModel(ex.bytes).opsetImport[0]!.version)).toBe(opset);
      expect(ex.opCounts.has('LayerNormalization')).toBe(opset >= 17);
    }
  });

  it('records the preprocessing, the feature and the dynamic batch in the model', () => {
    const model = buildModel(tinyModelConfig(), { numClasses: 5, rng: new Rng(1) });
    try {
      const ex = exportOnnx(model, { metadata: { 'clip_senet.run': '/runs/x' } });
      const m = decodeOnnxModel(ex.bytes);
      const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
      expect(meta['appearance.input_size']).toBe('32x32');
      expect(meta['semantic.input_size']).toBe('24x40');
      expect(meta['appearance.layout']).toBe('NCHW');
      expect(meta['appearance.channel_order']).toBe('RGB');
      expect(meta['appearance.mean']).toBe('0.485,0.456,0.406');
      expect(meta['semantic.std']).toBe('0.26862954,0.26130258,0.27577711');
      expect(JSON.parse(meta['clip_senet.feature']!)).toEqual({ output: 'features', dim: 16, retrievalFeature: 'post-bn', flip: false });
      expect(JSON.parse(meta['clip_senet.inputs']!)[0]).toMatchObject({ name: 'appearance', size: [32, 32], scale: 1 / 255, resize: 'bilinear-half-pixel' });
      expect(meta['clip_senet.run']).toBe('/runs/x');
      const dims = m.graph!.input![0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
      expect(dims).toEqual(['batch', 3, 32, 32]);
    } finally {
      model.dispose();
    }
  });

  it('an unsupported opset, a tensor without a mapping and an unknown fusion are one clear error each', () => {
    const model = buildModel(tinyModelConfig(), { numClasses: 5, rng: new Rng(1) });
    try {
      for (const opset of [12, 22, 17.5]) expect(() => exportOnnx(model, { opset })).toThrow(`ONNX opset ${opset} is not supported: the exporter emits opsets ${MIN_OPSET}–${MAX_OPSET}`);
      const extra = tf.variable(tf.zeros([4]));
      model.fusion.params.set('mystery.weight', extra);
      expect(() => exportOnnx(model)).toThrow("no ONNX mapping for 1 tensor(s) of fusion: 'fusion.mystery.weight'");
      model.fusion.params.delete('mystery.weight');
      extra.dispose();
      expect(() => fusionReads({ name: 'attention-pool' } as unknown as Fusion)).toThrow("no ONNX mapping for fusion 'attention-pool'");
      const nan = model.fusion.params.get('fc.bias')!;
      tf.tidy(() => nan.assign(tf.fill(nan.shape, NaN)));
      expect(() => exportOnnx(model)).toThrow("ONNX initializer 'fusion.fc.bias': value 0 is NaN (a non-finite weight)");
    } finally {
      model.dispose();
    }
  });
});
