/**
 * The GPU device check (issue 14), as one script: on a machine with an NVIDIA GPU and no internet it sets up Dawn's
 * Vulkan backend (the Vulkan loader from the system or from a Debian package brought along, the NVIDIA driver's
 * Vulkan ICD), checks that the adapter tfjs-webgpu gets is that GPU (not a software rasteriser), and measures
 *
 *   1. the bench ResNet training step (core/bench/resnet-step.ts: half-width ResNet-18, 128², batch 32, Adam), and
 *   2. the paper-scale CLIP-SENet training step (bench/paper-step.ts: ResNeXt101-32x4d-IBN-a 320² + ViT-B/32 224²,
 *      AFEM fusion, CE-LS + SupCon, Adam; batch 32, halved while it does not fit),
 *
 * each in its own process on webgpu, with tfjs-webgpu's peak GPU allocation and (where `nvidia-smi` exists) the
 * peak memory the driver reports, plus the bench ResNet on this machine's CPUs (wasm + oneDNN) for the ratio.
 * Writes `reports/bench/gpu.md` atomically with date, commit, adapter and driver — only when every step ran on a
 * hardware adapter; otherwise it prints why and leaves the report as it was (exit 1).
 *
 *   npx tsx bench/gpu-bench.ts --prepare           # with apt + internet: fetch libvulkan1's .deb into .cache/gpu-deps/
 *   npx tsx bench/gpu-bench.ts [--out reports/bench/gpu.md] [--batch 32] [--steps 3] [--warmup 2] [--no-cpu-reference]
 *   npx tsx bench/gpu-bench.ts --smoke             # the script itself on any adapter (llvmpipe here), tiny sizes,
 *                                                  # report to a temp file: checks the plumbing, measures nothing
 *
 * Carry `.cache/gpu-deps/` to the GPU machine with the repository when it lacks `libvulkan.so.1`.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@clip-senet/core';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const depsDir = join(repoRoot, '.cache/gpu-deps');
const { values } = parseArgs({
  options: {
    prepare: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    'no-cpu-reference': { type: 'boolean', default: false },
  },
});
const log = (line: string): void => void process.stderr.write(`[gpu-bench] ${line}\n`);
const fail = (line: string): never => {
  log(`FAILED: ${line}`);
  process.exit(1);
};

if (values.prepare) {
  // Debian's Vulkan loader; the NVIDIA ICD comes with the GPU machine's driver, not from here
  mkdirSync(depsDir, { recursive: true });
  const r = spawnSync('apt-get', ['download', 'libvulkan1'], { cwd: depsDir, encoding: 'utf8' });
  if (r.status !== 0) fail(`apt-get download libvulkan1 (in ${depsDir}) exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  log(`fetched ${readdirSync(depsDir).filter((f) => f.endsWith('.deb')).join(', ')} into ${depsDir}; carry that folder to the GPU machine`);
  process.exit(0);
}

const smoke = values.smoke;
const [batch, steps, warmup] = (smoke ? ['2', '1', '0'] : [values.batch!, values.steps!, values.warmup!]).map(Number) as [number, number, number];
if (!Number.isInteger(batch) || batch < 2 || batch % 2 !== 0) fail(`--batch: an even integer ≥ 2, got ${values.batch}`);
const out = values.out ?? (smoke ? join(mkdtempSync(join(tmpdir(), 'gpu-bench-smoke-')), 'gpu.md') : join(repoRoot, 'reports/bench/gpu.md'));

// ---- environment: Vulkan loader, NVIDIA ICD, Dawn backend -----------------------------------------------------

const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/nvidia/lib64', '/usr/local/nvidia/lib', '/usr/lib/wsl/lib'];
/** `name` as the dynamic linker finds it (ldconfig's cache, then the usual folders), or undefined. */
function findLibrary(name: string): string | undefined {
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const hit = cache.stdout?.split('\n').find((l) => l.trim().startsWith(`${name} `));
  if (hit) return hit.split('=>').pop()!.trim();
  return libDirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

const env: Record<string, string | undefined> = { ...process.env };
const setup: string[] = [];
let loader = findLibrary('libvulkan.so.1');
if (loader) setup.push(`Vulkan loader: ${loader} (system)`);
else {
  const deb = existsSync(depsDir) ? readdirSync(depsDir).find((f) => /^libvulkan1_.*\.deb$/.test(f)) : undefined;
  if (!deb) {
    if (!smoke) fail(`no libvulkan.so.1 on this machine and no libvulkan1_*.deb in ${depsDir}: run \`npx tsx bench/gpu-bench.ts --prepare\` on a machine with apt and carry .cache/gpu-deps/ along (or install libvulkan1)`);
  } else {
    const root = join(depsDir, 'root');
    const x = spawnSync('dpkg-deb', ['-x', join(depsDir, deb), root], { encoding: 'utf8' });
    if (x.status !== 0) fail(`dpkg-deb -x ${deb} failed: ${(x.stderr || '').trim()}`);
    const dir = [join(root, 'usr/lib/x86_64-linux-gnu'), join(root, 'usr/lib')].find((d) => existsSync(join(d, 'libvulkan.so.1')));
    if (!dir) fail(`${deb} unpacked to ${root} holds no libvulkan.so.1`);
    env.LD_LIBRARY_PATH = [dir, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    loader = join(dir!, 'libvulkan.so.1');
    setup.push(`Vulkan loader: ${loader} (unpacked from ${deb})`);
  }
}

const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const icds = icdDirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => join(d, f)) : []));
const nvidiaIcd = icds.find((f) => /nvidia/i.test(f));
if (nvidiaIcd) setup.push(`NVIDIA Vulkan ICD: ${nvidiaIcd}`);
else {
  // container runtimes often mount the driver's libraries without its ICD manifest: write one
  const glx = findLibrary('libGLX_nvidia.so.0');
  if (glx) {
    const dir = mkdtempSync(join(tmpdir(), 'nvidia-icd-'));
    const manifest = join(dir, 'nvidia_icd.json');
    writeFileSync(manifest, `${JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: glx, api_version: '1.3.0' } })}\n`);
    env.VK_ICD_FILENAMES = manifest;
    env.VK_DRIVER_FILES = manifest;
    setup.push(`NVIDIA Vulkan ICD: none installed; wrote ${manifest} for ${glx}`);
  } else if (!smoke) {
    const caps = process.env.NVIDIA_DRIVER_CAPABILITIES;
    fail(`no NVIDIA Vulkan driver here: no nvidia*.json in ${icdDirs.join(', ')} and no libGLX_nvidia.so.0${caps ? ` (NVIDIA_DRIVER_CAPABILITIES=${caps}: a container needs 'graphics' or 'all' for the Vulkan driver)` : ''}; ICDs found: ${icds.join(', ') || 'none'}`);
  }
}
if (!smoke) env.CLIP_SENET_DAWN_BACKEND = 'vulkan';
env.CLIP_SENET_BACKEND = 'webgpu';

interface Smi {
  name: string;
  driver: string;
  totalMiB: number;
}
function nvidiaSmi(): Smi | undefined {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return undefined;
  const [name, driver, total] = r.stdout.trim().split('\n')[0]!.split(',').map((s) => s.trim());
  return { name: name!, driver: driver!, totalMiB: Number(total) };
}
const smi = nvidiaSmi();
if (smi) setup.push(`nvidia-smi: ${smi.name}, driver ${smi.driver}, ${smi.totalMiB} MiB`);
for (const line of setup) log(line);

// ---- the measured steps -------------------------------------------------------------------------------------------

interface Adapter {
  dawnBackend: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
}
interface StepResult {
  batch: number;
  error?: string;
  provenance?: string;
  stepMs?: number[];
  imgPerSec?: number;
  gpuMiB?: number | null;
  adapter?: Adapter | null;
  epochHours?: number;
  /** The most memory nvidia-smi reported in use while the step ran (all processes), MiB. */
  smiPeakMiB?: number;
}

/** Runs one step script; samples nvidia-smi's memory.used meanwhile; the child's last stdout line is its JSON result. */
async function runStep(script: string, args: string[], childEnv: Record<string, string | undefined>): Promise<StepResult> {
  const tsx = join(repoRoot, 'node_modules/.bin/tsx');
  let smiPeak = 0;
  const sampler = smi ? spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] }) : undefined;
  // whole lines only: a chunk can end inside a number
  let pending = '';
  sampler?.stdout.on('data', (d: Buffer) => {
    const lines = (pending + d.toString()).split('\n');
    pending = lines.pop()!;
    for (const v of lines) if (v.trim()) smiPeak = Math.max(smiPeak, Number(v.trim()) || 0);
  });
  const child = spawn(tsx, [script, ...args], { cwd: dirname(dirname(script)), env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  sampler?.kill();
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const r = JSON.parse(line) as StepResult;
    return { ...r, ...(smi ? { smiPeakMiB: smiPeak } : {}) };
  } catch {
    return { batch: Number(args[args.indexOf('--batch') + 1]), error: `${script.split('/').pop()} exited ${code} without a result line` };
  }
}

const resnetScript = join(repoRoot, 'packages/core/bench/resnet-step.ts');
const paperScript = join(here, 'paper-step.ts');
const resnetSize = smoke ? 32 : 128;
const resnetArgs = (backend: string): string[] => ['--backend', backend, '--batch', String(batch), '--size', String(resnetSize), '--steps', String(steps || 1), '--warmup', String(warmup)];

log(`bench ResNet step on webgpu (batch ${batch})`);
const resnet = await runStep(resnetScript, resnetArgs('webgpu'), env);
if (resnet.error) fail(`bench ResNet step: ${resnet.error}`);
const adapter = resnet.adapter;
if (!adapter) fail(`bench ResNet step ran on ${resnet.provenance}, not webgpu`);
if (adapter!.software && !smoke) fail(`the adapter is a software rasteriser (${adapter!.device}; Dawn ${adapter!.dawnBackend}), not the GPU: no number written`);
log(`adapter: ${adapter!.vendor || 'vendor unknown'} ${adapter!.architecture || ''} ${adapter!.device} (${adapter!.description}; Dawn ${adapter!.dawnBackend}${adapter!.software ? '; software' : ''})`);
log(`bench ResNet: ${resnet.imgPerSec!.toFixed(1)} img/s`);

const paper: StepResult[] = [];
for (let b = batch; b >= 2; b /= 2) {
  log(`paper-scale step on webgpu (batch ${b})`);
  const r = await runStep(paperScript, ['--backend', 'webgpu', '--batch', String(b), '--steps', String(steps || 1), '--warmup', String(warmup), ...(smoke ? ['--appearance-size', '64', '--sem-size', '64'] : [])], env);
  paper.push(r);
  log(r.error ? `  failed: ${r.error}` : `  ${r.imgPerSec!.toFixed(2)} img/s`);
  if (!r.error || b % 4 !== 0) break;
}
const paperOk = paper.find((p) => !p.error);

let cpu: StepResult | undefined;
if (!values['no-cpu-reference']) {
  log(`bench ResNet step on this machine's CPUs (wasm${existsSync(join(repoRoot, 'packages/native/build/Release/clip_senet_native.node')) ? ' + oneDNN' : ''}, ${cpus().length} threads)`);
  const cpuEnv = { ...process.env, CLIP_SENET_BACKEND: 'wasm', CLIP_SENET_WASM_THREADS: String(Math.min(cpus().length, 16)) };
  cpu = await runStep(resnetScript, resnetArgs('wasm'), cpuEnv);
  delete cpu.smiPeakMiB;
  log(cpu.error ? `  failed: ${cpu.error}` : `  ${cpu.imgPerSec!.toFixed(1)} img/s (${cpu.provenance})`);
}

// ---- the report ---------------------------------------------------------------------------------------------------

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
const mem = (r: StepResult): string => `${r.gpuMiB ?? '—'} | ${r.smiPeakMiB ?? '—'}`;
const ms = (r: StepResult): string => r.stepMs!.map((t) => (t / 1000).toFixed(2)).join(', ');
const a = adapter!;
const rows = [
  `| bench ResNet (half-width ResNet-18, ${resnetSize}², Adam) | webgpu (${resnet.provenance}) | ${resnet.batch} | ${ms(resnet)} | **${resnet.imgPerSec!.toFixed(1)}** | ${mem(resnet)} |`,
  ...paper.map((p) =>
    p.error
      ? `| paper-scale CLIP-SENet | webgpu | ${p.batch} | failed: ${p.error.replace(/\|/g, '\\|')} | — | — | ${p.smiPeakMiB ?? '—'} |`
      : `| paper-scale CLIP-SENet (ResNeXt101-IBN-a ${smoke ? '64²' : '320²'} + ViT-B/32 ${smoke ? '64²' : '224²'}, CE-LS + SupCon, Adam) | webgpu (${p.provenance}) | ${p.batch} | ${ms(p)} | **${p.imgPerSec!.toFixed(2)}** | ${mem(p)} |`,
  ),
  ...(cpu && !cpu.error ? [`| bench ResNet, this machine's CPUs | ${cpu.provenance} | ${cpu.batch} | ${ms(cpu)} | ${cpu.imgPerSec!.toFixed(1)} | — | — |`] : []),
];
const report = `# GPU training step (webgpu through Dawn${smoke ? '; SMOKE RUN: tiny sizes, nothing measured' : ''})

Produced by \`cd packages/engine && npx tsx bench/gpu-bench.ts\` on ${new Date().toISOString().slice(0, 10)}, commit ${commit}${dirty ? ' (with uncommitted changes)' : ''}, host ${hostname()} (${cpus().length} CPU threads).

- Adapter: ${a.vendor || 'vendor unknown'} / ${a.architecture || 'architecture unknown'} / ${a.device} — ${a.description}; Dawn backend \`${a.dawnBackend}\`; ${a.software ? 'software' : 'hardware'}.
${[...(smi ? [`GPU (nvidia-smi): ${smi.name}, driver ${smi.driver}, ${smi.totalMiB} MiB.`] : []), ...setup].map((s) => `- ${s}\n`).join('')}- Each row is its own process: ${warmup} warm-up step(s), then ${steps || 1} timed step(s); img/s = batch / mean step time. Random weights and
  random images (the step's cost does not depend on them). tfjs MiB: the most GPU memory tfjs-webgpu had allocated
  (its buffer pool included); nvidia-smi MiB: the most memory in use on the GPU while the process ran.

| step | backend | batch | step time (s) | img/s | tfjs MiB | nvidia-smi MiB |
|---|---|---|---|---|---|---|
${rows.join('\n')}
${paperOk?.epochHours && !smoke ? `\nAt ${paperOk.imgPerSec!.toFixed(2)} img/s one VeRi-776 epoch (37,778 images) of the paper's recipe takes ${paperOk.epochHours.toFixed(2)} h on this GPU.\n` : ''}`;
writeFileAtomic(out, report);
log(`wrote ${out}`);
