/**
 * Extraction throughput, tfjs vs the exported ONNX model in onnxruntime-node, side by side in one run on the same
 * machine, images and run: trains a one-step run of each bench model (tiny.yaml with overrides), then times
 * `clip-senet extract` with `--engine tfjs` and `--engine onnxruntime` (the run exported in memory) on one image folder,
 * at 1 and 2 threads, and checks both engines give the same features. Writes reports/bench/extract.md.
 *
 *   npx tsx packages/export/bench/extract-bench.ts [--images-count 256]
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
const { values } = parseArgs({ options: { 'images-count': { type: 'string', default: '256' } } });
const COUNT = Number(values['images-count']);

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
      const out: Record<string, { rate: number; file: string }> = {};
      for (const engine of ['tfjs', 'onnxruntime'] as const) {
        const file = join(dir, `f${m}-${threads}-${engine}.safetensors`);
        const extra = engine === 'onnxruntime' ? ['--threads', String(threads)] : [];
        const text = cli(['extract', '--run', run, '--images', images, '--engine', engine, ...extra, '--out', file], { CLIP_SENET_WASM_THREADS: String(threads) });
        const rate = /: ([\d.]+) img\/s/.exec(text)?.[1];
        if (rate === undefined) throw new Error(`no throughput line in:\n${text}`);
        out[engine] = { rate: Number(rate), file };
      }
      const diff = maxRel(readSafetensors(out.onnxruntime!.file).tensors.get('features')!.data as Float32Array, readSafetensors(out.tfjs!.file).tensors.get('features')!.data as Float32Array);
      const ratio = out.onnxruntime!.rate / out.tfjs!.rate;
      rows.push(`| ${model.name} | ${threads} | ${out.tfjs!.rate.toFixed(1)} | ${out.onnxruntime!.rate.toFixed(1)} | ${ratio.toFixed(2)}× | ${diff.toExponential(1)} |`);
      console.log(rows[rows.length - 1]);
    }
  }
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages', 'experiments/src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  const md = `# Extraction throughput: tfjs vs the exported ONNX model in onnxruntime-node

Generated by \`npx tsx packages/export/bench/extract-bench.ts --images-count ${COUNT}\` at commit ${commit}${dirty ? ' (with uncommitted changes in the work tree)' : ''},
on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; one run, both engines side by side on
the same one-step run, the same ${COUNT} images (synthetic-world JPEGs) and the same batch size. Each figure is
\`clip-senet extract\`'s throughput line (images / s over the embedding loop, decoding and resizing included; model
loading and the in-memory ONNX export excluded). tfjs runs the wasm backend (CLIP_SENET_BACKEND=wasm, with the
oneDNN kernels where the native addon is built) at CLIP_SENET_WASM_THREADS = threads; onnxruntime-node 1.30 (CPU)
at \`--threads\` = threads. "max rel. diff" is max |f_ort − f_tfjs| / max |f_tfjs| over all features. The machine
is shared, so ratios are the figure to read, not absolute rates.

| model | threads | tfjs img/s | onnxruntime img/s | onnxruntime / tfjs | max rel. diff |
|---|---|---|---|---|---|
${rows.join('\n')}
`;
  writeFileAtomic(join(ROOT, 'reports', 'bench', 'extract.md'), md);
  console.log(md);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
