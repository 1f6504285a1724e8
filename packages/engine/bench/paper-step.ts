/**
 * The paper-scale CLIP-SENet training step (issue 13): ResNeXt101-32x4d-IBN-a (last stride 1, average pooling) at
 * 320×320 + the OpenAI CLIP ViT-B/32 SEM (frozen, 224²) fused by AFEM (`clip-senet`, 2048-d), BNNeck, CE (label
 * smoothing 0.1) + SupCon, Adam — the VeRi-776 recipe of experiments/configs/base/veri776.yaml with random weights
 * and random images, trained by the toolkit's own `train()` on the requested backend (default wasm, + oneDNN where
 * the native addon is built; `--backend webgpu` for bench/gpu-bench.ts). Prints one JSON line { batch, imgPerSec,
 * stepMs[], peakRssMiB, wasmHeapMiB, tensorMiB, gpuMiB, adapter, epochHours } (epochHours: one VeRi-776 epoch of 37,778
 * training images at the measured rate; gpuMiB: the most GPU memory tfjs-webgpu had allocated), or { batch, error }
 * when the step fails (e.g. the wasm heap's 4 GiB ceiling, or the GPU's memory).
 *
 *   tsx bench/paper-step.ts --batch 8 --steps 2 --warmup 1 [--backend wasm|webgpu|cpu]
 */
import { parseArgs } from 'node:util';
import { backendInfo, initBackend, Rng, tf, type BackendPreference } from '@clip-senet/core';
import type { LoadedBatch } from '@clip-senet/datasets';
import { buildLosses, type LossesConfigInput } from '@clip-senet/losses';
import { buildModel } from '../src/build-model';
import type { ModelConfigInput } from '../src/model-config';
import { modelLossFn, trainableVariables } from '../src/model-loss';
import { buildOptimizer } from '../src/optimizer-config';
import { buildSchedule } from '../src/schedule';
import { train, type BatchSource } from '../src/train';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'wasm' },
    // smaller inputs only for smoke-testing the script (bench/gpu-bench.ts --smoke); the paper's are 320 and 224
    'appearance-size': { type: 'string', default: '320' },
    'sem-size': { type: 'string', default: '224' },
  },
});
const [batch, steps, warmup] = [values.batch, values.steps, values.warmup].map(Number) as [number, number, number];
if (!Number.isInteger(batch) || batch < 2 || batch % 2 !== 0) throw new Error(`--batch: an even integer ≥ 2 (P × K with K = 2), got ${values.batch}`);

/** VeRi-776's training split (PROTOCOLS.md): 576 identities, 37,778 images. */
const VERI_CLASSES = 576;
const VERI_TRAIN_IMAGES = 37_778;
const APPEARANCE = Number(values['appearance-size']);
const SEM = Number(values['sem-size']);
for (const [k, v] of [['--appearance-size', APPEARANCE], ['--sem-size', SEM]] as const) if (!Number.isInteger(v) || v < 32 || v % 32 !== 0) throw new Error(`${k}: a multiple of 32 ≥ 32, got ${v}`);

const model: ModelConfigInput = {
  appearance: { backbone: { name: 'resnext101-32x4d-ibn-a', lastStride: 1, pooling: 'avg' }, input: { size: [APPEARANCE, APPEARANCE], normalization: 'imagenet' } },
  sem: { backbone: { name: 'openai-vit-b-32' }, freeze: true, input: { size: [SEM, SEM], normalization: 'clip' } },
  fusion: { name: 'clip-senet', outDim: 2048, cameraView: null },
  neck: { bnneck: true, retrievalFeature: 'post-bn', metricFeature: 'pre-bn' },
};
const losses: LossesConfigInput = [
  { name: 'cross-entropy', epsilon: 0.1 },
  { name: 'supcon', temperature: 0.07 },
];

await initBackend(values.backend as BackendPreference, { log: null });
const rng = new Rng(3407);
const m = buildModel(model, { numClasses: VERI_CLASSES, rng: rng.derive('model'), log: null });
const l = buildLosses(losses, { numClasses: VERI_CLASSES, featureDim: m.featureDim, rng: rng.derive('losses') });
const optimizer = buildOptimizer({ name: 'adam', lr: 5e-4, weightDecay: 5e-4 }, trainableVariables(m, l));

const heapMiB = (): number | null => {
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.byteLength;
  return heap === undefined ? null : Math.round(heap / 2 ** 20);
};
const builtTensorMiB = Math.round(tf.memory().numBytes / 2 ** 20);
process.stderr.write(
  `[paper-step] built: ${m.params.size} parameter tensors (${trainableVariables(m, l).size} trainable), tensors ${Math.round(tf.memory().numBytes / 2 ** 20)} MiB, wasm heap ${heapMiB() ?? 'n/a'} MiB, RSS ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB\n`,
);

/** One fixed random batch (images already decoded and normalised), K = 2 images per identity. */
function source(): BatchSource<LoadedBatch> {
  const r = new Rng(1);
  const app = Float32Array.from({ length: batch * APPEARANCE * APPEARANCE * 3 }, () => r.normal());
  const sem = Float32Array.from({ length: batch * SEM * SEM * 3 }, () => r.normal());
  const labels = Int32Array.from({ length: batch }, (_, i) => Math.floor(i / 2));
  let index = 0;
  return {
    next() {
      const a = tf.tensor4d(app, [batch, APPEARANCE, APPEARANCE, 3]);
      const s = tf.tensor4d(sem, [batch, SEM, SEM, 3]);
      const b = { epoch: 0, index, images: a, branches: [a, s], labels, cameraIds: new Int32Array(batch), samples: [] } as unknown as LoadedBatch;
      return { batch: b, epoch: 0, index: index++, lastInEpoch: false, size: batch };
    },
    state: () => ({ index }),
    release: (b) => tf.dispose([...b.branches]),
  };
}

const stepMs: number[] = [];
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
let tensorPeak = 0;
let gpuPeak = 0;
/** Bytes tfjs-webgpu holds in GPU buffers (its pool included), or 0 on the other backends. */
const gpuBytes = (): number => (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0;
try {
  await train({
    optimizer,
    data: source(),
    steps: warmup + steps,
    signals: [],
    lossFn: modelLossFn(m, l),
    schedule: buildSchedule({ name: 'constant', unit: 'step' }, { lr: 5e-4, totalSteps: warmup + steps }),
    hooks: [
      {
        name: 'time',
        onStepEnd: (ctx, s) => {
          tensorPeak = Math.max(tensorPeak, tf.memory().numBytes);
          gpuPeak = Math.max(gpuPeak, gpuBytes());
          if (ctx.step > warmup) stepMs.push(s.seconds * 1000);
          process.stderr.write(`[paper-step] batch ${batch}: step ${ctx.step} ${s.seconds.toFixed(1)} s, tensors ${mib(tf.memory().numBytes)} MiB\n`);
        },
      },
    ],
  });
} catch (err) {
  process.stdout.write(`${JSON.stringify({ batch, appearanceSize: APPEARANCE, semSize: SEM, error: (err as Error).message.split('\n')[0], builtTensorMiB, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);
  process.exit(0);
}
const mean = stepMs.reduce((a, b) => a + b, 0) / stepMs.length;
const imgPerSec = (batch * 1000) / mean;
process.stdout.write(
  `${JSON.stringify({
    batch,
    appearanceSize: APPEARANCE,
    semSize: SEM,
    provenance: backendInfo()?.provenance,
    stepMs: stepMs.map(Math.round),
    imgPerSec,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    wasmHeapMiB: heapMiB(),
    tensorMiB: mib(tensorPeak),
    builtTensorMiB,
    gpuMiB: gpuPeak > 0 ? mib(gpuPeak) : null,
    adapter: backendInfo()?.webgpu ?? null,
    epochHours: VERI_TRAIN_IMAGES / imgPerSec / 3600,
  })}\n`,
);
optimizer.dispose();
l.dispose();
m.dispose();
