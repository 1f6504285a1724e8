/**
 * Child process of the bench: VeRi-Wild Large scale (10,000 × 128,517, 256-d) streaming evaluation through
 * the veriWild protocol on a worker pool, so its peak RSS is measured on its own. Writes the per-query AP of
 * the first `argv[3]` queries to `argv[2]` (checked against NumPy by the parent) and prints one JSON line.
 */
import { writeFileAtomic } from '@clip-senet/core/base';
import { createDistancePool, veriWild } from '../src/index';
import { VERIWILD_LARGE, veriWildSets } from './data';

const [outPath, checkRowsArg] = process.argv.slice(2);
const t0 = performance.now();
const { query, gallery } = veriWildSets();
const genSeconds = (performance.now() - t0) / 1000;
const pool = createDistancePool({ workers: 2 });
const t = performance.now();
const r = await veriWild({ testSize: 10000, blockSize: 64 }).evaluateParallel({ query, gallery, dim: VERIWILD_LARGE.dim }, pool);
const seconds = (performance.now() - t) / 1000;
await pool.close();
const checkRows = Number(checkRowsArg);
writeFileAtomic(outPath, new Uint8Array(r.apPerQuery.slice(0, checkRows).buffer));
console.log(
  JSON.stringify({
    protocolId: r.protocolId,
    countsMatchPublished: r.countsMatchPublished,
    genSeconds,
    seconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    mAP: r.mAP,
    mINP: r.mINP,
    rank1: r.cmc[0],
    numValidQueries: r.numValidQueries,
  }),
);
