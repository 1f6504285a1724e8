/**
 * Test helpers shared by the packages' tests (`@clip-senet/core/testing`): a directional finite-difference
 * gradient check, the message of an expected error, temporary folders.
 * Independent of tfjs autodiff: the numeric side only evaluates the scalar function.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Rng } from './rng';
import { tf } from './tf';

/** One variable's check: analytic directional derivative vs central finite difference. */
export interface GradCheckResult {
  readonly name: string;
  readonly analytic: number;
  readonly numeric: number;
  /** |analytic − numeric| / max(|analytic|, |numeric|, atol). */
  readonly relError: number;
}

/**
 * For each variable v: draw a random unit direction d (from `rng`), compare `⟨∇_v f, d⟩` (tfjs autodiff) with
 * `(f(v + εd) − f(v − εd)) / 2ε`. Variables are restored afterwards. Float32: use ε ≈ 1e-2.
 */
export function gradCheck(f: () => tf.Scalar, vars: ReadonlyMap<string, tf.Variable>, rng: Rng, eps = 1e-2, atol = 1e-3): GradCheckResult[] {
  const list = [...vars.values()];
  const { value, grads } = tf.variableGrads(f, list);
  value.dispose();
  const results: GradCheckResult[] = [];
  for (const [name, v] of vars) {
    const dir = new Float32Array(v.size);
    let norm = 0;
    for (let i = 0; i < dir.length; i++) {
      dir[i] = rng.normal();
      norm += dir[i] * dir[i];
    }
    for (let i = 0; i < dir.length; i++) dir[i] /= Math.sqrt(norm);
    const d = tf.tensor(dir, v.shape);
    const g = grads[v.name];
    const analytic = g ? tf.tidy(() => tf.sum(tf.mul(g, d)).dataSync()[0]!) : 0;
    const v0 = tf.clone(v);
    const evalAt = (sign: number): number => {
      tf.tidy(() => v.assign(tf.add(v0, tf.mul(d, sign * eps))));
      return tf.tidy(() => f().dataSync()[0]!);
    };
    const numeric = (evalAt(1) - evalAt(-1)) / (2 * eps);
    v.assign(v0);
    tf.dispose([v0, d]);
    const relError = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), atol);
    results.push({ name, analytic, numeric, relError });
  }
  tf.dispose(Object.values(grads));
  return results;
}

/** Plain-array values of a tensor (for hand-computed comparisons). */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** The message of the error `fn` throws (a test failure when it returns instead). */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

/** Temporary folders for a test file: `make()` creates one under the OS temp dir, `removeAll()` deletes them all. */
export function tempDirs(prefix: string): { make(): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    removeAll() {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Largest absolute difference over the largest reference magnitude (at least 1): a scale-aware kernel parity error. */
export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`maxRelErr: ${got.length} values vs ${want.length} expected`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst / scale;
}

