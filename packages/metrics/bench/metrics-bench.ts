/**
 * `npx nx run metrics:bench` — @clip-senet/metrics against the repo's NumPy reference (scripts/reference.py)
 * on the same seeded data in the same run, plus re-ranking and VeRi-Wild Large streaming in child processes
 * (peak RSS measured per process). Writes reports/bench/metrics.md atomically.
 */
import { execSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@clip-senet/core/base';
import { backendInfo, initBackend, tfGemm } from '@clip-senet/core';
import { computeDistances, createDistancePool, evaluateRanking, kReciprocalRerank } from '../src/index';
import type { RankingResult } from '../src/index';
import { SCALE, VERI776, VERIWILD_LARGE, hardDistances, veri776Sets, veriWildSets } from './data';

const REPORT = resolve(import.meta.dirname, '../../../reports/bench/metrics.md');
const TSX = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');
const RR_SUBSET = { nq: Math.min(400, VERI776.nq), ng: Math.min(2400, VERI776.ng) };
const VW_CHECK_ROWS = Math.min(200, VERIWILD_LARGE.nq);

const seconds = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const out = fn();
  return [out, (performance.now() - t) / 1000];
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number, d = 3): string => x.toFixed(d);

interface NumpySummary {
  mAP: number;
  mINP: number;
  cmc: number[];
  numValid: number;
  apPerQuery: (number | null)[];
}

/** Largest difference between a TS result and a NumPy summary over mAP, mINP, CMC and per-query AP. */
function maxDiff(ts: RankingResult, np: NumpySummary): number {
  let m = Math.max(Math.abs(ts.mAP - np.mAP), Math.abs(ts.mINP - np.mINP));
  np.cmc.forEach((c, k) => (m = Math.max(m, Math.abs(ts.cmc[k] - c))));
  np.apPerQuery.forEach((a, q) => {
    if (a === null) m = Math.max(m, Number.isNaN(ts.apPerQuery[q]) ? 0 : Infinity);
    else m = Math.max(m, Math.abs(ts.apPerQuery[q] - a));
  });
  return m;
}

const spec: { arrays: Record<string, { file: string; dtype: string; shape: number[] }>; tasks: object[] } = { arrays: {}, tasks: [] };
function put(dir: string, name: string, a: Float32Array | Int32Array | Float64Array, shape: number[]): void {
  const dtype = a instanceof Float32Array ? '<f4' : a instanceof Int32Array ? '<i4' : '<f8';
  writeFileSync(join(dir, `${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  spec.arrays[name] = { file: `${name}.bin`, dtype, shape };
}

function subMatrix(m: Float32Array, cols: number, rows: number, keepCols: number): Float32Array {
  const out = new Float32Array(rows * keepCols);
  for (let i = 0; i < rows; i++) out.set(m.subarray(i * cols, i * cols + keepCols), i * keepCols);
  return out;
}

/** The bytes of a Buffer as their own ArrayBuffer (small Buffers are views into a shared pool). */
const ownBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

function runChild(args: string[]): Record<string, unknown> {
  const t = performance.now();
  const r = spawnSync(TSX, args, { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return { ...(JSON.parse(line) as Record<string, unknown>), wallSeconds: (performance.now() - t) / 1000 };
}

async function main(): Promise<void> {
  const started = new Date();
  const load0 = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'metrics-bench-'));
  const lines: string[] = [];
  try {
    // ---- VeRi-776 scale: distances + metrics, TS vs NumPy on the same data ----
    const [{ query, gallery }, genS] = seconds(() => veri776Sets());
    const { nq, ng, dim } = VERI776;
    const serialRows = Math.min(128, nq);
    const labels = { numQuery: nq, numGallery: ng, queryIds: query.ids, galleryIds: gallery.ids, queryCams: query.cams, galleryCams: gallery.cams };
    const pool = createDistancePool({ workers: 2 });
    let t = performance.now();
    const distmat = await pool.computeDistances(query.features, gallery.features, dim, 'cosine');
    const tsDistS = (performance.now() - t) / 1000;
    const [, serialS] = seconds(() => computeDistances(query.features.subarray(0, serialRows * dim), gallery.features, dim, 'cosine'));
    // Same distances through an injected tensor-backend GEMM (wasm XNNPACK via @clip-senet/core).
    const backend = await initBackend('auto', { log: null });
    const gemmThreads = backendInfo()?.threads ?? 1;
    computeDistances(query.features.subarray(0, 64 * dim), gallery.features, dim, 'cosine', { gemm: tfGemm }); // warm-up
    const [tfDist, tfDistS] = seconds(() => computeDistances(query.features, gallery.features, dim, 'cosine', { gemm: tfGemm }));
    let tfDistDiff = 0;
    for (let i = 0; i < tfDist.length; i++) tfDistDiff = Math.max(tfDistDiff, Math.abs(tfDist[i]! - distmat[i]!));
    const evalTimes: number[] = [];
    const trapTimes: number[] = [];
    let tsEval!: RankingResult;
    let tsTrap!: RankingResult;
    for (let rep = 0; rep < 3; rep++) {
      let s: number;
      [tsEval, s] = seconds(() => evaluateRanking({ ...labels, distmat }));
      evalTimes.push(s);
      [tsTrap, s] = seconds(() => evaluateRanking({ ...labels, distmat, ap: 'trapezoid' }));
      trapTimes.push(s);
    }
    const hard = hardDistances(VERI776.seed, query.ids, gallery.ids);
    const hardTimes: number[] = [];
    let tsHard!: RankingResult;
    for (let rep = 0; rep < 3; rep++) {
      let s: number;
      [tsHard, s] = seconds(() => evaluateRanking({ ...labels, distmat: hard }));
      hardTimes.push(s);
    }
    put(dir, 'hardDist', hard, [nq, ng]);
    put(dir, 'q', query.features, [nq, dim]);
    put(dir, 'g', gallery.features, [ng, dim]);
    put(dir, 'qIds', query.ids, [nq]);
    put(dir, 'gIds', gallery.ids, [ng]);
    put(dir, 'qCams', query.cams, [nq]);
    put(dir, 'gCams', gallery.cams, [ng]);
    put(dir, 'tsDist', distmat, [nq, ng]);
    spec.tasks.push({ kind: 'veri776', metric: 'cosine' });

    // ---- re-ranking on a subset NumPy's dense implementation can handle ----
    const { nq: sq, ng: sg } = RR_SUBSET;
    const rrQg = subMatrix(distmat, ng, sq, sg);
    t = performance.now();
    const rrQq = await pool.computeSelfDistances(query.features.subarray(0, sq * dim), dim, 'cosine');
    const rrGg = await pool.computeSelfDistances(gallery.features.subarray(0, sg * dim), dim, 'cosine');
    const rrDistS = (performance.now() - t) / 1000;
    await pool.close();
    const [rrTs, rrTsS] = seconds(() => kReciprocalRerank({ qg: rrQg, qq: rrQq, gg: rrGg, numQuery: sq, numGallery: sg, k1: 20, k2: 6, lambda: 0.3 }));
    const rrLabels = {
      numQuery: sq,
      numGallery: sg,
      queryIds: query.ids.subarray(0, sq),
      galleryIds: gallery.ids.subarray(0, sg),
      queryCams: query.cams.subarray(0, sq),
      galleryCams: gallery.cams.subarray(0, sg),
    };
    const rrTsEval = evaluateRanking({ ...rrLabels, distmat: rrTs });
    put(dir, 'rrQg', rrQg, [sq, sg]);
    put(dir, 'rrQq', rrQq, [sq, sq]);
    put(dir, 'rrGg', rrGg, [sg, sg]);
    put(dir, 'rrQIds', Int32Array.from(rrLabels.queryIds), [sq]);
    put(dir, 'rrGIds', Int32Array.from(rrLabels.galleryIds), [sg]);
    put(dir, 'rrQCams', Int32Array.from(rrLabels.queryCams), [sq]);
    put(dir, 'rrGCams', Int32Array.from(rrLabels.galleryCams), [sg]);
    spec.tasks.push({ kind: 'rerank', k1: 20, k2: 6, lambda: 0.3 });

    // ---- VeRi-Wild Large: the first rows for a NumPy check of the streaming child ----
    const vw = veriWildSets();
    const vd = VERIWILD_LARGE.dim;
    put(dir, 'vwQ', vw.query.features.subarray(0, VW_CHECK_ROWS * vd), [VW_CHECK_ROWS, vd]);
    put(dir, 'vwG', vw.gallery.features, [VERIWILD_LARGE.ng, vd]);
    put(dir, 'vwQIds', vw.query.ids.subarray(0, VW_CHECK_ROWS), [VW_CHECK_ROWS]);
    put(dir, 'vwGIds', vw.gallery.ids, [VERIWILD_LARGE.ng]);
    put(dir, 'vwQCams', vw.query.cams.subarray(0, VW_CHECK_ROWS), [VW_CHECK_ROWS]);
    put(dir, 'vwGCams', vw.gallery.cams, [VERIWILD_LARGE.ng]);
    spec.tasks.push({ kind: 'veriwild-rows', metric: 'cosine' });
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));

    // ---- NumPy reference, same data ----
    t = performance.now();
    const py = spawnSync(process.env.PYTHON ?? 'python3', [resolve(import.meta.dirname, '../scripts/reference_bench.py'), dir], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`reference_bench.py failed:\n${py.stderr}`);
    const npWall = (performance.now() - t) / 1000;
    const np = JSON.parse(readFileSync(join(dir, 'numpy.json'), 'utf8'));
    const npRr = new Float32Array(ownBuffer(readFileSync(join(dir, 'numpy-rerank.f32'))));
    let rrMaxDiff = 0;
    for (let i = 0; i < rrTs.length; i++) rrMaxDiff = Math.max(rrMaxDiff, Math.abs(rrTs[i] - npRr[i]));

    // ---- children: full-scale re-ranking and VeRi-Wild Large streaming ----
    const rr = runChild(['bench/child-rerank.ts']);
    const apPath = join(dir, 'vw-ap.f64');
    const vwr = runChild(['bench/child-veriwild.ts', apPath, String(VW_CHECK_ROWS)]);
    const vwAp = new Float64Array(ownBuffer(readFileSync(apPath)));
    let vwMaxDiff = 0;
    (np.veriwildRows.eval.apPerQuery as (number | null)[]).forEach((a, q) => {
      vwMaxDiff = Math.max(vwMaxDiff, a === null ? (Number.isNaN(vwAp[q]) ? 0 : Infinity) : Math.abs(vwAp[q] - a));
    });

    const v = np.veri776;
    const evalTs = median(evalTimes);
    const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain -- .', { encoding: 'utf8' }).trim() !== '';
    lines.push(
      '# @clip-senet/metrics bench',
      '',
      ...(SCALE !== 1 ? [`**SMOKE RUN: every set scaled by ${SCALE}; the sizes below are not the real scales.**`, ''] : []),
      `Command: \`npx nx run metrics:bench\` (runs \`tsx bench/metrics-bench.ts\` in packages/metrics)  `,
      `Date: ${started.toISOString()}  `,
      `Commit: ${commit}${dirty ? ' (packages/metrics has uncommitted changes)' : ''}  `,
      `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ` +
        `Python ${np.python} (${np.executable}), NumPy ${np.numpy}  `,
      `Load average (1/5/15 min) at start: ${load0.map((x) => fmt(x, 2)).join(' / ')}; at end: ${loadavg().map((x) => fmt(x, 2)).join(' / ')} ` +
        '(shared, noisy machine: compare the ratios, which are measured in the same run, not the absolute times).',
      '',
      'Data: seeded synthetic features (bench/data.ts: identity centre + uniform noise), written to a temp folder and read by',
      '`scripts/reference_bench.py`, which runs the dense NumPy reference `scripts/reference.py` (full argsort per query).',
      '',
      `## VeRi-776 scale: ${nq} × ${ng}, ${dim}-d, cosine, same-id same-camera junk`,
      '',
      '| step | TypeScript | NumPy reference | NumPy / TS |',
      '|---|---|---|---|',
      `| distances (TS: 2 worker threads) | ${fmt(tsDistS, 2)} s | ${fmt(v.distanceSeconds, 2)} s (float64 BLAS) | ${fmt(v.distanceSeconds / tsDistS, 2)}× |`,
      `| distances (tf ${backend} GEMM, ${gemmThreads} thread${gemmThreads > 1 ? 's' : ''}: \`{ gemm: tfGemm }\`) | ${fmt(tfDistS, 2)} s | ${fmt(v.distanceSeconds, 2)} s (float64 BLAS) | ${fmt(v.distanceSeconds / tfDistS, 2)}× |`,
      `| CMC + mAP + mINP, non-interpolated (median of 3) | ${fmt(evalTs)} s | ${fmt(v.evaluateSeconds, 2)} s | **${fmt(v.evaluateSeconds / evalTs, 1)}×** |`,
      `| CMC + mAP + mINP, trapezoid AP (median of 3) | ${fmt(median(trapTimes))} s | ${fmt(v.evaluateTrapezoidSeconds, 2)} s | **${fmt(v.evaluateTrapezoidSeconds / median(trapTimes), 1)}×** |`,
      `| CMC + mAP + mINP on a hard unstructured matrix (worst case, median of 3) | ${fmt(median(hardTimes))} s | ${fmt(v.hardSeconds, 2)} s | ${fmt(v.hardSeconds / median(hardTimes), 1)}× |`,
      `| end to end with tf GEMM distances | ${fmt(tfDistS + evalTs, 2)} s | ${fmt(v.distanceSeconds + v.evaluateOwnSeconds, 2)} s | ${fmt((v.distanceSeconds + v.evaluateOwnSeconds) / (tfDistS + evalTs), 2)}× |`,
      `| end to end (distances + metrics) | ${fmt(tsDistS + evalTs, 2)} s | ${fmt(v.distanceSeconds + v.evaluateOwnSeconds, 2)} s | ${fmt((v.distanceSeconds + v.evaluateOwnSeconds) / (tsDistS + evalTs), 2)}× |`,
      '',
      `- Single-thread TS distances on ${serialRows} query rows: ${fmt(serialS, 2)} s → ${fmt((serialRows * ng * dim) / serialS / 1e9, 2)} G multiply-adds/s ` +
        `(pool of 2: ${fmt((nq * ng * dim) / tsDistS / 1e9, 2)} G/s). Data generation ${fmt(genS, 1)} s (not timed above).`,
      `- Values, same distance matrix: max |TS − NumPy| over mAP, mINP, CMC@1..50 and all ${nq} per-query APs = ` +
        `${maxDiff(tsEval, v.tsDistances).toExponential(2)} (non-interpolated), ${maxDiff(tsTrap, v.tsDistancesTrapezoid).toExponential(2)} (trapezoid), ` +
        `${maxDiff(tsHard, v.hard).toExponential(2)} (hard matrix: mAP ${fmt(tsHard.mAP * 100, 2)} %, mINP ${fmt(tsHard.mINP * 100, 2)} %); requirement ≤ 1e-6.`,
      `- tf GEMM distances (float32 accumulation) vs the TS kernel: max |diff| = ${tfDistDiff.toExponential(2)}; mAP from them ${fmt(evaluateRanking({ ...labels, distmat: tfDist }).mAP * 100, 4)} % vs ${fmt(tsEval.mAP * 100, 4)} %.`,
      `- Distances: max |TS − NumPy| = ${v.maxAbsDistanceDiff.toExponential(2)} (both float64 sums rounded to float32); end-to-end metrics from each side's own ` +
        `distances differ by ${maxDiff(tsEval, v.ownDistances).toExponential(2)}.`,
      `- Figures: mAP ${fmt(tsEval.mAP * 100, 2)} %, Rank-1 ${fmt(tsEval.cmc[0] * 100, 2)} %, mINP ${fmt(tsEval.mINP * 100, 2)} %, trapezoid mAP ${fmt(tsTrap.mAP * 100, 2)} %, ` +
        `${tsEval.numValidQueries} valid / ${tsEval.numSkippedQueries} skipped queries.`,
      '',
      '## k-reciprocal re-ranking (k1 = 20, k2 = 6, λ = 0.3)',
      '',
      `Full VeRi-776 scale (${nq} × ${ng}), child process \`tsx bench/child-rerank.ts\`:`,
      '',
      `- kReciprocalRerank: **${fmt(rr.rerankSeconds as number, 2)} s**; peak RSS of the process **${fmt(rr.maxRssMiB as number, 0)} MiB** ` +
        `(of which inputs qg + qq + gg ≈ ${fmt(((nq * ng + nq * nq + ng * ng) * 4) / 2 ** 20, 0)} MiB float32; RSS ${fmt(rr.rssBeforeRerankMiB as number, 0)} MiB just before re-ranking). Targets: ≤ 60 s, ≤ 4 GB.`,
      `- Computing its inputs (qg, qq, gg; 2 worker threads, qq/gg as half-work self-distances): ${fmt(rr.distanceSeconds as number, 1)} s (not part of the re-ranking time).`,
      `- mAP ${fmt((rr.mAPBefore as number) * 100, 2)} % → ${fmt((rr.mAPAfter as number) * 100, 2)} %, Rank-1 ${fmt((rr.rank1Before as number) * 100, 2)} % → ${fmt((rr.rank1After as number) * 100, 2)} %.`,
      '',
      `Subset ${sq} × ${sg} (the dense NumPy reference holds several (nq+ng)² float64 matrices and loops in Python; the full scale is not run there):`,
      '',
      `- TS ${fmt(rrTsS, 3)} s vs NumPy ${fmt(np.rerank.seconds, 2)} s → ${fmt(np.rerank.seconds / rrTsS, 1)}× (TS self-distances for the subset: ${fmt(rrDistS, 2)} s).`,
      `- max |TS − NumPy| over the re-ranked distances: ${rrMaxDiff.toExponential(2)}; metrics on them: max diff ${maxDiff(rrTsEval, np.rerank.eval).toExponential(2)} ` +
        `(mAP ${fmt(rrTsEval.mAP * 100, 3)} % vs ${fmt(np.rerank.eval.mAP * 100, 3)} %).`,
      '',
      `## VeRi-Wild Large scale: ${VERIWILD_LARGE.nq} × ${VERIWILD_LARGE.ng}, ${vd}-d, streaming`,
      '',
      `Child process \`tsx bench/child-veriwild.ts\`: protocol \`${String(vwr.protocolId)}\` (countsMatchPublished: ${String(vwr.countsMatchPublished)}), ` +
        `query blocks of 64 on 2 worker threads, never the full matrix (which would be ${fmt((VERIWILD_LARGE.nq * VERIWILD_LARGE.ng * 4) / 2 ** 30, 2)} GiB as float32).`,
      '',
      `- Peak RSS **${fmt(vwr.maxRssMiB as number, 0)} MiB** (target ≤ 2 GB), including the ${fmt(((VERIWILD_LARGE.nq + VERIWILD_LARGE.ng) * vd * 4) / 2 ** 20, 0)} MiB of features ` +
        'and their shared-memory copy for the workers.',
      `- Time: ${fmt(vwr.seconds as number, 1)} s distances + evaluation (data generation ${fmt(vwr.genSeconds as number, 1)} s).`,
      `- mAP ${fmt((vwr.mAP as number) * 100, 2)} %, Rank-1 ${fmt((vwr.rank1 as number) * 100, 2)} %, mINP ${fmt((vwr.mINP as number) * 100, 2)} %, ${String(vwr.numValidQueries)} valid queries.`,
      `- Check: per-query AP of the first ${VW_CHECK_ROWS} queries vs the NumPy reference on the same rows (full ${VERIWILD_LARGE.ng}-image gallery): max diff ${vwMaxDiff.toExponential(2)} ` +
        `(NumPy: ${fmt(np.veriwildRows.distanceSeconds + np.veriwildRows.evaluateSeconds, 1)} s for those ${VW_CHECK_ROWS} rows).`,
      '',
      `NumPy process: wall ${fmt(npWall, 1)} s, peak RSS ${fmt(np.maxRssKiB / 1024, 0)} MiB.`,
      '',
    );
    writeFileAtomic(REPORT, lines.join('\n'));
    console.log(lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
