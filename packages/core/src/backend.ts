/**
 * Backend selection.
 *
 * `auto` order: @tensorflow/tfjs-node-gpu → @tensorflow/tfjs-node (native libtensorflow; both are
 * optionalDependencies whose installers download libtensorflow and silently drop out where that
 * download is impossible) → webgpu on a hardware adapter (Dawn through Vulkan; see webgpu.ts) → wasm (XNNPACK +
 * SIMD, with the training-kernel fixes registered) → cpu. `webgpu` asked for by name also takes a software
 * adapter (Mesa llvmpipe through EGL, as in CI).
 * `CLIP_SENET_BACKEND` overrides the caller's preference. One log line names the choice and why.
 *
 * On wasm, the kernels of the optional @clip-senet/native addon (oneDNN conv forward/backward and matmul, plain native
 * loops for element-wise ops, reductions, BatchNorm, max-pool gradients, slices and the Adam update; see
 * kernels/native.ts) are registered on top when the addon was built at install; `CLIP_SENET_NATIVE=0` turns them
 * off, `CLIP_SENET_NATIVE_THREADS` sets oneDNN's thread count (default: the wasm thread count, so the two pools
 * never run more threads than the cores asked for), `CLIP_SENET_NATIVE_DEBUG=1` logs each kind of fallback.
 */
import { availableParallelism } from 'node:os';
import { tf } from './tf';
import { registerTrainingKernels, registerWebGPUKernels, type KernelPatchReport } from './kernels/index';
import type * as NativePackage from '@clip-senet/native';
import { isModuleNotFound } from './optional-module';
import { describeNativeKernels, registerNativeKernels, setNativeKernelsEnabled, setNativeWire } from './kernels/native';
import { initThreadedWasm } from './wasm-threads';
import { describeAdapter, pinnedDawnBackend, probeWebGPU, useWebGPU, webgpuDeviceFailure, type WebGPUAdapterSummary } from './webgpu';

/** A backend preference. `tensorflow` = the native tfjs-node(-gpu) backend. */
export type BackendPreference = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
/** The backend actually in use. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

const PREFERENCES: readonly BackendPreference[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Details of the last `initBackend` call. */
export interface BackendInfo {
  readonly name: BackendName;
  readonly reason: string;
  /** Native package providing the `tensorflow` backend, when used. */
  readonly nativePackage?: string;
  readonly kernels?: KernelPatchReport;
  /** XNNPACK threads of the wasm backend (1 when single-threaded or not wasm). */
  readonly threads: number;
  /** The oneDNN kernels on wasm: whether active, and why (absent for other backends). */
  readonly native?: NativeKernelStatus;
  /** The WebGPU adapter in use (webgpu only). */
  readonly webgpu?: WebGPUAdapterSummary;
  /**
   * What produced the numbers, for provenance records: the backend name, plus `+onednn` when the native kernels
   * are active (`wasm+onednn`), `+software` on a software WebGPU adapter (`webgpu+software`).
   */
  readonly provenance: string;
}

/** Whether the oneDNN kernels are active on wasm, and the facts the start-up line reports. */
export interface NativeKernelStatus {
  readonly active: boolean;
  /** Why not (off by CLIP_SENET_NATIVE=0, not built, failed to load), or what is active. */
  readonly detail: string;
  readonly version?: string;
  /** The instruction set oneDNN dispatches to (e.g. `avx512_core_amx`, `avx2`). */
  readonly isa?: string;
  readonly threads?: number;
  readonly kernels?: readonly string[];
}

/** Options for `initBackend`. */
export interface InitBackendOptions {
  /** Where the one-line choice is logged; `null` silences it. Default: stderr. */
  readonly log?: ((line: string) => void) | null;
  /**
   * Environment to read `CLIP_SENET_BACKEND`, `CLIP_SENET_WASM_THREADS`, … and the WebGPU knobs
   * (`CLIP_SENET_DAWN_BACKEND`, `CLIP_SENET_DAWN_NODE`) from (default `process.env`).
   */
  readonly env?: Record<string, string | undefined>;
  /**
   * XNNPACK threads for the wasm backend (1–4). Default: `CLIP_SENET_WASM_THREADS`, else the number
   * of cores (max 4). Data-parallel training sets 1 per worker process.
   */
  readonly threads?: number;
  /** oneDNN threads for the native kernels. Default: `CLIP_SENET_NATIVE_THREADS`, else the wasm thread count. */
  readonly nativeThreads?: number;
}

const INSTALL_HELP =
  'Install it with `npm install @tensorflow/tfjs-node-gpu` (CUDA GPU) or `npm install @tensorflow/tfjs-node` (CPU). ' +
  'Their install scripts download libtensorflow; on a restricted network point TFJS_NODE_BASE_URI (or ' +
  'TFJS_NODE_CDN_STORAGE) at a mirror of the libtensorflow tarball. Without it, use --backend wasm.';

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;
let pendingKey: string | undefined;
let settled = false;

/** The backend chosen by the last `initBackend`, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

function parsePreference(value: string, source: string): BackendPreference {
  if ((PREFERENCES as readonly string[]).includes(value)) return value as BackendPreference;
  throw new Error(`${source}: unknown backend '${value}'; expected one of ${PREFERENCES.join(', ')}`);
}

async function tryNative(): Promise<{ pkg: string } | { errors: string[] }> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      if (tf.findBackend('tensorflow') != null) return { pkg };
      errors.push(`${pkg} loaded but registered no 'tensorflow' backend`);
    } catch (err) {
      errors.push(isModuleNotFound(err, pkg) ? `${pkg} not installed` : `${pkg} failed to load (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return { errors };
}

/**
 * tfjs-backend-wasm's emscripten glue installs process-wide uncaughtException/unhandledRejection
 * handlers that rethrow (an unhandled rejection then dies with the bare message `undefined`). We
 * remove exactly the handlers it added, restoring Node's own reporting.
 */
async function withoutNewProcessHandlers<T>(fn: () => Promise<T>): Promise<T> {
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string): Array<(...args: unknown[]) => void> =>
    process.listeners(e as 'uncaughtException') as Array<(...args: unknown[]) => void>;
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  try {
    return await fn();
  } finally {
    for (const e of events) {
      for (const l of listeners(e)) {
        if (!before.get(e)!.has(l)) process.removeListener(e, l);
      }
    }
  }
}

/**
 * The cpu backend prints a multi-line "install the node backend" banner on first use. Our own log
 * line already names the backend and why, and the wasm backend uses cpu only for bridged kernels,
 * so the banner is suppressed (it is a one-shot flag on the backend instance).
 */
function quietCpuBackend(): void {
  const cpu = tf.findBackend('cpu') as (tf.KernelBackend & { firstUse?: boolean }) | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

/** Initialises wasm with `threads` XNNPACK threads (1 = the single-threaded SIMD build). */
async function useWasm(threads: number): Promise<string> {
  return withoutNewProcessHandlers(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    quietCpuBackend();
    let note = '';
    if (threads > 1) {
      try {
        const got = await initThreadedWasm(threads);
        return `${got} threads`;
      } catch (err) {
        note = ` (threaded build failed: ${(err as Error).message}; single-threaded)`;
      }
    }
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    await tf.ready();
    return `1 thread${note}`;
  });
}

type NativeModule = typeof NativePackage;
const NATIVE_PACKAGE = '@clip-senet/native';
let nativeModule: Promise<NativeModule | string> | undefined;

/**
 * The optional peer `@clip-senet/native`, imported on first use (never at module load, so core works where it is not
 * installed), or one line saying why it is not there.
 */
function importNative(): Promise<NativeModule | string> {
  nativeModule ??= (import(/* @vite-ignore */ NATIVE_PACKAGE) as Promise<NativeModule>).then(
    (m) => {
      setNativeWire(m);
      return m;
    },
    (err: unknown) =>
      isModuleNotFound(err, NATIVE_PACKAGE)
        ? `${NATIVE_PACKAGE} not installed (npm install ${NATIVE_PACKAGE}: it builds its oneDNN addon where g++ and libdnnl-dev are present)`
        : `${NATIVE_PACKAGE} failed to load (${(err as Error).message.split('\n')[0]})`,
  );
  return nativeModule;
}

/** The loaded oneDNN addon, or the line saying why there is none (off by `CLIP_SENET_NATIVE=0`, absent, unloadable). */
async function loadAddon(wanted: boolean): Promise<Extract<ReturnType<NativeModule["loadNative"]>, { ok: true }> | { readonly ok: false; readonly detail: string }> {
  if (!wanted) return { ok: false, detail: 'native kernels off (CLIP_SENET_NATIVE=0)' };
  const native = await importNative();
  if (typeof native === 'string') return { ok: false, detail: `native kernels unavailable: ${native}` };
  const load = native.loadNative();
  return load.ok ? load : { ok: false, detail: `native kernels unavailable: ${load.reason}` };
}

/** Registers (or re-enables) the oneDNN kernels on wasm unless `CLIP_SENET_NATIVE=0`; never throws. */
async function nativeKernels(wanted: boolean, threads: number | undefined, debug: boolean): Promise<NativeKernelStatus> {
  if (!wanted) setNativeKernelsEnabled(false);
  const load = await loadAddon(wanted);
  if (!load.ok) return { active: false, detail: load.detail };
  try {
    const n = load.binding.setThreads(threads ?? wasmThreads());
    const kernels = registerNativeKernels(load.binding, { debug });
    setNativeKernelsEnabled(true);
    const { version, isa } = load.info;
    return { active: true, version, isa, threads: n, kernels, detail: `oneDNN ${version} kernels (${isa}, ${n} thread${n === 1 ? '' : 's'}) — ${describeNativeKernels(kernels)}` };
  } catch (err) {
    return { active: false, detail: `native kernels unavailable: ${(err as Error).message.split('\n')[0]}` };
  }
}

/**
 * Whether the oneDNN kernels would be active on wasm in a process started with `env`, without selecting a backend
 * or registering anything — for a parent process (the ablation runner) that tells the user up front how its
 * children will train. Same loading and the same reasons as `initBackend`.
 */
export async function probeNativeKernels(env: Record<string, string | undefined> = process.env): Promise<{ readonly active: boolean; readonly detail: string }> {
  const load = await loadAddon(env.CLIP_SENET_NATIVE !== '0');
  return load.ok ? { active: true, detail: `oneDNN ${load.info.version} kernels (${load.info.isa})` } : { active: false, detail: load.detail };
}

interface NativeChoice {
  readonly wanted: boolean;
  readonly threads: number | undefined;
  readonly debug: boolean;
}

async function withNative(info: Omit<BackendInfo, 'provenance' | 'native'>, choice: NativeChoice): Promise<BackendInfo> {
  const native = await nativeKernels(choice.wanted, choice.threads, choice.debug);
  return { ...info, native, reason: `${info.reason}; ${native.detail}`, provenance: native.active ? 'wasm+onednn' : 'wasm' };
}

let webgpuAdapter: WebGPUAdapterSummary | undefined;

/**
 * Makes webgpu the backend, or says in one line why not. `hardwareOnly` (auto) refuses software adapters. A webgpu
 * backend set up earlier in this process is reused (its device holds the tensors made on it).
 */
async function tryWebGPU(hardwareOnly: boolean, env: Record<string, string | undefined>, log: LogLine): Promise<BackendInfo | { reason: string }> {
  // A lost device is replaced by a new one (its tensors are gone with it).
  if (!webgpuAdapter || tf.findBackend('webgpu') == null || webgpuDeviceFailure() !== undefined || (hardwareOnly && webgpuAdapter.software)) {
    const probe = await probeWebGPU({ hardwareOnly, env });
    if (!probe.ok) return { reason: probe.reason };
    try {
      await useWebGPU(probe.gpuAdapter, (line) => (log ?? stderrLine)(line));
    } catch (err) {
      return { reason: `${describeAdapter(probe.adapter)} failed to start (${(err as Error).message.split('\n')[0]})` };
    }
    webgpuAdapter = probe.adapter;
  } else if (!(await tf.setBackend('webgpu'))) {
    return { reason: 'the webgpu backend failed to initialise' };
  }
  quietCpuBackend();
  const a = webgpuAdapter;
  const kernels = registerWebGPUKernels();
  const why = hardwareOnly ? 'auto: a hardware adapter' : `requested webgpu${a.software ? '; a software adapter, slow: for tests and checks' : ''}`;
  return { name: 'webgpu', kernels, threads: 1, webgpu: a, provenance: a.software ? 'webgpu+software' : 'webgpu', reason: `${why}: ${describeAdapter(a)}; training kernels registered` };
}

type LogLine = ((line: string) => void) | null | undefined;
const stderrLine = (line: string): void => void process.stderr.write(`${line}\n`);

async function select(preference: BackendPreference, threads: number, native: NativeChoice, env: Record<string, string | undefined>, log: LogLine): Promise<BackendInfo> {
  if (preference === 'webgpu') {
    const got = await tryWebGPU(false, env, log);
    if (!('name' in got)) throw new Error(`Backend 'webgpu' requested but unavailable: ${got.reason}`);
    return got;
  }
  if (preference === 'tensorflow' || preference === 'auto') {
    const tfNode = await tryNative();
    if ('pkg' in tfNode) {
      await tf.setBackend('tensorflow');
      await tf.ready();
      return { name: 'tensorflow', nativePackage: tfNode.pkg, threads: 1, provenance: 'tensorflow', reason: `${preference}: ${tfNode.pkg} is installed` };
    }
    if (preference === 'tensorflow') {
      throw new Error(`Backend 'tensorflow' requested but unavailable (${tfNode.errors.join('; ')}). ${INSTALL_HELP}`);
    }
    const gpu = await tryWebGPU(true, env, log);
    if ('name' in gpu) return gpu;
    try {
      const how = await useWasm(threads);
      const kernels = registerTrainingKernels('wasm');
      return await withNative({ name: 'wasm', kernels, threads: wasmThreads(), reason: `auto: ${tfNode.errors.join(', ')}; webgpu: ${gpu.reason}; wasm SIMD, ${how}, training kernels registered` }, native);
    } catch (err) {
      const kernels = registerTrainingKernels('cpu');
      await tf.setBackend('cpu');
      return { name: 'cpu', kernels, threads: 1, provenance: 'cpu', reason: `auto: no native backend, wasm failed (${(err as Error).message}); using plain-JS cpu` };
    }
  }
  if (preference === 'wasm') {
    const how = await useWasm(threads);
    return await withNative({ name: 'wasm', kernels: registerTrainingKernels('wasm'), threads: wasmThreads(), reason: `requested wasm; SIMD, ${how}, training kernels registered` }, native);
  }
  const kernels = registerTrainingKernels('cpu');
  quietCpuBackend();
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  return { name: 'cpu', kernels, threads: 1, provenance: 'cpu', reason: 'requested cpu (plain JS; slow, for reference and debugging)' };
}

function resolveThreads(option: number | undefined, fromEnv: string | undefined): number {
  const raw = option ?? (fromEnv ? Number(fromEnv) : Math.min(4, availableParallelism()));
  if (!Number.isInteger(raw) || raw < 1 || raw > 4) {
    throw new Error(`${option != null ? 'initBackend threads' : 'CLIP_SENET_WASM_THREADS'}: expected an integer 1–4, got ${option ?? fromEnv}`);
  }
  return raw;
}

function resolveNativeThreads(option: number | undefined, fromEnv: string | undefined): number | undefined {
  if (option == null && !fromEnv) return undefined;
  const raw = option ?? Number(fromEnv);
  if (!Number.isInteger(raw) || raw < 1 || raw > 256) {
    throw new Error(`${option != null ? 'initBackend nativeThreads' : 'CLIP_SENET_NATIVE_THREADS'}: expected an integer 1–256, got ${option ?? fromEnv}`);
  }
  return raw;
}

function wasmThreads(): number {
  const backend = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  return backend.wasm?.tfjs?.getThreadsCount?.() ?? 1;
}

/**
 * Selects and initialises the tfjs backend; returns the backend actually in use.
 * `CLIP_SENET_BACKEND` (auto | tensorflow | webgpu | wasm | cpu) overrides `preference`.
 */
export async function initBackend(preference: BackendPreference = 'auto', options: InitBackendOptions = {}): Promise<BackendName> {
  const env = options.env ?? process.env;
  const fromEnv = env.CLIP_SENET_BACKEND;
  const pref = fromEnv ? parsePreference(fromEnv, 'CLIP_SENET_BACKEND') : parsePreference(preference, 'initBackend');
  const threads = resolveThreads(options.threads, env.CLIP_SENET_WASM_THREADS);
  const native: NativeChoice = {
    wanted: env.CLIP_SENET_NATIVE !== '0',
    threads: resolveNativeThreads(options.nativeThreads, env.CLIP_SENET_NATIVE_THREADS),
    debug: env.CLIP_SENET_NATIVE_DEBUG === '1',
  };
  pinnedDawnBackend(env);
  const key = `${pref}|${native.wanted}|${native.threads ?? ''}|${env.CLIP_SENET_DAWN_BACKEND ?? ''}|${env.CLIP_SENET_DAWN_NODE ?? ''}`;
  const log = options.log === undefined ? stderrLine : options.log;
  const lost = current?.name === 'webgpu' && webgpuDeviceFailure() !== undefined;
  if (current && pendingKey === key && tf.getBackend() === current.name && !lost) return current.name;
  // A settled choice whose backend was switched away from since (tf.setBackend), or whose GPU device was lost, is made again.
  const stale = settled && current !== undefined && (tf.getBackend() !== current.name || lost);
  if (!pending || pendingKey !== key || stale) {
    pendingKey = key;
    settled = false;
    const p = select(pref, threads, native, env, log);
    pending = p;
    const done = (): void => {
      if (pending === p) settled = true;
    };
    p.then(done, done);
  }
  try {
    current = await pending;
  } catch (err) {
    pending = undefined;
    pendingKey = undefined;
    throw err;
  }
  log?.(`[clip-senet] backend: ${current.name}${fromEnv ? ' (CLIP_SENET_BACKEND)' : ''} — ${current.reason}`);
  return current.name;
}
