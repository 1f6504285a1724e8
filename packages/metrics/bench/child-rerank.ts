/**
 * Child process of the bench: k-reciprocal re-ranking at VeRi-776 scale (1,678 × 11,579, 2048-d), so its
 * peak RSS is measured on its own. Prints one JSON line.
 */
import { createDistancePool, evaluateRanking, kReciprocalRerank } from '../src/index';
import { VERI776, veri776Sets } from './data';

const { query, gallery } = veri776Sets();
const dim = VERI776.dim;
const rssAfterData = process.memoryUsage().rss;
const pool = createDistancePool({ workers: 2 });
let t = performance.now();
const qg = await pool.computeDistances(query.features, gallery.features, dim, 'cosine');
const qq = await pool.computeSelfDistances(query.features, dim, 'cosine');
const gg = await pool.computeSelfDistances(gallery.features, dim, 'cosine');
const distanceSeconds = (performance.now() - t) / 1000;
await pool.close();
const rssBeforeRerank = process.memoryUsage().rss;
t = performance.now();
const rr = kReciprocalRerank({ qg, qq, gg, numQuery: query.ids.length, numGallery: gallery.ids.length, k1: 20, k2: 6, lambda: 0.3 });
const rerankSeconds = (performance.now() - t) / 1000;
const labels = {
  numQuery: query.ids.length,
  numGallery: gallery.ids.length,
  queryIds: query.ids,
  galleryIds: gallery.ids,
  queryCams: query.cams,
  galleryCams: gallery.cams,
};
const before = evaluateRanking({ ...labels, distmat: qg });
const after = evaluateRanking({ ...labels, distmat: rr });
console.log(
  JSON.stringify({
    distanceSeconds,
    rerankSeconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    rssAfterDataMiB: rssAfterData / 2 ** 20,
    rssBeforeRerankMiB: rssBeforeRerank / 2 ** 20,
    mAPBefore: before.mAP,
    mAPAfter: after.mAP,
    rank1Before: before.cmc[0],
    rank1After: after.cmc[0],
  }),
);
