/**
 * Benchmark of the synthetic world generator and the input pipeline (issue 4, part 5).
 *
 * - generation img/s: render + JPEG-encode + write a world at 128² and 256²;
 * - loader img/s: decode + resize + augment (flip, pad/crop, colour jitter, normalise, erasing) of P×K batches
 *   into NHWC float32 tensors, steady state after a warm-up batch (worker start-up reported separately), in-process
 *   and with the default worker count; plus the two-branch setup (CNN branch + CLIP branch at 224²);
 * - the ratio to training speed, measured in the same run: the core runtime benchmark's training step (half-width
 *   ResNet-18, batch 32, Adam; packages/core/bench/resnet-step.ts) at 128² and 256² on the default backend.
 * Also refreshes reports/synthetic-contact-sheet.png. Writes reports/bench/datasets.md atomically.
 *
 * Run: `npx nx run datasets:bench` (or `npx tsx bench/datasets-bench.ts` in packages/datasets).
 */
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng, writeFileAtomic } from '@clip-senet/core';
import { createBatchLoader, disposeBatch } from '../src/loader';
import { createPKSampler } from '../src/sampler';
import { generateSyntheticWorld } from '../src/synthetic/generator';
import { type TransformOptions, trainTransforms } from '../src/transforms';
import { loadVeRi776 } from '../src/veri776';
import { makeContactSheet } from './contact-sheet';

const RESNET_STEP = resolve(import.meta.dirname, '../../core/bench/resnet-step.ts');

/** Training img/s of the core benchmark step at `size`² (child process, default backend). */
function measureTraining(size: number): number {
  const tsx = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');
  const out = execFileSync(tsx, [RESNET_STEP, '--size', String(size), '--batch', '32', '--steps', '2', '--warmup', '1'], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop()!) as { imgPerSec: number }).imgPerSec;
}
const BATCHES = 24;
const P = 8;
const K = 4;

interface GenRow {
  size: number;
  images: number;
  seconds: number;
}
interface LoadRow {
  label: string;
  workers: number;
  startup: number;
  imgPerS: number;
  trainImgPerS: number;
}

function worldAt(dir: string, size: number): GenRow & { root: string } {
  const t0 = performance.now();
  const w = generateSyntheticWorld({ outDir: join(dir, `world-${size}`), imageSize: size, numTrainIds: 24, numTestIds: 8, numPretrainIds: 16 });
  const seconds = (performance.now() - t0) / 1000;
  const c = w.manifest.counts;
  return { root: w.root, size, images: c.trainImages + c.testImages + c.pretrainImages, seconds };
}

async function loaderRow(root: string, label: string, branches: TransformOptions[], workers: number, trainImgPerS: number): Promise<LoadRow> {
  const train = loadVeRi776(root, { numCameras: 8, onWarning: () => undefined }).train;
  const sampler = createPKSampler(train, { P, K, rng: new Rng(1) });
  const requests = Array.from({ length: BATCHES + 1 }, () => sampler.next());
  const t0 = performance.now();
  const loader = createBatchLoader({ branches, seed: 1, workers, prefetch: 4 });
  disposeBatch(await loader.load(requests[0]!));
  const t1 = performance.now();
  let n = 0;
  for await (const b of loader.stream(requests.slice(1))) {
    n += b.samples.length;
    disposeBatch(b);
  }
  const t2 = performance.now();
  await loader.close();
  return { label, workers, startup: (t1 - t0) / 1000, imgPerS: n / ((t2 - t1) / 1000), trainImgPerS };
}

function report(gen: GenRow[], load: LoadRow[], sheetBytes: number, loadBefore: number[]): string {
  const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  const f = (x: number, d = 0): string => x.toFixed(d);
  return [
    '# datasets benchmark',
    '',
    `- command: \`npx nx run datasets:bench\` (runs \`tsx bench/datasets-bench.ts\` in packages/datasets)`,
    `- date: ${new Date().toISOString()}`,
    `- commit: ${commit}`,
    `- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}`,
    `- 1-min load average before / after: ${loadBefore[0]!.toFixed(2)} / ${loadavg()[0]!.toFixed(2)} ` +
      '(other processes share the cores; figures above ~1 per core are contended)',
    '',
    '## Synthetic world generation (render + JPEG encode + write, single thread)',
    '',
    '| image size | images | seconds | img/s |',
    '|---|---|---|---|',
    ...gen.map((g) => `| ${g.size}² | ${g.images} | ${f(g.seconds, 2)} | ${f(g.images / g.seconds)} |`),
    '',
    `## Loader (decode + resize + flip/pad-crop/jitter/normalise/erasing → NHWC float32), P×K = ${P}×${K}, ${BATCHES} batches after a warm-up batch`,
    '',
    'Training speed measured in the same run: the core benchmark step (half-width ResNet-18, batch 32, Adam, CE; ' +
      '`packages/core/bench/resnet-step.ts`) at the same resolution on the default backend. Target: loader ≥ 5× training.',
    '',
    '| setup | workers | worker start-up s | loader img/s | training img/s | loader / training |',
    '|---|---|---|---|---|---|',
    ...load.map((r) => `| ${r.label} | ${r.workers} | ${f(r.startup, 2)} | ${f(r.imgPerS)} | ${f(r.trainImgPerS, 1)} | ${f(r.imgPerS / r.trainImgPerS, 1)}× |`),
    '',
    'Workers decode in parallel with training; with 2 cores the default is 1 worker, so the loader takes one core',
    'only while it is ahead of the trainer. Start-up (tsx + tfjs import in each worker) is paid once per loader.',
    '',
    `Contact sheet: reports/synthetic-contact-sheet.png (${f(sheetBytes / 1024)} KB), default world (64², seed 3407).`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'datasets-bench-'));
  const loadBefore = loadavg();
  try {
    const w128 = worldAt(dir, 128);
    const w256 = worldAt(dir, 256);
    const defaultWorkers = Math.max(1, availableParallelism() - 1);
    const t128 = trainTransforms([128, 128]);
    const t256 = trainTransforms([256, 256]);
    const clip = trainTransforms([224, 224], 'clip');
    const jit = { brightness: 0.2, contrast: 0.2, saturation: 0.2 };
    const train128 = measureTraining(128);
    const train256 = measureTraining(256);
    const load: LoadRow[] = [];
    for (const workers of [0, defaultWorkers]) {
      load.push(await loaderRow(w128.root, '128² JPEG → 128²', [{ ...t128, colorJitter: jit }], workers, train128));
      load.push(await loaderRow(w256.root, '256² JPEG → 256²', [{ ...t256, colorJitter: jit }], workers, train256));
      load.push(await loaderRow(w256.root, '256² JPEG → 256² CNN + 224² CLIP', [{ ...t256, colorJitter: jit }, clip], workers, train256));
      console.log(load.slice(-3));
    }
    const sheetBytes = makeContactSheet(resolve(import.meta.dirname, '../../../reports/synthetic-contact-sheet.png'));
    const md = report([w128, w256], load, sheetBytes, loadBefore);
    const out = resolve(import.meta.dirname, '../../../reports/bench/datasets.md');
    writeFileAtomic(out, md);
    console.log(md);
    console.log(`wrote ${out}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
