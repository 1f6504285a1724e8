/**
 * Bicubic resampling of the CLIP position-embedding grid for other input sizes, matching PyTorch's
 * `F.interpolate(mode='bicubic', align_corners=False)` exactly. Resampling is separable, so it is
 * expressed as two constant matrices `R_h [oh, ih]`, `R_w [ow, iw]`: `out = R_h · grid · R_wᵀ`, which
 * keeps the interpolated embedding differentiable with respect to the learned grid.
 *
 * - `antialias: false` (PyTorch default): Keys cubic with A = -0.75, source index
 *   `(i + 0.5)·in/out − 0.5`, out-of-range taps clamped to the border.
 * - `antialias: true` (open_clip's `resize_pos_embed` default): PyTorch's `_upsample_bicubic2d_aa`, the
 *   PIL-style filter with a = -0.5, support widened by the scale when downsampling, weights normalised.
 */
import { tf } from '@clip-senet/core';

function cubic1(x: number, a: number): number {
  return ((a + 2) * x - (a + 3)) * x * x + 1; // |x| ≤ 1
}
function cubic2(x: number, a: number): number {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; // 1 < |x| < 2
}

/** Row-stochastic `[out, in]` matrix of PyTorch's (non-antialiased) bicubic resampling. */
export function bicubicMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  const A = -0.75;
  for (let i = 0; i < outSize; i++) {
    const real = scale * (i + 0.5) - 0.5;
    const idx = Math.floor(real);
    const t = real - idx;
    const w = [cubic2(t + 1, A), cubic1(t, A), cubic1(1 - t, A), cubic2(2 - t, A)];
    for (let k = 0; k < 4; k++) {
      const j = Math.min(Math.max(idx - 1 + k, 0), inSize - 1);
      m[i * inSize + j]! += w[k]!;
    }
  }
  return m;
}

function aaFilter(x: number): number {
  const a = -0.5;
  const ax = Math.abs(x);
  if (ax < 1) return cubic1(ax, a);
  if (ax < 2) return cubic2(ax, a);
  return 0;
}

/** `[out, in]` matrix of PyTorch's antialiased bicubic resampling (`antialias=True`). */
export function bicubicAntialiasMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  const support = 2 * (scale >= 1 ? scale : 1);
  const invscale = scale >= 1 ? 1 / scale : 1;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const ws: number[] = [];
    let total = 0;
    for (let j = xmin; j < xmax; j++) {
      const w = aaFilter((j - center + 0.5) * invscale);
      ws.push(w);
      total += w;
    }
    ws.forEach((w, k) => {
      m[i * inSize + xmin + k] = total !== 0 ? w / total : 0;
    });
  }
  return m;
}

/**
 * Resample a `[gh·gw, D]` row-major grid of embeddings to `[oh·ow, D]` (differentiable in `grid`).
 */
export function resizeGrid(grid: tf.Tensor2D, from: [number, number], to: [number, number], antialias = false): tf.Tensor2D {
  const [gh, gw] = from;
  const [oh, ow] = to;
  if (gh === oh && gw === ow) return grid;
  const make = antialias ? bicubicAntialiasMatrix : bicubicMatrix;
  return tf.tidy(() => {
    const d = grid.shape[1];
    const rh = tf.tensor2d(make(gh, oh), [oh, gh]);
    const rw = tf.tensor2d(make(gw, ow), [ow, gw]);
    const g3 = tf.reshape(grid, [gh, gw * d]); // [gh·gw, D] → [gh, gw·D]
    const rows = tf.reshape(tf.matMul(rh, g3), [oh, gw, d]); // [oh, gw·D] → [oh, gw, D]
    const t = tf.reshape(tf.transpose(rows, [1, 0, 2]), [gw, oh * d]); // [oh, gw, D] → [gw, oh, D] → [gw, oh·D]
    const cols = tf.reshape(tf.matMul(rw, t), [ow, oh, d]); // [ow, oh·D] → [ow, oh, D]
    return tf.reshape(tf.transpose(cols, [1, 0, 2]), [oh * ow, d]); // [ow, oh, D] → [oh, ow, D] → [oh·ow, D]
  });
}
