/**
 * `clip-senet extract`: features of every image in a folder or of a dataset split, through the tfjs model or through
 * the exported ONNX model in onnxruntime-node, as safetensors.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createBatchLoader, disposeBatch, type Sample } from '@clip-senet/datasets';
import { extractFeatures, folderSamples, writeFeatures, type ExtractedFeatures } from '@clip-senet/engine';
import { decodeOnnxModel, exportOnnx, type InputRecipe } from '@clip-senet/export';
import { loadRunConfig, withRepoPaths, type ExperimentConfig } from '../config';
import { loadData } from '../data';
import { prepareBackend } from '../backend';
import { evalLoader, loadRunModel } from '../run-model';
import { nonNegativeInt, parseCommandArgs, positiveInt, required, UsageError, type Command } from '../command';
import { runCheckpoint } from './export';
import { loadOnnxRuntime } from './onnx-runtime';

const SPLITS = ['query', 'gallery', 'train', 'test'] as const;
type Split = (typeof SPLITS)[number];

const usage = `Usage: clip-senet extract --run <run-dir> (--images <folder> | --split <${SPLITS.join('|')}>) --out <file.safetensors>
                          [--engine tfjs|onnxruntime] [--model <file.onnx>] [--checkpoint <file>] [--flip]
                          [--camera <id>] [--view <id>] [--batch-size <n>] [--threads <n>]

Extract retrieval features of every image in a folder, or of a split of the run's dataset, with a trained run's model.

  --run <dir>          run folder written by 'clip-senet train' (optional with --model and --images)
  --images <folder>    image folder: VeRi-style names (0002_c003_….jpg) give vehicle id 2 and camera 2 (0-based);
                       other names get vehicle -1 and camera --camera
  --split <name>       a split of the run's dataset (its data section): query, gallery, train or test (VehicleID)
  --out <file>         output safetensors: features [N, D], ids, cams; image paths in the metadata
  --engine <name>      tfjs (default): the run's model in tfjs; onnxruntime: the exported ONNX model in
                       onnxruntime-node (CPU) — the run's checkpoint exported in memory, or --model
  --model <file.onnx>  an exported model ('clip-senet export'); its metadata gives the input sizes and normalisation
  --checkpoint <file>  a specific checkpoint (default: the latest in <run>/checkpoints)
  --flip               flip test-time augmentation (with --model: must match how it was exported)
  --camera <id>        0-based camera of the images whose names carry none (default -1, unknown)
  --view <id>          view index of every image
  --batch-size <n>     images per forward pass (default: the run's train.eval.batchSize, else 64)
  --threads <n>        onnxruntime intra-op threads (default: onnxruntime's choice)
  -h, --help           this text

A model trained with camera / view embeddings (fusion.cameraView) needs every image's camera / view id; without
one the command stops before reading any image and names the first image lacking it. A NaN or infinite feature
(e.g. a checkpoint with a NaN weight) is an error naming how many images and the first one; nothing is written.
The last line reports the embedding throughput over the loop, decoding included: images / s of wall time, and the
process CPU time per image (all threads; the figure least moved by other load on the machine).`;

/** The samples of the invocation: an image folder or a split of the run's dataset. */
function samplesOf(opts: { images?: string; split?: string; camera?: string; view?: string }, config: ExperimentConfig | undefined): { samples: Sample[]; what: string } {
  if ((opts.images === undefined) === (opts.split === undefined)) throw new UsageError('clip-senet extract: give exactly one of --images <folder> and --split <name>');
  if (opts.images !== undefined) {
    const images = resolve(opts.images);
    const cameraId = nonNegativeInt('extract', '--camera', opts.camera);
    const viewId = nonNegativeInt('extract', '--view', opts.view);
    return { samples: folderSamples(images, { ...(cameraId !== undefined ? { cameraId } : {}), ...(viewId !== undefined ? { viewId } : {}) }), what: `image folder ${images}` };
  }
  const split = opts.split as Split;
  if (!SPLITS.includes(split)) throw new UsageError(`clip-senet extract: --split must be one of ${SPLITS.join(', ')}, got '${opts.split}'`);
  if (!config) throw new UsageError('clip-senet extract: --split needs --run (the dataset is the run config\'s)');
  const data = loadData(withRepoPaths(config).data);
  const samples = data[split];
  if (!samples || samples.length === 0) throw new Error(`the ${data.dataset} dataset has no ${split} split`);
  return { samples: [...samples], what: `${data.dataset} ${split} split` };
}

/** Side information the ONNX model reads (int64 inputs), checked for every sample before any image is read. */
function sideInfoOf(samples: readonly Sample[], sideInfo: Record<string, number>): void {
  for (const [input, rows] of Object.entries(sideInfo)) {
    if (rows === 0) continue;
    const what = input === 'camera_ids' ? 'camera' : 'view';
    const idOf = (s: Sample): number | undefined => (input === 'camera_ids' ? s.cameraId : s.viewId);
    const bad = samples.filter((s) => {
      const id = idOf(s);
      return id === undefined || !Number.isInteger(id) || id < 0 || id >= rows;
    });
    if (bad.length > 0) {
      throw new Error(`the model adds a ${what} embedding (${rows} ${what}s) but ${bad.length} of ${samples.length} images have no ${what} id in [0, ${rows}) — first: ${bad[0]!.path} (${what} ${String(idOf(bad[0]!))}); give one with --${what}`);
    }
  }
}

/** [N, H, W, C] → [N, C, H, W]. */
function toNchw(nhwc: Float32Array, n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  const plane = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * plane * 3;
    for (let p = 0; p < plane; p++) {
      const src = base + p * 3;
      out[base + p] = nhwc[src]!;
      out[base + plane + p] = nhwc[src + 1]!;
      out[base + 2 * plane + p] = nhwc[src + 2]!;
    }
  }
  return out;
}

interface OnnxSource {
  readonly bytes: Uint8Array;
  readonly recipes: readonly InputRecipe[];
  readonly sideInfo: Record<string, number>;
  readonly flip: boolean;
  readonly dim: number;
}

/** Read an exported model's declared inputs, feature and side information from its metadata. */
function readOnnxFile(path: string): OnnxSource {
  const bytes = readFileSync(path);
  let meta: Record<string, string>;
  try {
    meta = Object.fromEntries(decodeOnnxModel(bytes).metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  } catch (err) {
    throw new Error(`${path} is not an ONNX model (${(err as Error).message})`, { cause: err });
  }
  if (!meta['clip_senet.inputs'] || !meta['clip_senet.feature']) throw new Error(`${path}: no clip_senet.inputs / clip_senet.feature metadata; is it a 'clip-senet export' model?`);
  const feature = JSON.parse(meta['clip_senet.feature']) as { dim: number; flip: boolean };
  return { bytes, recipes: JSON.parse(meta['clip_senet.inputs']) as InputRecipe[], sideInfo: JSON.parse(meta['clip_senet.side_info'] ?? '{}') as Record<string, number>, flip: feature.flip, dim: feature.dim };
}

/** Embed `samples` through the ONNX model in onnxruntime-node. */
async function extractOnnx(src: OnnxSource, samples: readonly Sample[], opts: { batchSize: number; threads?: number; workers?: number | null; what: string }): Promise<ExtractedFeatures> {
  const ort = await loadOnnxRuntime();
  if (!ort) throw new Error('--engine onnxruntime needs onnxruntime-node (an optional dependency: npm install onnxruntime-node@1.30.0)');
  sideInfoOf(samples, src.sideInfo);
  const session = await ort.InferenceSession.create(src.bytes, { ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}), graphOptimizationLevel: 'all' });
  const loader = createBatchLoader({ branches: src.recipes.map((r) => ({ size: r.size, normalization: r.normalization as 'imagenet' })), seed: 0, ...(opts.workers != null ? { workers: opts.workers } : {}) });
  const out = new Float32Array(samples.length * src.dim);
  const bs = opts.batchSize;
  const requests = Array.from({ length: Math.ceil(samples.length / bs) }, (_, i) => ({ epoch: 0, index: i, samples: samples.slice(i * bs, (i + 1) * bs) }));
  try {
    let row = 0;
    for await (const batch of loader.stream(requests)) {
      const n = batch.samples.length;
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      try {
        src.recipes.forEach((r, i) => {
          const [h, w] = r.size;
          feeds[r.name] = new ort.Tensor('float32', toNchw(batch.branches[i]!.dataSync() as Float32Array, n, h, w), [n, 3, h, w]);
        });
      } finally {
        disposeBatch(batch);
      }
      if ((src.sideInfo.camera_ids ?? 0) > 0) feeds.camera_ids = new ort.Tensor('int64', BigInt64Array.from(batch.samples, (s) => BigInt(s.cameraId)), [n]);
      if ((src.sideInfo.view_ids ?? 0) > 0) feeds.view_ids = new ort.Tensor('int64', BigInt64Array.from(batch.samples, (s) => BigInt(s.viewId!)), [n]);
      const f = (await session.run(feeds)).features!;
      out.set(f.data as Float32Array, row * src.dim);
      row += n;
    }
  } finally {
    await loader.close();
    await session.release();
  }
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const r = Math.floor(bad / src.dim);
    throw new Error(`extract (onnxruntime): ${opts.what} features are not finite — first: ${samples[r]!.path} — the model's output is not finite (a NaN/Inf weight?)`);
  }
  return { features: out, dim: src.dim, ids: Int32Array.from(samples, (s) => s.vehicleId), cams: Int32Array.from(samples, (s) => s.cameraId) };
}

export const extractCommand: Command = {
  name: 'extract',
  summary: 'extract features of an image folder or a dataset split (tfjs or onnxruntime)',
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('extract', args, {
      run: { type: 'string' },
      images: { type: 'string' },
      split: { type: 'string' },
      out: { type: 'string' },
      engine: { type: 'string' },
      model: { type: 'string' },
      checkpoint: { type: 'string' },
      flip: { type: 'boolean' },
      camera: { type: 'string' },
      view: { type: 'string' },
      'batch-size': { type: 'string' },
      threads: { type: 'string' },
    });
    const engine = opts.engine ?? 'tfjs';
    if (engine !== 'tfjs' && engine !== 'onnxruntime') throw new UsageError(`clip-senet extract: --engine must be tfjs or onnxruntime, got '${engine}'`);
    if (opts.model !== undefined && engine !== 'onnxruntime') throw new UsageError('clip-senet extract: --model is an ONNX model; use it with --engine onnxruntime');
    if (opts.threads !== undefined && engine !== 'onnxruntime') throw new UsageError('clip-senet extract: --threads applies to --engine onnxruntime');
    const out = resolve(required('extract', opts.out, '--out'));
    const runDir = opts.run !== undefined ? resolve(opts.run) : undefined;
    if (runDir === undefined && opts.model === undefined) throw new UsageError('clip-senet extract: --run is required (or --model with --engine onnxruntime)');
    const config = runDir !== undefined ? loadRunConfig(runDir) : undefined;
    const batchSize = positiveInt('extract', '--batch-size', opts['batch-size']) ?? config?.train.eval.batchSize ?? 64;
    const threads = positiveInt('extract', '--threads', opts.threads);
    const flip = opts.flip === true;
    const { samples, what } = samplesOf(opts, config);
    const checkpoint = runDir !== undefined && opts.model === undefined ? runCheckpoint(runDir, opts.checkpoint) : undefined;
    const started = { t: 0, cpu: process.cpuUsage() };
    const start = (): void => {
      started.t = performance.now();
      started.cpu = process.cpuUsage();
    };
    let extracted: ExtractedFeatures;
    if (engine === 'onnxruntime') {
      let src: OnnxSource;
      if (opts.model !== undefined) {
        src = readOnnxFile(resolve(opts.model));
        if (src.flip !== flip) throw new Error(`${resolve(opts.model)} was exported ${src.flip ? 'with' : 'without'} --flip; extract ${src.flip ? 'with' : 'without'} --flip too, or export again`);
      } else {
        await prepareBackend();
        const model = loadRunModel(runDir!, config!, checkpoint);
        try {
          const ex = exportOnnx(model, { flip });
          src = { bytes: ex.bytes, recipes: ex.recipes, sideInfo: JSON.parse(ex.metadata['clip_senet.side_info'] ?? '{}') as Record<string, number>, flip, dim: model.featureDim };
        } finally {
          model.dispose();
        }
      }
      start();
      extracted = await extractOnnx(src, samples, { batchSize, ...(threads ? { threads } : {}), workers: config?.train.loader.workers ?? null, what });
    } else {
      await prepareBackend();
      const model = loadRunModel(runDir!, config!, checkpoint);
      const loader = evalLoader(model, config!);
      try {
        start();
        extracted = await extractFeatures(model, samples, { loader, flip, batchSize, split: what });
      } finally {
        await loader.close();
        model.dispose();
      }
    }
    const seconds = (performance.now() - started.t) / 1000;
    const cpu = process.cpuUsage(started.cpu);
    const cpuMsPerImage = (cpu.user + cpu.system) / 1000 / samples.length;
    writeFeatures(out, extracted, samples, { ...(runDir ? { run: runDir } : {}), ...(opts.model ? { model: resolve(opts.model) } : {}), flip: String(flip), engine });
    io.out(`${samples.length} images × ${extracted.dim} → ${out}\n`);
    io.out(`embedded ${samples.length} images in ${seconds.toFixed(2)} s: ${(samples.length / seconds).toFixed(1)} img/s, ${cpuMsPerImage.toFixed(2)} ms CPU per image (engine ${engine}, batch ${batchSize}${threads ? `, ${threads} threads` : ''})\n`);
  },
};
