/**
 * Prints `{ threads, hash }` for a fixed conv forward + backward + matmul workload on wasm with
 * CLIP_SENET_WASM_THREADS threads. Used by wasm-threads.test.ts to show results do not depend on the
 * thread count (run in separate processes because the thread count is fixed at initialisation).
 */
import { tf, initBackend, backendInfo, Rng, hashString32 } from '../src/index';

await initBackend('wasm', { log: null });
const rng = new Rng(1234);
const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
const x = rand([8, 32, 32, 16]) as tf.Tensor4D;
const w = rand([3, 3, 16, 32]) as tf.Tensor4D;
const m = rand([64, 96]) as tf.Tensor2D;
const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, w]);
const y = tf.matMul(m, m, false, true);
let hash = 0;
for (const t of [gx!, gw!, y]) {
  const bytes = new Uint8Array((t.dataSync() as Float32Array).buffer.slice(0));
  hash = hashString32(`${hash}:${Buffer.from(bytes).toString('base64')}`);
}
process.stdout.write(`${JSON.stringify({ threads: backendInfo()?.threads, hash })}\n`);
