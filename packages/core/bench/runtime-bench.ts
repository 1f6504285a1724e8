/**
 * `npx nx run core:bench` — training-step throughput of the fixed small ResNet (ResNet-18 layout at
 * half width, 128×128, batch 32, Adam, cross-entropy) on each available tfjs backend and, when
 * Debian's python3-torch is installed, the same model in PyTorch (2 threads) in the same run.
 * Configurations are interleaved over rounds so machine noise hits all of them alike; the median
 * of each is reported with the tfjs/PyTorch ratio. Writes reports/bench/runtime.md atomically.
 *
 * The wasm rows run with the oneDNN kernels off (CLIP_SENET_NATIVE=0, XNNPACK + the toolkit's kernels) and, where
 * the @clip-senet/native addon is built, again with them on ("wasm+oneDNN").
 *
 * Flags: --rounds 3 --steps 4 --warmup 2 --with-cpu (the plain-JS cpu backend is ~100× slower)
 *        --out <file> (default reports/bench/runtime.md)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/index';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    'with-cpu': { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
    out: { type: 'string', default: 'reports/bench/runtime.md' },
  },
});

interface Config {
  label: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}
interface Result {
  imgPerSec: number;
  stepMs: number[];
  /** Process CPU time per timed step (all threads). */
  cpuMs?: number[];
  batch: number;
  backend?: string;
  version?: string;
}

const stepArgs = ['--steps', values.steps!, '--warmup', values.warmup!, '--batch', '32', '--size', '128'];
const tsx = join(repoRoot, 'node_modules/.bin/tsx');
const wasmStep = [join(here, 'resnet-step.ts'), '--backend', 'wasm', ...stepArgs];
const configs: Config[] = [
  { label: 'tfjs wasm, 2 threads', cmd: tsx, args: wasmStep, env: { CLIP_SENET_WASM_THREADS: '2', CLIP_SENET_NATIVE: '0' } },
  { label: 'tfjs wasm, 1 thread', cmd: tsx, args: wasmStep, env: { CLIP_SENET_WASM_THREADS: '1', CLIP_SENET_NATIVE: '0' } },
];
const nativeProbe = spawnSync(tsx, ['-e', "import('@clip-senet/native').then((m) => process.exit(m.loadNative().ok ? 0 : 1))"], { cwd: here, stdio: 'ignore' });
if (nativeProbe.status === 0) {
  configs.unshift({ label: 'tfjs wasm+oneDNN, 2 threads (default)', cmd: tsx, args: wasmStep, env: { CLIP_SENET_WASM_THREADS: '2', CLIP_SENET_NATIVE_THREADS: '2' } });
  configs.push({ label: 'tfjs wasm+oneDNN, 1 thread', cmd: tsx, args: wasmStep, env: { CLIP_SENET_WASM_THREADS: '1', CLIP_SENET_NATIVE_THREADS: '1' } });
}
if (values['with-cpu']) configs.push({ label: 'tfjs cpu (plain JS, with kernel fixes)', cmd: tsx, args: [join(here, 'resnet-step.ts'), '--backend', 'cpu', '--steps', '1', '--warmup', '1'] });

function hasModule(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}
// (tsx -e compiles to CommonJS: no top-level await)
if (hasModule(tsx, ['-e', "import('@tensorflow/tfjs-node').then(() => process.exit(0), () => process.exit(1))"])) {
  configs.push({ label: 'tfjs tensorflow (libtensorflow)', cmd: tsx, args: [join(here, 'resnet-step.ts'), '--backend', 'tensorflow', ...stepArgs] });
}
const torchAvailable = hasModule(values.python!, ['-c', 'import torch']);
if (torchAvailable) {
  configs.push({ label: 'PyTorch CPU, 2 threads', cmd: values.python!, args: [join(here, 'resnet_step.py'), '--threads', '2', ...stepArgs] });
  // 1 thread too: on a busy machine PyTorch's 2 spinning OpenMP threads can run 10× slower than one
  configs.push({ label: 'PyTorch CPU, 1 thread', cmd: values.python!, args: [join(here, 'resnet_step.py'), '--threads', '1', ...stepArgs] });
}

const load0 = loadavg()[0]!;
const results = new Map<string, Result[]>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const c of configs) {
    const out = execFileSync(c.cmd, c.args, { env: { ...process.env, ...c.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const line = out.trim().split('\n').pop()!;
    const r = JSON.parse(line) as Result;
    process.stdout.write(`round ${round + 1}  ${c.label.padEnd(40)} ${r.imgPerSec.toFixed(2)} img/s\n`);
    results.set(c.label, [...(results.get(c.label) ?? []), r]);
  }
}
const load1 = loadavg()[0]!;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
/** Throughput of the fastest timed step: the least disturbed by other load on a shared machine. */
const best = (r: Result) => (r.batch * 1000) / Math.min(...r.stepMs);
/** Images per CPU-second of the run (all threads): at 1 thread the measure least moved by other load. */
const perCpuSecond = (r: Result) => (r.cpuMs && r.cpuMs.length > 0 ? (r.batch * 1000 * r.cpuMs.length) / r.cpuMs.reduce((a, b) => a + b, 0) : Number.NaN);
const TORCH = 'PyTorch CPU, 2 threads';
const torchMean = torchAvailable ? median(results.get(TORCH)!.map((r) => r.imgPerSec)) : undefined;
const torchBest = torchAvailable ? Math.max(...results.get(TORCH)!.map(best)) : undefined;
const ratio = (ref: number | undefined, x: number) => (ref ? `${(x / ref).toFixed(2)}×` : 'n/a');
const rows = configs.map((c) => {
  const rs = results.get(c.label)!;
  const m = median(rs.map((r) => r.imgPerSec));
  const b = Math.max(...rs.map(best));
  const isTorch = c.label === TORCH;
  const cpu = median(rs.map(perCpuSecond));
  return `| ${c.label} | ${m.toFixed(2)} | ${rs.map((r) => r.imgPerSec.toFixed(2)).join(', ')} | ${isTorch ? '1' : ratio(torchMean, m)} | ${b.toFixed(2)} | ${isTorch ? '1' : ratio(torchBest, b)} | ${Number.isFinite(cpu) ? cpu.toFixed(2) : 'n/a'} |`;
});
/** Side-by-side ratios at one thread count: wasm+oneDNN vs PyTorch and vs wasm (median mean-step and best step). */
function ratioRows(): string[] {
  const find = (prefix: string, threads: number) => configs.find((c) => c.label.startsWith(prefix) && c.label.includes(`${threads} thread`));
  const out: string[] = [];
  for (const threads of [1, 2]) {
    const nat = find('tfjs wasm+oneDNN', threads);
    const wasm = find('tfjs wasm,', threads);
    const torch = find('PyTorch', threads);
    if (!nat) continue;
    const stat = (c: Config | undefined) => {
      const rs = c ? results.get(c.label) : undefined;
      return rs ? { m: median(rs.map((r) => r.imgPerSec)), b: Math.max(...rs.map(best)), c: median(rs.map(perCpuSecond)) } : undefined;
    };
    const [n, w, t] = [stat(nat), stat(wasm), stat(torch)];
    const x = (a: number, b: number | undefined) => (b && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');
    out.push(`| ${threads} | ${x(n!.m, t?.m)} | ${x(n!.b, t?.b)} | ${x(n!.c, t?.c)} | ${x(n!.m, w?.m)} | ${x(n!.b, w?.b)} |`);
  }
  return out;
}
const ratios = ratioRows();
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
const report = `# Runtime benchmark: training step of a small ResNet

Generated by \`npx nx run core:bench\` (packages/core/bench/runtime-bench.ts) — do not edit by hand.

- Model: ResNet-18 layout at half width (stem 32, stages 32/64/128/256, 2 basic blocks each), 128×128 input,
  batch 32, Adam (lr 1e-3), cross-entropy over 100 classes, BatchNorm in training mode. Same architecture in
  \`bench/resnet-step.ts\` (tfjs: core's \`batchNormTrain\` with the ReLU folded in and \`adamUpdate\`, as the
  toolkit's models and optimiser use them) and \`bench/resnet_step.py\` (PyTorch: nn.BatchNorm2d, torch.optim.Adam).
- "wasm+oneDNN": the @clip-senet/native kernels on the wasm backend (oneDNN convs / matmul, fused BatchNorm and Adam
  loops, element-wise loops); "wasm": the same step with \`CLIP_SENET_NATIVE=0\` (XNNPACK + the toolkit's kernels,
  BatchNorm and Adam composed from tf ops). Threads: \`CLIP_SENET_WASM_THREADS\` = \`CLIP_SENET_NATIVE_THREADS\` =
  PyTorch's \`torch.set_num_threads\`.
- Each configuration runs in its own process: ${values.warmup} warm-up + ${values.steps} timed steps; configurations are
  interleaved over ${values.rounds} rounds. Reported: the median over rounds of each run's mean-step img/s, and the
  throughput of the single fastest step over all rounds (least affected by other load; PyTorch's 2 threads are very
  sensitive to a busy second core), and images per CPU-second (process CPU time of all threads; at 1 thread the
  measure least moved by other processes; at 2 threads it also counts threads spinning at barriers).
- Date: ${new Date().toISOString()}; commit ${commit}; machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'};
  Node ${process.version}; 1-min load average ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end (a shared machine:
  compare ratios within this run, not absolute numbers across runs).

| configuration | median img/s (mean step) | per round | vs PyTorch 2 threads | best-step img/s | vs PyTorch 2 threads (best step) | img per CPU-second |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Ratios at equal thread counts (wasm+oneDNN over the other, same run):

| threads | vs PyTorch (median) | vs PyTorch (best step) | vs PyTorch (per CPU-second) | vs wasm (median) | vs wasm (best step) |
|---|---|---|---|---|---|
${ratios.join('\n')}

Targets: issue 2, tfjs ≥ 1/8 of PyTorch in one process; issue 13, wasm+oneDNN ≥ 1.0× PyTorch. For reference
(../shared/BACKENDS.md): stock tfjs cpu 0.044 img/s, stock wasm cannot train (no Conv2DBackpropFilter).
`;
const outPath = resolve(repoRoot, values.out!);
writeFileAtomic(outPath, report);
process.stdout.write(`\n${rows.join('\n')}\n\n${ratios.join('\n')}\nwrote ${outPath}\n`);
