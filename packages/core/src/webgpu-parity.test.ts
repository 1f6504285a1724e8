/**
 * webgpu against cpu (issue 14): forward outputs and input gradients of what the models train with — conv2d over
 * strides and paddings, grouped conv (the project's custom kernels, registered for webgpu by slices), matMul with
 * transpose flags, batch-norm / instance-norm / layer-norm style reductions, pooling, softmax cross-entropy — then a
 * short training run of a tiny conv net with the losses of every step compared, and no leaked tensors.
 *
 * Tiny shapes: in CI this runs on Mesa's llvmpipe (software GL). Tolerances: 2e-5 relative to the largest
 * magnitude for single ops (measured ≤ 3e-6 on llvmpipe), 1e-4 for the losses of a 6-step run.
 */
import { describe, expect, it } from 'vitest';
import { tf } from './tf';
import { groupedConv2d } from './kernels/grouped-conv';
import { expectNoLeaks } from './leak-check';
import { hostNormal, onBackend, relativeError, webgpuForTests, webgpuVsCpu, type HostTensor, describeOnWebGPU } from './webgpu-testing';

const target = await webgpuForTests();
const OP_TOL = 2e-5;
const LOSS_TOL = 1e-4;

type Op = (xs: tf.Tensor[]) => tf.Tensor;
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const t4 = (t: tf.Tensor | undefined): tf.Tensor4D => t as tf.Tensor4D;

const conv = (stride: number, pad: Pad): Op => ([x, w]) => tf.conv2d(t4(x), t4(w), stride, pad as 'same');
const grouped = (stride: number, pad: Pad, groups: number): Op => ([x, w]) => groupedConv2d(t4(x), t4(w), stride, pad as 'same', groups);

/** [name, op, input shapes]. */
const OPS: Array<[string, Op, number[][]]> = [
  ['conv2d 3×3 stride 1 same', conv(1, 'same'), [[2, 9, 9, 3], [3, 3, 3, 5]]],
  ['conv2d 3×3 stride 2 same', conv(2, 'same'), [[2, 9, 8, 3], [3, 3, 3, 5]]],
  ['conv2d 3×3 stride 2 valid', conv(2, 'valid'), [[2, 9, 9, 4], [3, 3, 4, 3]]],
  ['conv2d 3×3 stride 3 pad 1', conv(3, 1), [[1, 10, 10, 3], [3, 3, 3, 4]]],
  ['conv2d 3×3 stride 2 asymmetric explicit pad', conv(2, [[0, 0], [1, 0], [0, 1], [0, 0]]), [[2, 8, 8, 3], [3, 3, 3, 4]]],
  ['conv2d 7×7 stride 2 pad 3 (stem)', conv(2, 3), [[1, 16, 16, 3], [7, 7, 3, 4]]],
  ['conv2d 1×1 stride 2 (downsample)', conv(2, 'valid'), [[2, 8, 8, 6], [1, 1, 6, 4]]],
  ['grouped conv 3×3 4 groups stride 1', grouped(1, 1, 4), [[2, 6, 6, 8], [3, 3, 2, 8]]],
  ['grouped conv 3×3 2 groups stride 2', grouped(2, 'same', 2), [[2, 7, 7, 4], [3, 3, 2, 6]]],
  ['grouped conv 3×3 32 groups stride 2 (ResNeXt)', grouped(2, 1, 32), [[1, 5, 5, 64], [3, 3, 2, 64]]],
  ['matMul', ([a, b]) => tf.matMul(a!, b!), [[5, 7], [7, 3]]],
  ['matMul transposeA', ([a, b]) => tf.matMul(a!, b!, true, false), [[7, 5], [7, 3]]],
  ['matMul transposeB', ([a, b]) => tf.matMul(a!, b!, false, true), [[5, 7], [3, 7]]],
  ['matMul transposeA transposeB', ([a, b]) => tf.matMul(a!, b!, true, true), [[7, 5], [3, 7]]],
  ['batched matMul transposeB (attention scores)', ([a, b]) => tf.matMul(a!, b!, false, true), [[2, 3, 5, 4], [2, 3, 6, 4]]],
  ['batch norm (moments over N,H,W)', ([x, g, b]) => tf.batchNorm(x!, tf.moments(x!, [0, 1, 2]).mean, tf.moments(x!, [0, 1, 2]).variance, b!, g!, 1e-5), [[2, 4, 4, 3], [3], [3]]],
  ['instance norm (IBN: moments over H,W)', ([x]) => {
    const m = tf.moments(x!, [1, 2], true);
    return tf.mul(tf.sub(x!, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5)));
  }, [[2, 4, 4, 6]]],
  ['layer norm (moments over the last axis)', ([x]) => {
    const m = tf.moments(x!, [-1], true);
    return tf.mul(tf.sub(x!, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5)));
  }, [[3, 5, 8]]],
  ['max pool 3×3 stride 2 + global average (SE squeeze) + sigmoid', ([x]) => tf.sigmoid(tf.mean(tf.maxPool(t4(x), 3, 2, 'same'), [1, 2])), [[2, 8, 8, 3]]],
  ['gelu (erf) + softmax', ([x]) => tf.softmax(tf.mul(tf.mul(x!, tf.add(tf.erf(tf.div(x!, Math.SQRT2)), 1)), 0.5)), [[4, 10]]],
  ['log-softmax cross-entropy with one-hot labels', ([x]) => tf.sum(tf.mul(tf.oneHot(tf.tensor1d([1, 3, 0], 'int32'), 5), tf.logSoftmax(x!)), 1), [[3, 5]]],
  ['L2-normalised embeddings, gathered rows', ([x]) => tf.gather(tf.div(x!, tf.norm(x!, 2, 1, true)), tf.tensor1d([0, 2, 2, 1], 'int32')), [[4, 6]]],
];

/** The tiny conv net of the training run: conv → batch norm → relu → grouped conv (stride 2) → relu → GAP → fc. */
function tinyNetLoss(p: Record<string, tf.Tensor>, x: tf.Tensor4D, labels: tf.Tensor1D): tf.Scalar {
  const c1 = tf.conv2d(x, t4(p.w1), 1, 'same'); // [N,8,8,3] → [N,8,8,8]
  const m = tf.moments(c1, [0, 1, 2]);
  const b1 = tf.relu(tf.batchNorm(c1, m.mean, m.variance, p.beta!, p.gamma!, 1e-5));
  const c2 = tf.relu(groupedConv2d(b1 as tf.Tensor4D, t4(p.w2), 2, 1, 2)); // [N,8,8,8] → [N,4,4,8]
  const logits = tf.add(tf.matMul(tf.mean(c2, [1, 2]), p.fc!), p.bias!); // [N,8] → [N,4]
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 4), logits) as tf.Scalar;
}

const NET: Record<string, number[]> = { w1: [3, 3, 3, 8], gamma: [8], beta: [8], w2: [3, 3, 4, 8], fc: [8, 4], bias: [4] };

/** Losses of `steps` SGD steps (lr 0.5) from fixed initial weights and one fixed batch, on `backend`; throws when the run leaks a tensor. */
async function trainLosses(backend: 'webgpu' | 'cpu', steps: number): Promise<number[]> {
  await onBackend(backend);
  return expectNoLeaks(async () => {
    const init: Record<string, HostTensor> = Object.fromEntries(Object.entries(NET).map(([k, s], i) => [k, hostNormal(s, 10 + i, 0.4)]));
    // tidy keeps the variables and disposes the initial tensors.
    const vars = tf.tidy(() => Object.fromEntries(Object.entries(init).map(([k, t]) => [k, tf.variable(tf.tensor(k === 'gamma' ? t.values.map((v) => 1 + v) : t.values, t.shape), true, `${backend}-${k}`)])));
    const xHost = hostNormal([4, 8, 8, 3], 99);
    const x = tf.tensor4d(xHost.values, xHost.shape as [number, number, number, number]);
    const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
    const opt = tf.train.sgd(0.5);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) {
      const loss = opt.minimize(() => tinyNetLoss(vars, x, labels), true, Object.values(vars))!;
      losses.push((await loss.data())[0]!);
      loss.dispose();
    }
    opt.dispose();
    tf.dispose([x, labels, ...Object.values(vars)]);
    return losses;
  }, `${steps} training steps on ${backend}`);
}

describeOnWebGPU({ describe, it, expect }, 'webgpu parity with cpu', target, ({ where, adapter, line }) => {

  it(`runs on ${where} (${adapter.device || adapter.description})`, () => {
    expect(line).toContain(adapter.software ? '; software)' : '; hardware)');
  });

  for (const [name, op, shapes] of OPS) {
    it(`${name}: forward and input gradients`, async () => {
      const inputs = shapes.map((s, i) => hostNormal(s, i + 1));
      await onBackend('webgpu');
      await expectNoLeaks(async () => {
        const errs = await webgpuVsCpu(op, inputs);
        expect(errs).toHaveLength(inputs.length + 1);
        for (const e of errs) expect(e).toBeLessThan(OP_TOL);
        await onBackend('webgpu');
      }, `${name} on webgpu and cpu`);
    });
  }

  it(`a tiny conv net trains 6 SGD steps with the losses of cpu (relative ${LOSS_TOL}), leaking nothing`, async () => {
    const gpu = await trainLosses('webgpu', 6); // each run checked for leaks (expectNoLeaks)
    const cpu = await trainLosses('cpu', 6);
    expect(cpu[5]!).toBeLessThan(cpu[0]!); // it learns
    expect(relativeError(gpu, cpu)).toBeLessThan(LOSS_TOL);
  });
});
