/**
 * Test helpers: PyTorch parity fixtures (made by scripts/make_parity_fixtures.py) and tensor comparisons.
 */
import { fileURLToPath } from 'node:url';
import { readSafetensors, tf, toFloat32 } from '@clip-senet/core';

/** Absolute path of a file in packages/backbones/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** The tensors of `<name>` as float32 tfjs tensors (NCHW images become NHWC when `nhwc`). */
export function readFixtureTensors(name: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, t] of readSafetensors(fixturePath(name)).tensors) {
    if (t.dtype === 'I32' || t.dtype === 'I64') {
      out.set(k, tf.tensor(Int32Array.from(toFloat32(t)), t.shape, 'int32'));
      continue;
    }
    const x = tf.tensor(toFloat32(t), t.shape, 'float32');
    if (x.rank === 4) {
      out.set(k, tf.transpose(x, [0, 2, 3, 1])); // [N, C, H, W] → [N, H, W, C]
      x.dispose();
    } else out.set(k, x);
  }
  return out;
}

/** max |a − b| (shapes must match). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (!tf.util.arraysEqual(a.shape, b.shape)) throw new Error(`maxAbsDiff: shapes [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Raw float32 data (PyTorch layout) of every tensor in a fixture file. */
export function readFixtureRaw(name: string): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of readSafetensors(fixturePath(name)).tensors) out.set(k, { shape: t.shape, data: toFloat32(t) });
  return out;
}

/** max |a − b| / max(1, max |b|) over two equally long arrays. */
export function scaledMaxDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`scaledMaxDiff: lengths ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}
