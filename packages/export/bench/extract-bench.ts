/**
 * Extraction throughput, tfjs vs the exported ONNX model in onnxruntime-node, side by side in one run on the same
 * machine, images and run: trains a one-step run of each bench model (tiny.yaml with overrides), then times
 * `clip-senet extract` with `--engine tfjs` and `--engine onnxruntime` (the run exported in memory) on one image folder,
 * at 1 and 2 threads, alternating the engines for a few rounds, and checks both engines give the same features. Writes reports/bench/extract.md.
 *
 *   npx tsx packages/export/bench/extract-bench.ts [--images-count 256] [--rounds 3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readSafetensors, writeFileAtomic } from '@clip-senet/core';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'experiments', 'bin', 'clip-senet.mjs');
const TINY = join(ROOT, 'experiments', 'configs', 'synthetic', 'tiny.yaml');
const { values } = parseArgs({ options: { 'images-count': { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } });
const COUNT = Number(values['images-count']);
const ROUNDS = Number(values.rounds);

interface BenchModel {
  readonly name: string;
  readonly overrides: readonly string[];
}
const MODELS: readonly BenchModel[] = [
  { name: 'tiny.yaml (resnet-tiny 32² + clip-vit-tiny 32²)', overrides: [] },
  {
    name: 'resnet50-ibn-a 128² + tinyclip-vit-8m-16 128² (position grid resized 14² → 8²), clip-senet D = 256',
    overrides: [
      'model.appearance.backbone.name=resnet50-ibn-a', 'model.appearance.input.size=[128, 128]', 'model.sem.backbone.name=tinyclip-vit-8m-16',
      'model.sem.input.size=[128, 128]', 'model.fusion.outDim=256', 'model.fusion.afem.groups=16',
    ],
  },
];

function cli(args: readonly string[], env: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CLIP_SENET_BACKEND: 'wasm', ...env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`clip-senet ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst / scale;
}

const dir = mkdtempSync(join(tmpdir(), 'clip-senet-extract-bench-'));
try {
  const rows: string[] = [];
  let images = '';
  for (const [m, model] of MODELS.entries()) {
    const run = join(dir, `run${m}`);
    cli(['train', '--config', TINY, '--set', 'train.maxSteps=1', ...model.overrides.flatMap((o) => ['--set', o]), '--run-dir', run, '--no-progress'], { CLIP_SENET_WASM_THREADS: '2' });
    if (!images) {
      // COUNT images cycled from the run's synthetic world (train + test + query), VeRi-style names kept unique
      const src = join(ROOT, 'datasets', 'synthetic');
      const worldDir = readdirSync(src).map((d) => join(src, d)).find((d) => readdirSync(d).includes('image_train'));
      if (!worldDir) throw new Error(`no synthetic world under ${src}`);
      const files = ['image_train', 'image_test', 'image_query'].flatMap((s) => readdirSync(join(worldDir, s)).filter((f) => f.endsWith('.jpg')).map((f) => join(worldDir, s, f)));
      images = join(dir, 'images');
      mkdirSync(images);
      for (let i = 0; i < COUNT; i++) copyFileSync(files[i % files.length]!, join(images, `${String(i).padStart(5, '0')}.jpg`));
    }
    for (const threads of [1, 2]) {
      // ROUNDS alternating runs per engine (tfjs, onnxruntime, tfjs, …): the medians are less moved by other load
      const runs: Record<'tfjs' | 'onnxruntime', Array<{ rate: number; cpu: number; file: string }>> = { tfjs: [], onnxruntime: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (const engine of ['tfjs', 'onnxruntime'] as const) {
          const file = join(dir, `f${m}-${threads}-${engine}-${round}.safetensors`);
          const extra = engine === 'onnxruntime' ? ['--threads', String(threads)] : [];
          const text = cli(['extract', '--run', run, '--images', images, '--engine', engine, ...extra, '--out', file], { CLIP_SENET_WASM_THREADS: String(threads) });
          const hit = /: ([\d.]+) img\/s, ([\d.]+) ms CPU per image/.exec(text);
          if (!hit) throw new Error(`no throughput line in:\n${text}`);
          runs[engine].push({ rate: Number(hit[1]), cpu: Number(hit[2]), file });
        }
      }
      const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const [t, o] = [runs.tfjs, runs.onnxruntime].map((r) => ({ rate: med(r.map((x) => x.rate)), cpu: med(r.map((x) => x.cpu)), rates: r.map((x) => x.rate.toFixed(1)).join(' / ') }));
      const diff = maxRel(readSafetensors(runs.onnxruntime[0]!.file).tensors.get('features')!.data as Float32Array, readSafetensors(runs.tfjs[0]!.file).tensors.get('features')!.data as Float32Array);
      rows.push(`| ${model.name} | ${threads} | ${t!.rate.toFixed(1)} (${t!.rates}) | ${o!.rate.toFixed(1)} (${o!.rates}) | ${(o!.rate / t!.rate).toFixed(2)}× | ${t!.cpu.toFixed(1)} | ${o!.cpu.toFixed(1)} | ${(t!.cpu / o!.cpu).toFixed(2)}× | ${diff.toExponential(1)} |`);
      console.log(rows[rows.length - 1]);
    }
  }
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'experiments/src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  const md = `# Extraction throughput: tfjs vs the exported ONNX model in onnxruntime-node

Generated by \`npx tsx packages/export/bench/extract-bench.ts --images-count ${COUNT} --rounds ${ROUNDS}\` at commit ${commit}${dirty ? ' (with uncommitted changes in the work tree)' : ''},
on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}. One bench run: per model, a one-step
training run (tiny.yaml + the overrides named), then \`clip-senet extract\` over the same ${COUNT} images
(synthetic-world JPEGs) with the same batch size, ${ROUNDS} rounds alternating \`--engine tfjs\` and
\`--engine onnxruntime\` (the run's checkpoint exported in memory). Figures are extract's throughput line over the
embedding loop (decoding and resizing included; model loading and the export excluded): images / s of wall time
(median, then every round) and process CPU ms per image (median; all threads, the figure least moved by other load
on a shared machine). tfjs: the wasm backend (CLIP_SENET_BACKEND=wasm, oneDNN kernels where the native addon is
built) at CLIP_SENET_WASM_THREADS = threads; onnxruntime-node 1.30 (CPU) at \`--threads\` = threads. "max rel.
diff" is max |f_ort − f_tfjs| / max |f_tfjs| over all features of the first round.

| model | threads | tfjs img/s | onnxruntime img/s | ort / tfjs (wall) | tfjs CPU ms/img | ort CPU ms/img | tfjs / ort (CPU) | max rel. diff |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
  writeFileAtomic(join(ROOT, 'reports', 'bench', 'extract.md'), md);
  console.log(md);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
