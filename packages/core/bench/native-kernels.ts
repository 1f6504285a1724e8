/**
 * Per-kernel throughput of the oneDNN kernels vs the wasm kernels they replace (the toolkit's training kernels on
 * XNNPACK), side by side in one process: each op alternates native / wasm over the rounds (so machine noise hits both
 * alike) and reports the median wall time as GFLOP/s and the ratio. Both at the thread counts initBackend picks
 * (CLIP_SENET_WASM_THREADS, CLIP_SENET_NATIVE_THREADS; default the cores). Prints a Markdown table.
 *
 *   npx tsx bench/native-kernels.ts [--rounds 5]        (from packages/core; part of `npx nx run core:bench`)
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tf, backendInfo, initBackend } from '../src/index';
import { GROUPED_CONV_KERNELS, groupedConv2d } from '../src/kernels/grouped-conv';
import { setNativeKernelsEnabled } from '../src/kernels/native';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);

await initBackend('wasm', { log: null });
const info = backendInfo()!;
if (!info.native?.active) {
  process.stdout.write(`native kernels not active (${info.native?.detail ?? 'not wasm'}): nothing to compare\n`);
  process.exit(0);
}

interface Conv {
  label: string;
  n: number;
  hw: number;
  ci: number;
  co: number;
  k: number;
  s: number;
}
const CONVS: Conv[] = [
  { label: '3×3 s1, 64→64 ch, 32², batch 32', n: 32, hw: 32, ci: 64, co: 64, k: 3, s: 1 },
  { label: '3×3 s2, 64→128 ch, 32²→16², batch 32', n: 32, hw: 32, ci: 64, co: 128, k: 3, s: 2 },
  { label: '1×1 s1, 256→64 ch, 16², batch 32', n: 32, hw: 16, ci: 256, co: 64, k: 1, s: 1 },
  { label: '7×7 s2, 3→32 ch, 128²→64² (stem), batch 32', n: 32, hw: 128, ci: 3, co: 32, k: 7, s: 2 },
];

interface Op {
  label: string;
  gflop: number;
  run: () => tf.Tensor;
}

const ops: Op[] = [];
let seed = 1;
const rand = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);
for (const c of CONVS) {
  const x = rand([c.n, c.hw, c.hw, c.ci]) as tf.Tensor4D;
  const w = rand([c.k, c.k, c.ci, c.co]) as tf.Tensor4D;
  const o = Math.ceil(c.hw / c.s);
  const dy = rand([c.n, o, o, c.co]) as tf.Tensor4D;
  const gflop = (2 * c.n * o * o * c.co * c.k * c.k * c.ci) / 1e9;
  const attrs = { strides: c.s, pad: 'same', dataFormat: 'NHWC' };
  ops.push({ label: `conv fwd ${c.label}`, gflop, run: () => tf.conv2d(x, w, c.s, 'same') });
  ops.push({
    label: `conv bwd-data ${c.label}`,
    gflop,
    run: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor,
  });
  ops.push({
    label: `conv bwd-filter ${c.label}`,
    gflop,
    run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
  });
}
{
  // ResNeXt-50 32×4d stage-2 grouped 3×3 (128 ch, 32 groups) at 32², batch 32: wasm = split / 32 convs / concat
  const label = '3×3 s1, 128→128 ch, 32 groups (ResNeXt), 32², batch 32';
  const attrs = { strides: [1, 1], pad: 'same', dilations: [1, 1], groups: 32 };
  const x = rand([32, 32, 32, 128]) as tf.Tensor4D;
  const w = rand([3, 3, 4, 128]) as tf.Tensor4D;
  const dy = rand([32, 32, 32, 128]) as tf.Tensor4D;
  const gflop = (2 * 32 * 32 * 32 * 128 * 9 * 4) / 1e9;
  ops.push({ label: `grouped conv fwd ${label}`, gflop, run: () => groupedConv2d(x, w, 1, 'same', 32) });
  ops.push({ label: `grouped conv bwd-data ${label}`, gflop, run: () => tf.engine().runKernel(GROUPED_CONV_KERNELS.backpropInput, { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor });
  ops.push({ label: `grouped conv bwd-filter ${label}`, gflop, run: () => tf.engine().runKernel(GROUPED_CONV_KERNELS.backpropFilter, { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor });
}
const a = rand([2048, 256]) as tf.Tensor2D;
const b = rand([2048, 256]) as tf.Tensor2D;
ops.push({ label: 'matmul aᵀ·b, 2048×256 each (a weight gradient)', gflop: (2 * 256 * 256 * 2048) / 1e9, run: () => tf.matMul(a, b, true, false) });
const h = rand([512, 768]) as tf.Tensor2D;
const fc = rand([3072, 768]) as tf.Tensor2D;
ops.push({ label: 'matmul x·Wᵀ, 512×768 · (3072×768)ᵀ (ViT-B MLP)', gflop: (2 * 512 * 768 * 3072) / 1e9, run: () => tf.matMul(h, fc, false, true) });
const q = rand([96, 65, 64]) as tf.Tensor3D;
const k = rand([96, 65, 64]) as tf.Tensor3D;
ops.push({ label: 'batched q·kᵀ, 96 × [65×64]·[65×64]ᵀ (attention)', gflop: (2 * 96 * 65 * 65 * 64) / 1e9, run: () => tf.matMul(q, k, false, true) });

function timeOnce(op: Op): number {
  const t0 = performance.now();
  const y = op.run();
  y.dataSync();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((p, r) => p - r)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const op of ops) {
  const times = { native: [] as number[], wasm: [] as number[] };
  for (const on of [true, false]) {
    setNativeKernelsEnabled(on);
    timeOnce(op); // warm-up: primitive creation / first-use allocations
  }
  for (let r = 0; r < rounds; r++) {
    for (const on of [true, false]) {
      setNativeKernelsEnabled(on);
      times[on ? 'native' : 'wasm'].push(timeOnce(op));
    }
  }
  setNativeKernelsEnabled(true);
  const n = op.gflop / (median(times.native) / 1000);
  const w = op.gflop / (median(times.wasm) / 1000);
  const row = `| ${op.label} | ${op.gflop.toFixed(2)} | ${w.toFixed(1)} | ${n.toFixed(1)} | ${(n / w).toFixed(1)}× |`;
  rows.push(row);
  process.stdout.write(`${row}\n`);
}
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
process.stdout.write(`
Native vs wasm kernels, one process, median of ${rounds} alternating rounds (wall time). Commit ${commit}; ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'};
wasm ${info.threads} thread(s), ${info.native.detail}.

| op | GFLOP | wasm GFLOP/s | oneDNN GFLOP/s | ratio |
|---|---|---|---|---|
${rows.join('\n')}
`);
