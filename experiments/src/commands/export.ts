/**
 * `clip-senet export`: a trained run's model as ONNX (the retrieval feature, verified in onnxruntime-node before it
 * is written) or as safetensors with PyTorch key names. Outputs are written atomically: a failed export leaves no
 * partial file and an existing output as it was.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Rng, tf, writeFileAtomic } from '@clip-senet/core';
import { gitCommit, type ClipSenetModel } from '@clip-senet/engine';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, checkOpset, exportOnnx, writeTorchWeights, type OnnxExport } from '@clip-senet/export';
import { loadRunConfig } from '../config';
import { prepareBackend } from '../backend';
import { loadRunModel } from '../run-model';
import { parseCommandArgs, positiveInt, required, UsageError, type Command } from '../command';
import { loadOnnxRuntime } from './onnx-runtime';

const usage = `Usage: clip-senet export --run <run-dir> --format onnx|safetensors [--opset <n>] [--flip] [--out <file>] [--checkpoint <file>]

Export a trained run's model (its resolved-config.yaml + latest checkpoint) for use outside this toolkit.

  --run <dir>          run folder written by 'clip-senet train'
  --format onnx        the inference graph: NCHW image batch(es) (dynamic batch size) → the retrieval feature
                       'eval' ranks with ('features' [batch, D]); camera / view ids as int64 inputs when the model
                       has those embeddings; the preprocessing (input size, mean/std, RGB, NCHW) in metadata_props.
                       Checked in onnxruntime-node against the tfjs model before it is written.
  --format safetensors weights only, PyTorch key names and layouts (appearance.* torchvision / IBN-Net,
                       sem.* OpenAI CLIP visual, fusion.* / neck.* / classifier.* nn.Linear / BatchNorm1d)
  --opset <n>          ONNX opset, ${MIN_OPSET}–${MAX_OPSET} (default ${DEFAULT_OPSET})
  --flip               bake flip test-time augmentation into the ONNX graph (as 'eval --flip')
  --out <file>         output (default: <run>/model.onnx or <run>/model.safetensors)
  --checkpoint <file>  a specific checkpoint (default: the latest in <run>/checkpoints)
  -h, --help           this text`;

/** The checkpoint a run folder's export reads; one clear error when the run has none. */
export function runCheckpoint(runDir: string, checkpoint?: string): string {
  if (checkpoint !== undefined) {
    const file = resolve(checkpoint);
    if (!existsSync(file)) throw new Error(`checkpoint ${file} does not exist`);
    return file;
  }
  const dir = join(runDir, 'checkpoints');
  if (!existsSync(join(dir, 'latest.json'))) {
    throw new Error(`${runDir} has no finished checkpoint (no ${join(dir, 'latest.json')}); train it first ('clip-senet train'), or name one with --checkpoint`);
  }
  return dir;
}

/** Run the export through onnxruntime (session creation = its checker and shape inference) and compare with tfjs. */
async function verifyOnnx(model: ClipSenetModel, ex: OnnxExport, flip: boolean): Promise<string> {
  const ort = await loadOnnxRuntime();
  if (!ort) return 'not verified (onnxruntime-node is not installed)';
  const session = await ort.InferenceSession.create(ex.bytes, { intraOpNumThreads: 1 });
  try {
    const n = 2;
    const rng = new Rng(0);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    const inputs: Record<string, tf.Tensor> = {};
    for (const spec of ex.inputs) {
      if (spec.type === 'int64') {
        const rows = JSON.parse(ex.metadata['clip_senet.side_info'] ?? '{}')[spec.name] as number;
        const ids = [0, Math.max(0, rows - 1)];
        feeds[spec.name] = new ort.Tensor('int64', BigInt64Array.from(ids, (i) => BigInt(i)), [n]);
        inputs[spec.name === 'camera_ids' ? 'cameraIds' : 'viewIds'] = tf.tensor1d(ids, 'int32');
        continue;
      }
      const [, c, h, w] = spec.dims as [string, number, number, number];
      const data = Float32Array.from({ length: n * c * h * w }, () => rng.normal());
      feeds[spec.name] = new ort.Tensor('float32', data, [n, c, h, w]);
      inputs[spec.name] = tf.tidy(() => tf.transpose(tf.tensor4d(data, [n, c, h, w]), [0, 2, 3, 1])); // [N, C, H, W] → [N, H, W, C]
    }
    const [appearanceSize] = model.branchInputs();
    if (!inputs.appearance) inputs.appearance = tf.zeros([n, appearanceSize!.size[0], appearanceSize!.size[1], 3]); // unread by a semantic-only fusion
    const got = (await session.run(feeds)).features!.data as Float32Array;
    const want = tf.tidy(() => {
      model.eval();
      const fwd = (x: Record<string, tf.Tensor>): tf.Tensor => model.forward(x as never).features;
      const f = fwd(inputs);
      if (!flip) return f.dataSync() as Float32Array;
      const mirrored = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t.rank === 4 ? tf.reverse(t, 2) : t]));
      return tf.div(tf.add(f, fwd(mirrored)), 2).dataSync() as Float32Array;
    });
    tf.dispose(Object.values(inputs));
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]!));
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    }
    const rel = worst / (scale || 1);
    if (!(rel <= 1e-4)) throw new Error(`the ONNX model's features differ from the tfjs model's by ${rel.toExponential(2)} (relative; limit 1e-4); nothing written`);
    return `verified in onnxruntime-node (max relative difference to tfjs ${rel.toExponential(1)})`;
  } finally {
    await session.release();
  }
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'export a run as ONNX or PyTorch-named safetensors',
  usage,
  async run(args, io) {
    const opts = parseCommandArgs('export', args, {
      run: { type: 'string' },
      format: { type: 'string' },
      opset: { type: 'string' },
      flip: { type: 'boolean' },
      out: { type: 'string' },
      checkpoint: { type: 'string' },
    });
    const runDir = resolve(required('export', opts.run, '--run'));
    const format = required('export', opts.format, '--format');
    if (format !== 'onnx' && format !== 'safetensors') throw new UsageError(`clip-senet export: --format must be onnx or safetensors, got '${format}'`);
    if (format === 'safetensors' && (opts.opset !== undefined || opts.flip)) throw new UsageError('clip-senet export: --opset and --flip apply to --format onnx only');
    const opset = positiveInt('export', '--opset', opts.opset);
    if (opset !== undefined) checkOpset(opset);
    const out = resolve(opts.out ?? join(runDir, format === 'onnx' ? 'model.onnx' : 'model.safetensors'));
    const config = loadRunConfig(runDir);
    const checkpoint = runCheckpoint(runDir, opts.checkpoint);
    await prepareBackend();
    const model = loadRunModel(runDir, config, checkpoint);
    try {
      const metadata = { 'clip_senet.run': runDir, 'clip_senet.checkpoint': checkpoint, 'clip_senet.commit': gitCommit() };
      if (format === 'safetensors') {
        const n = writeTorchWeights(out, model, metadata);
        io.out(`${n} tensors (PyTorch key names) → ${out}\n`);
        return;
      }
      const ex = exportOnnx(model, { ...(opset !== undefined ? { opset } : {}), flip: opts.flip === true, metadata });
      const verified = await verifyOnnx(model, ex, opts.flip === true);
      writeFileAtomic(out, ex.bytes);
      const inputs = ex.inputs.map((i) => `${i.name} [${i.dims.join(', ')}]`).join(', ');
      io.out(`ONNX opset ${ex.opset}: ${inputs} → features [batch, ${model.featureDim}]; ${verified}\n→ ${out} (${(ex.bytes.length / 1e6).toFixed(2)} MB)\n`);
    } finally {
      model.dispose();
    }
  },
};
