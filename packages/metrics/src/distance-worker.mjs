// worker_threads entry of the distance pool (parallel-distance.ts): computes query-row blocks into shared
// memory with the same kernel as the main thread.
import { parentPort } from 'node:worker_threads';
import { fillDistanceBlock } from './matmul-kernel.mjs';

let inputs = null;
parentPort.on('message', (msg) => {
  if (msg.type === 'inputs') {
    inputs = {
      query: new Float32Array(msg.query),
      gallery: new Float32Array(msg.gallery),
      qNorm: new Float64Array(msg.qNorm),
      gNorm: new Float64Array(msg.gNorm),
      dim: msg.dim,
      metric: msg.metric,
    };
    parentPort.postMessage({ type: 'ready' });
    return;
  }
  const { query, gallery, qNorm, gNorm, dim, metric } = inputs;
  const out = new Float32Array(msg.out, msg.outOffset, msg.count * gNorm.length);
  fillDistanceBlock(query, gallery, dim, metric, qNorm, gNorm, msg.start, msg.count, out, msg.upperOnly === true);
  parentPort.postMessage({ type: 'done', id: msg.id });
});
