/**
 * Per-kernel throughput of the oneDNN kernels vs the wasm kernels they replace (the toolkit's training kernels on
 * XNNPACK) and vs PyTorch on the same shapes (bench/kernels_torch.py, Debian python3-torch, where installed): each
 * round times every op native / wasm alternating in this process, then once in a PyTorch process, so machine noise
 * hits all alike; reports the median wall time as GFLOP/s and the ratios. tfjs at the thread counts initBackend picks
 * (CLIP_SENET_WASM_THREADS, CLIP_SENET_NATIVE_THREADS; default the cores), PyTorch at the native thread count.
 * Writes reports/bench/native-kernels.md atomically.
 *
 *   npx tsx bench/native-kernels.ts [--rounds 5] [--out file]   (from packages/core; part of `npx nx run core:bench`)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tf, backendInfo, initBackend, writeFileAtomic } from '../src/index';
import { GROUPED_CONV_KERNELS, groupedConv2d } from '../src/kernels/grouped-conv';
import { setNativeKernelsEnabled } from '../src/kernels/native';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string', default: 'reports/bench/native-kernels.md' },
  },
});
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
  /** The same op for bench/kernels_torch.py. */
  torch: Record<string, unknown>;
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
  const geo = { n: c.n, hw: c.hw, ci: c.ci, co: c.co, k: c.k, s: c.s, groups: 1 };
  ops.push({ label: `conv fwd ${c.label}`, gflop, run: () => tf.conv2d(x, w, c.s, 'same'), torch: { kind: 'conv-fwd', ...geo } });
  ops.push({
    label: `conv bwd-data ${c.label}`,
    gflop,
    run: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor,
    torch: { kind: 'conv-bwd-data', ...geo },
  });
  ops.push({
    label: `conv bwd-filter ${c.label}`,
    gflop,
    run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
    torch: { kind: 'conv-bwd-filter', ...geo },
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
  const geo = { n: 32, hw: 32, ci: 128, co: 128, k: 3, s: 1, groups: 32 };
  ops.push({ label: `grouped conv fwd ${label}`, gflop, run: () => groupedConv2d(x, w, 1, 'same', 32), torch: { kind: 'conv-fwd', ...geo } });
  ops.push({
    label: `grouped conv bwd-data ${label}`,
    gflop,
    run: () => tf.engine().runKernel(GROUPED_CONV_KERNELS.backpropInput, { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor,
    torch: { kind: 'conv-bwd-data', ...geo },
  });
  ops.push({
    label: `grouped conv bwd-filter ${label}`,
    gflop,
    run: () => tf.engine().runKernel(GROUPED_CONV_KERNELS.backpropFilter, { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
    torch: { kind: 'conv-bwd-filter', ...geo },
  });
}
const a = rand([2048, 256]) as tf.Tensor2D;
const b = rand([2048, 256]) as tf.Tensor2D;
ops.push({ label: 'matmul aᵀ·b, 2048×256 each (a weight gradient)', gflop: (2 * 256 * 256 * 2048) / 1e9, run: () => tf.matMul(a, b, true, false), torch: { kind: 'matmul', a: [2048, 256], b: [2048, 256], transposeA: true, transposeB: false } });
const h = rand([512, 768]) as tf.Tensor2D;
const fc = rand([3072, 768]) as tf.Tensor2D;
ops.push({ label: 'matmul x·Wᵀ, 512×768 · (3072×768)ᵀ (ViT-B MLP)', gflop: (2 * 512 * 768 * 3072) / 1e9, run: () => tf.matMul(h, fc, false, true), torch: { kind: 'matmul', a: [512, 768], b: [3072, 768], transposeA: false, transposeB: true } });
const q = rand([96, 65, 64]) as tf.Tensor3D;
const k = rand([96, 65, 64]) as tf.Tensor3D;
ops.push({ label: 'batched q·kᵀ, 96 × [65×64]·[65×64]ᵀ (attention)', gflop: (2 * 96 * 65 * 65 * 64) / 1e9, run: () => tf.matMul(q, k, false, true), torch: { kind: 'matmul', a: [96, 65, 64], b: [96, 65, 64], transposeA: false, transposeB: true } });

function timeOnce(op: Op): number {
  const t0 = performance.now();
  const y = op.run();
  y.dataSync();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((p, r) => p - r)[Math.floor(xs.length / 2)]!;
const python = values.python!;
const torchOk = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const threads = info.native.threads ?? 1;
/** One PyTorch process timing every op once after a warm-up (one round), or undefined without torch. */
function torchRound(): { version: string; times: Record<string, number[]> } | undefined {
  if (!torchOk) return undefined;
  const out = execFileSync(python, [resolve(here, 'kernels_torch.py'), '--threads', String(threads), '--rounds', '1'], {
    input: JSON.stringify(ops.map((o) => ({ label: o.label, ...o.torch }))),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { torch: string; times: Record<string, number[]> };
  return { version: r.torch, times: r.times };
}

const times = new Map(ops.map((o) => [o.label, { native: [] as number[], wasm: [] as number[], torch: [] as number[] }]));
for (const op of ops) {
  for (const on of [true, false]) {
    setNativeKernelsEnabled(on);
    timeOnce(op); // warm-up: primitive creation / first-use allocations
  }
}
let torchVersion = 'not installed';
const load0 = loadavg()[0]!;
// Rounds interleave tfjs (native, wasm alternating per op) and one PyTorch process, so machine noise hits all alike.
for (let r = 0; r < rounds; r++) {
  for (const op of ops) {
    for (const on of [true, false]) {
      setNativeKernelsEnabled(on);
      times.get(op.label)![on ? 'native' : 'wasm'].push(timeOnce(op));
    }
  }
  setNativeKernelsEnabled(true);
  const t = torchRound();
  if (t) {
    torchVersion = t.version;
    for (const op of ops) times.get(op.label)!.torch.push(...(t.times[op.label] ?? []));
  }
  process.stdout.write(`round ${r + 1}/${rounds} done\n`);
}
const load1 = loadavg()[0]!;
const rows: string[] = [];
for (const op of ops) {
  const t = times.get(op.label)!;
  const n = op.gflop / (median(t.native) / 1000);
  const w = op.gflop / (median(t.wasm) / 1000);
  const p = t.torch.length > 0 ? op.gflop / (median(t.torch) / 1000) : undefined;
  rows.push(`| ${op.label} | ${op.gflop.toFixed(2)} | ${w.toFixed(1)} | ${n.toFixed(1)} | ${p ? p.toFixed(1) : 'n/a'} | ${(n / w).toFixed(1)}× | ${p ? `${(n / p).toFixed(2)}×` : 'n/a'} |`);
}
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
const report = `# Kernel throughput: oneDNN kernels vs wasm vs PyTorch

Generated by \`npx tsx bench/native-kernels.ts\` in packages/core (part of \`npx nx run core:bench\`) — do not edit by hand.

- Same shapes everywhere; tfjs NHWC (native and wasm in one process, alternating per op), PyTorch ${torchVersion} NCHW
  (\`bench/kernels_torch.py\`, \`torch.ops.aten.convolution_backward\` for the backward passes, \`torch.matmul\`), one
  PyTorch process per round between the tfjs rounds. Median wall time of ${rounds} rounds, as GFLOP/s (2·MACs).
- "wasm" = the toolkit's XNNPACK-based kernels that the native ones replace (grouped conv: split / conv / concat).
- Threads: wasm ${info.threads}, ${info.native.detail.split(' — ')[0]}, PyTorch ${threads}.
- Date: ${new Date().toISOString()}; commit ${commit}; machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; 1-min load average
  ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end (a shared machine: compare ratios within this run).

| op | GFLOP | wasm GFLOP/s | oneDNN GFLOP/s | PyTorch GFLOP/s | oneDNN vs wasm | oneDNN vs PyTorch |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
const outPath = resolve(repoRoot, values.out!);
writeFileAtomic(outPath, report);
process.stdout.write(`${report}\nwrote ${outPath}\n`);
