/**
 * Test helpers for the webgpu backend (issue 14), shared by core's and backbones' webgpu tests.
 *
 * `webgpuForTests()` starts webgpu as `CLIP_SENET_BACKEND=webgpu` would: on a machine without a GPU that is Mesa's
 * llvmpipe through EGL (CI installs it), and the tests print that they ran on the software adapter. Where no adapter
 * exists at all, the suites assert the clear "no adapter" line and the fall back of `auto` instead — never a silent
 * skip — and `CLIP_SENET_REQUIRE_WEBGPU=1` (CI) turns that into a failure naming the apt packages.
 */
import { tf } from './tf';
import { backendInfo, initBackend } from './backend';
import { Rng } from './rng';
import { describeAdapter, MESA_APT_PACKAGES, type WebGPUAdapterSummary } from './webgpu';

export { loseWebGPUDeviceForTests } from './webgpu';

/** Whether the webgpu tests run on an adapter here, and which. */
export type WebGPUTestTarget =
  | { readonly available: true; readonly adapter: WebGPUAdapterSummary; readonly line: string }
  | { readonly available: false; readonly reason: string };

let target: Promise<WebGPUTestTarget> | undefined;

/** Environment for the tests: the caller's, with the backend forced to webgpu. */
function webgpuEnv(): Record<string, string | undefined> {
  return { ...process.env, CLIP_SENET_BACKEND: 'webgpu' };
}

/**
 * Starts webgpu once per process and says (on stderr) where the webgpu tests run. Throws when
 * `CLIP_SENET_REQUIRE_WEBGPU=1` and there is no adapter.
 */
export function webgpuForTests(): Promise<WebGPUTestTarget> {
  target ??= (async (): Promise<WebGPUTestTarget> => {
    const lines: string[] = [];
    try {
      await initBackend('webgpu', { env: webgpuEnv(), log: (l) => lines.push(l) });
      const adapter = backendInfo()!.webgpu!;
      process.stderr.write(`[webgpu tests] running on ${describeAdapter(adapter)}${adapter.software ? ' — the software adapter: no GPU used' : ''}\n`);
      return { available: true, adapter, line: lines[0]! };
    } catch (err) {
      const reason = (err as Error).message;
      if (process.env.CLIP_SENET_REQUIRE_WEBGPU === '1') {
        const apt = reason.includes('apt-get install') ? '' : ` (CI: apt-get install ${MESA_APT_PACKAGES})`;
        throw new Error(`CLIP_SENET_REQUIRE_WEBGPU=1 but ${reason}${apt}`);
      }
      process.stderr.write(`[webgpu tests] no WebGPU adapter here, asserting the fall back instead: ${reason}\n`);
      return { available: false, reason };
    }
  })();
  return target;
}

/** Makes webgpu the backend again (after a test switched to cpu). */
export async function useWebGPUForTests(): Promise<void> {
  await initBackend('webgpu', { env: webgpuEnv(), log: null });
}

/** Makes `backend` current: webgpu as the tests started it, or cpu / wasm with the training kernels registered. */
export async function onBackend(backend: 'webgpu' | 'cpu' | 'wasm'): Promise<void> {
  if (backend === 'webgpu') await useWebGPUForTests();
  else await initBackend(backend, { env: {}, threads: 1, log: null });
}

/** Plain values of a tensor, kept off any backend so both backends can rebuild it. */
export interface HostTensor {
  readonly values: Float32Array;
  readonly shape: number[];
}

/** Normal values from a seeded Rng, off any backend (identical inputs for webgpu and cpu). */
export function hostNormal(shape: number[], seed: number, scale = 1): HostTensor {
  const rng = new Rng(seed);
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal(0, scale));
  return { values, shape };
}

/** max |a − b| / max(|b|, 1e-6): the relative error used by every parity check. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/** The output of `f(inputs)` on `backend` and the gradient of a fixed weighted sum of it with respect to every input. */
export async function forwardAndGradients(backend: 'webgpu' | 'cpu' | 'wasm', f: (xs: tf.Tensor[]) => tf.Tensor, inputs: readonly HostTensor[]): Promise<Float32Array[]> {
  await onBackend(backend);
  const outs = tf.tidy(() => {
    const xs = inputs.map((t) => tf.tensor(t.values, t.shape));
    const y = f(xs);
    // A weighted sum (not a plain sum or sum of squares, whose gradients vanish through normalisations).
    const r = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(1.7 * i + 0.3)), y.shape);
    const gs = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(a), r)))(xs);
    return [y, ...gs];
  });
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return values;
}

/** Relative errors of webgpu against cpu: the forward output first, then each input's gradient. */
export async function webgpuVsCpu(f: (xs: tf.Tensor[]) => tf.Tensor, inputs: readonly HostTensor[]): Promise<number[]> {
  const gpu = await forwardAndGradients('webgpu', f, inputs);
  const cpu = await forwardAndGradients('cpu', f, inputs);
  return gpu.map((v, i) => relativeError(v, cpu[i]!));
}

/** A module built on the current backend for {@link moduleParity}: the same seeded weights on every backend. */
export interface ParityModule {
  /** Every tensor whose gradient is compared (parameters, and inputs made variables), by name. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** State the forward updates (BatchNorm running statistics), compared after it. */
  readonly buffers?: ReadonlyMap<string, tf.Tensor>;
  /** One training-mode forward; its output is compared and a fixed weighted sum of it is differentiated. */
  forward(): tf.Tensor;
  dispose(): void;
}

/** The output, every variable's gradient (`grad:<name>`) and every buffer after the forward, on `backend`. */
export async function moduleValues(backend: 'webgpu' | 'cpu' | 'wasm', build: () => ParityModule): Promise<{ values: Map<string, Float32Array>; leaked: number }> {
  await onBackend(backend);
  const before = tf.memory().numTensors;
  const m = build();
  let output: tf.Tensor | undefined;
  const vars = [...m.variables];
  const { value, grads } = tf.variableGrads(() => {
    const y = m.forward();
    output = tf.keep(y);
    const r = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(1.7 * i + 0.3)), y.shape);
    return tf.sum(tf.mul(y, r)) as tf.Scalar;
  }, vars.map(([, v]) => v));
  const named: Array<[string, tf.Tensor]> = [['output', output!]];
  for (const [name, v] of vars) if (grads[v.name]) named.push([`grad:${name}`, grads[v.name]!]);
  for (const [name, b] of m.buffers ?? []) named.push([`buffer:${name}`, b]);
  const read = await Promise.all(named.map(([, t]) => t.data() as Promise<Float32Array>));
  const values = new Map(named.map(([name], i) => [name, Float32Array.from(read[i]!)]));
  tf.dispose([value, output!, ...Object.values(grads)]);
  m.dispose();
  return { values, leaked: tf.memory().numTensors - before };
}

/** What {@link moduleParity} found: the relative error per compared name, the worst and where, leaks per backend. */
export interface ParityReport {
  readonly names: readonly string[];
  readonly errors: ReadonlyMap<string, number>;
  readonly worst: { readonly name: string; readonly error: number };
  readonly leaked: { readonly webgpu: number; readonly cpu: number };
  /** Names present on one backend only (a gradient that reached a variable on one of them). */
  readonly mismatchedNames: readonly string[];
}

/** max |x|. */
function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/**
 * `build` on webgpu and on cpu: output, gradients and buffers compared by relative error — max |webgpu − cpu| over
 * max |cpu| of the tensor, but never over less than 1e-3 of the module's largest gradient: a gradient that is zero
 * in exact arithmetic (a bias right before a training-mode BatchNorm) is rounding noise on both backends, and noise
 * over noise says nothing.
 */
export async function moduleParity(build: () => ParityModule): Promise<ParityReport> {
  const gpu = await moduleValues('webgpu', build);
  const cpu = await moduleValues('cpu', build);
  const names = [...cpu.values.keys()];
  const mismatchedNames = [...new Set([...gpu.values.keys(), ...names])].filter((k) => !gpu.values.has(k) || !cpu.values.has(k));
  const gradScale = Math.max(0, ...names.filter((k) => k.startsWith('grad:')).map((k) => maxAbs(cpu.values.get(k)!)));
  const errors = new Map<string, number>();
  let worst = { name: '', error: -1 };
  for (const k of names) {
    const g = gpu.values.get(k);
    if (!g) continue;
    const ref = cpu.values.get(k)!;
    const floor = k.startsWith('grad:') ? 1e-3 * gradScale : 0;
    const error = relativeError(g, ref) * (Math.max(maxAbs(ref), 1e-6) / Math.max(maxAbs(ref), floor, 1e-6));
    errors.set(k, error);
    if (Number.isNaN(worst.error)) continue; // a NaN is the worst there is
    if (Number.isNaN(error) || error > worst.error) worst = { name: k, error };
  }
  return { names, errors, worst, leaked: { webgpu: gpu.leaked, cpu: cpu.leaked }, mismatchedNames };
}

/** The line `CLIP_SENET_BACKEND=webgpu` must fail with where no adapter exists (naming the apt packages). */
export const NO_ADAPTER_LINE = new RegExp(`^Backend 'webgpu' requested but unavailable: no WebGPU adapter \\(.+\\); for a software adapter: apt-get install ${MESA_APT_PACKAGES}$`);

/** The parts of the test runner a webgpu suite uses, passed in (vitest's) so that this module imports no runner. */
export interface WebGPUSuiteApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => void): void;
  expect(value: unknown): { toMatch(pattern: RegExp): void };
}

/**
 * A webgpu test suite: where an adapter exists, `body` declares the tests (`where` reads "the software adapter" or
 * "a hardware adapter" for their titles); where none does, the suite is one test asserting {@link NO_ADAPTER_LINE}.
 */
export function describeOnWebGPU(
  api: WebGPUSuiteApi,
  title: string,
  target: WebGPUTestTarget,
  body: (on: { readonly where: string; readonly adapter: WebGPUAdapterSummary; readonly line: string }) => void,
): void {
  api.describe(title, () => {
    if (!target.available) {
      api.it('no adapter here: asserts the clear fall back line instead', () => api.expect(target.reason).toMatch(NO_ADAPTER_LINE));
      return;
    }
    body({ where: target.adapter.software ? 'the software adapter' : 'a hardware adapter', adapter: target.adapter, line: target.line });
  });
}
