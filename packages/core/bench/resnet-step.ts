/**
 * One benchmark worker: trains the fixed small ResNet (ResNet-18 layout at half width: stem 32,
 * stages 32/64/128/256, [2,2,2,2] basic blocks) on random 128×128 data with Adam + cross-entropy
 * and prints one JSON line `{ backend, imgPerSec, stepMs[], cpuMs[], loss }` (cpuMs: process CPU time per step, all
 * threads).
 *
 * Usage: tsx bench/resnet-step.ts --backend wasm|cpu|tensorflow|webgpu --steps 6 --batch 32 --size 128 [--fuse-relu 0]
 * BatchNorm is core's batchNormTrain (fused kernels on wasm+oneDNN, the tf-op composition elsewhere) and Adam core's
 * adamUpdate, as the toolkit's models and optimiser use them.
 * Written directly against tf ops (core cannot import @clip-senet/backbones); the PyTorch twin is
 * bench/resnet_step.py with the identical architecture.
 */
import { parseArgs } from 'node:util';
import { tf, adamUpdate, backendInfo, batchNormTrain, initBackend, Rng, type BackendPreference } from '../src/index';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    steps: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '32' },
    size: { type: 'string', default: '128' },
    classes: { type: 'string', default: '100' },
    'fuse-relu': { type: 'string', default: '1' },
  },
});
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const batch = Number(values.batch);
const size = Number(values.size);
const classes = Number(values.classes);
/** Fold the ReLU after a BatchNorm into it (`--fuse-relu 0`: a separate tf.relu, as backbones' resnet.ts calls it). */
const fuseRelu = values['fuse-relu'] !== '0';

const backend = await initBackend(values.backend as BackendPreference, { log: null });
const rng = new Rng(3407);
const params: tf.Variable[] = [];
const bnStats: Array<{ mean: tf.Variable; variance: tf.Variable }> = [];

function heNormal(shape: number[], fanIn: number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < n; i++) data[i] = rng.normal(0, std);
  const v = tf.variable(tf.tensor(data, shape));
  params.push(v);
  return v;
}

interface Bn {
  gamma: tf.Variable;
  beta: tf.Variable;
  stats: { mean: tf.Variable; variance: tf.Variable };
}
function bn(c: number): Bn {
  const gamma = tf.variable(tf.ones([c]));
  const beta = tf.variable(tf.zeros([c]));
  params.push(gamma, beta);
  const stats = { mean: tf.variable(tf.zeros([c]), false), variance: tf.variable(tf.ones([c]), false) };
  bnStats.push(stats);
  return { gamma, beta, stats };
}
const updates: Array<() => void> = [];
/** BatchNorm in training mode as backbones' ops.ts does it (core's batchNormTrain), running stats updated after the step. */
function applyBn(x: tf.Tensor4D, p: Bn, relu = false): tf.Tensor4D {
  const { y, mean, variance } = batchNormTrain(x, p.gamma, p.beta, { epsilon: 1e-5, relu: relu && fuseRelu });
  const m = tf.keep(tf.clone(mean));
  const v = tf.keep(tf.clone(variance));
  updates.push(() => {
    // PyTorch semantics: momentum 0.1, unbiased running variance.
    const count = x.shape[0] * x.shape[1] * x.shape[2];
    tf.tidy(() => {
      p.stats.mean.assign(tf.add(tf.mul(p.stats.mean, 0.9), tf.mul(m, 0.1)));
      p.stats.variance.assign(tf.add(tf.mul(p.stats.variance, 0.9), tf.mul(v, (0.1 * count) / (count - 1))));
    });
    m.dispose();
    v.dispose();
  });
  return (relu && !fuseRelu ? tf.relu(y) : y) as tf.Tensor4D;
}

interface Block {
  conv1: tf.Variable;
  bn1: Bn;
  conv2: tf.Variable;
  bn2: Bn;
  stride: number;
  down?: { conv: tf.Variable; bn: Bn };
}
const stemConv = heNormal([7, 7, 3, 32], 7 * 7 * 3);
const stemBn = bn(32);
const widths = [32, 64, 128, 256];
const blocks: Block[] = [];
let cin = 32;
widths.forEach((w, stage) => {
  for (let b = 0; b < 2; b++) {
    const stride = stage > 0 && b === 0 ? 2 : 1;
    const block: Block = { conv1: heNormal([3, 3, cin, w], 9 * cin), bn1: bn(w), conv2: heNormal([3, 3, w, w], 9 * w), bn2: bn(w), stride };
    if (stride !== 1 || cin !== w) block.down = { conv: heNormal([1, 1, cin, w], cin), bn: bn(w) };
    blocks.push(block);
    cin = w;
  }
});
const fcW = heNormal([256, classes], 256);
const fcB = tf.variable(tf.zeros([classes]));
params.push(fcB);

const pad1 = [[0, 0], [1, 1], [1, 1], [0, 0]] as tf.backend_util.ExplicitPadding;
const pad3 = [[0, 0], [3, 3], [3, 3], [0, 0]] as tf.backend_util.ExplicitPadding;

function forward(x: tf.Tensor4D): tf.Tensor2D {
  let h = applyBn(tf.conv2d(x, stemConv as tf.Tensor4D, 2, pad3), stemBn, true);
  h = tf.maxPool(h, 3, 2, 1); // PyTorch's MaxPool2d(3, 2, padding=1), as backbones' maxPool
  for (const b of blocks) {
    const y1 = applyBn(tf.conv2d(h, b.conv1 as tf.Tensor4D, b.stride, pad1), b.bn1, true);
    const y2 = applyBn(tf.conv2d(y1, b.conv2 as tf.Tensor4D, 1, pad1), b.bn2);
    const skip = b.down ? applyBn(tf.conv2d(h, b.down.conv as tf.Tensor4D, b.stride, 'valid'), b.down.bn) : h;
    h = tf.relu(tf.add(y2, skip)) as tf.Tensor4D;
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D; // [N,H,W,C] → [N,C]
  return tf.add(tf.matMul(pooled, fcW as tf.Tensor2D), fcB);
}

/** Adam (lr 1e-3, PyTorch defaults) as engine's optimizer.ts does it: core's adamUpdate per parameter. */
const moments = params.map((p) => ({ m: tf.variable(tf.zerosLike(p), false), v: tf.variable(tf.zerosLike(p), false) }));
let adamSteps = 0;
function trainStep(loss: () => tf.Scalar): tf.Scalar {
  const { value, grads } = tf.variableGrads(loss, params);
  adamSteps++;
  params.forEach((p, i) => {
    const { m, v } = moments[i]!;
    tf.tidy(() => {
      const next = adamUpdate(p, m, v, grads[p.name]!, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: adamSteps, weightDecay: 0, decoupled: false });
      m.assign(next.m);
      v.assign(next.v);
      p.assign(next.p);
    });
  });
  tf.dispose(Object.values(grads));
  return value;
}
const images = new Float32Array(batch * size * size * 3);
for (let i = 0; i < images.length; i++) images[i] = rng.normal();
const labels = Int32Array.from({ length: batch }, () => rng.int(classes));
const x = tf.tensor4d(images, [batch, size, size, 3]);
const y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);

const times: number[] = [];
const cpuMs: number[] = [];
let loss = NaN;
const baseline = tf.memory().numTensors;
for (let step = 0; step < warmup + steps; step++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const l = trainStep(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as tf.Scalar);
  loss = (await l.data())[0]!;
  l.dispose();
  for (const u of updates.splice(0)) u();
  const dt = performance.now() - t0;
  if (step >= warmup) {
    times.push(dt);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  if (step === warmup && tf.memory().numTensors > baseline + 200) throw new Error('tensor leak in the benchmark step');
}
const mean = times.reduce((a, b) => a + b, 0) / times.length;
process.stdout.write(
  `${JSON.stringify({ framework: 'tfjs', backend, provenance: backendInfo()?.provenance, batch, size, steps, stepMs: times.map((t) => Math.round(t)), cpuMs: cpuMs.map((t) => Math.round(t)), imgPerSec: (batch * 1000) / mean, loss, ...(backendInfo()?.webgpu ? { adapter: backendInfo()!.webgpu, gpuMiB: Math.round(((tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? 0) / 2 ** 20) } : {}) })}\n`,
);
