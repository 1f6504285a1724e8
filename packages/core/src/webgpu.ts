/**
 * WebGPU in Node (issue 14): Dawn from the npm package `webgpu` (the binary ships in its tarball) under
 * `@tensorflow/tfjs-backend-webgpu`. Every piece of Dawn / EGL / Vulkan set-up lives here:
 *
 * | step | what |
 * |---|---|
 * | Dawn binary | `webgpu`'s `dist/<platform>-<arch>/dawn.node`, or `CLIP_SENET_DAWN_NODE=<path to a dawn.node>` |
 * | Dawn backend | `vulkan` (hardware GPUs; needs the loader `libvulkan.so.1`), then `opengles` through EGL (Mesa's llvmpipe in CI; needs `libEGL.so.1`); `CLIP_SENET_DAWN_BACKEND=vulkan\|opengles` pins one |
 * | environment | `EGL_PLATFORM=surfaceless` unless set (no display server) |
 * | adapter | core feature level on Vulkan; `featureLevel: 'compatibility'` on OpenGL ES (Dawn offers GL adapters only there) |
 * | globals | Dawn's `GPUBufferUsage`, `GPUMapMode`, … on `globalThis`, and `navigator.gpu`, before the tfjs backend is imported |
 *
 * Software adapters (llvmpipe, lavapipe, SwiftShader) are usable when webgpu is asked for and never chosen by `auto`.
 * Mesa's lavapipe (software Vulkan) is rejected by Dawn itself; llvmpipe through EGL works.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isModuleNotFound } from './optional-module';
import { tf } from './tf';

/** The apt packages that give Dawn a software adapter (Mesa llvmpipe through EGL). */
export const MESA_APT_PACKAGES = 'libegl1 libgles2 libgl1-mesa-dri';

/** The adapter behind the webgpu backend, as the start-up line and provenance records name it. */
export interface WebGPUAdapterSummary {
  /** Dawn's backend: `vulkan` or `opengles`. */
  readonly dawnBackend: DawnBackend;
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader, or an adapter Dawn marks as fallback). */
  readonly software: boolean;
}

/** Result of `probeWebGPU`: an adapter, or one line saying why there is none. */
export type WebGPUProbe =
  | { readonly ok: true; readonly adapter: WebGPUAdapterSummary; readonly gpuAdapter: GpuAdapter }
  | { readonly ok: false; readonly reason: string; readonly adapter?: WebGPUAdapterSummary };

type DawnBackend = 'vulkan' | 'opengles';
const DAWN_BACKENDS: readonly DawnBackend[] = ['vulkan', 'opengles'];
const LOADERS: Record<DawnBackend, string> = { vulkan: 'libvulkan.so.1', opengles: 'libEGL.so.1' };
const SOFTWARE = /llvmpipe|softpipe|lavapipe|swiftshader|software/i;

interface GpuAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
/** The parts of a Dawn GPUAdapter used here. */
export interface GpuAdapter {
  readonly info: GpuAdapterInfo;
  readonly limits: Record<string, number>;
  readonly features: ReadonlySet<string>;
  requestDevice(descriptor?: unknown): Promise<GpuDevice>;
}
interface GpuDevice {
  readonly lost: Promise<{ reason: string; message: string }>;
  /** Validation and out-of-memory errors nobody captured (Dawn calls it synchronously, as the error happens). */
  onuncapturederror: ((event: { error: { message: string; constructor: { name: string } } }) => void) | null;
  destroy(): void;
}
interface Gpu {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapter | null>;
}
interface Dawn {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** Options of `probeWebGPU`. */
export interface WebGPUProbeOptions {
  /** `true` under `auto`: software adapters are refused, and only Dawn's Vulkan backend is tried. */
  readonly hardwareOnly: boolean;
  readonly env?: Record<string, string | undefined>;
}

/** Optional dependencies, imported by name so that core typechecks and runs where npm dropped them. */
const DAWN_PACKAGE = 'webgpu';
const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';
type WebGPUBackendClass = new (device: GpuDevice, adapterInfo?: GpuAdapterInfo) => tf.KernelBackend;

/** What a synchronous read on webgpu in Node says (tfjs reads through an OffscreenCanvas, which Node lacks). */
export const NO_SYNC_READ =
  'webgpu in Node cannot read a tensor synchronously (dataSync/arraySync/bufferSync): await tensor.data() or tensor.array() instead';

/**
 * A read from a webgpu device that can no longer be trusted: `lost` (driver reset, GPU gone, or
 * {@link loseWebGPUDeviceForTests}: everything on it is gone) or `kernel` (a kernel the device refused — a
 * validation error, e.g. more storage buffers than the device allows — or could not run for lack of memory: Dawn
 * then leaves the output unwritten, zeros rather than an error, so no value computed after it is trusted). The
 * message is one line; a trainer stops on it and names the checkpoint to resume from ({@link addNote}).
 */
export class WebGPUDeviceError extends Error {
  override readonly name = 'WebGPUDeviceError';
  constructor(
    readonly reason: 'lost' | 'kernel',
    message: string,
  ) {
    super(message);
  }

  /** Appends what the caller knows (e.g. the step and the checkpoint to resume from) to the one line. */
  addNote(note: string): this {
    this.message = `${this.message}; ${note}`;
    return this;
  }
}

/** The device the webgpu backend runs on, the line saying it was lost, and the first kernel it refused. */
let activeDevice: GpuDevice | undefined;
let lostLine: string | undefined;
let simulatedLoss = false;
let kernelFailure: string | undefined;

/**
 * The one line saying why the webgpu device cannot be used any more (lost, or a kernel failed on it), or undefined
 * while it works (or webgpu is not in use). `initBackend('webgpu')` then makes a new device.
 */
export function webgpuDeviceFailure(): string | undefined {
  return lostLine ?? kernelFailure;
}

/**
 * Test seam: loses the device as a driver reset would (it is destroyed and reported as lost, reads fail with a
 * {@link WebGPUDeviceError}). The next `initBackend('webgpu')` makes a new device.
 */
export function loseWebGPUDeviceForTests(): void {
  if (!activeDevice) throw new Error('loseWebGPUDeviceForTests: webgpu has no device in this process');
  simulatedLoss = true;
  activeDevice.destroy();
}

/** tfjs' WebGPUBackend with one clear error for synchronous reads of GPU data and for reads from a lost device. */
function nodeBackendClass(Base: WebGPUBackendClass): WebGPUBackendClass {
  return class NodeWebGPUBackend extends Base {
    override readSync(dataId: object): tf.BackendValues {
      try {
        return super.readSync(dataId);
      } catch (err) {
        if (err instanceof ReferenceError && err.message.includes('OffscreenCanvas')) throw new Error(NO_SYNC_READ);
        throw err;
      }
    }

    override async read(dataId: object): Promise<tf.BackendValues> {
      try {
        const values = await super.read(dataId);
        if (kernelFailure !== undefined) throw new WebGPUDeviceError('kernel', kernelFailure);
        return values;
      } catch (err) {
        if (err instanceof WebGPUDeviceError) throw err;
        // Dawn rejects the buffer mapping (with an empty message) once the device is gone; its lost promise may
        // settle a turn later.
        if (lostLine === undefined) await new Promise((resolve) => setImmediate(resolve));
        if (lostLine !== undefined) throw new WebGPUDeviceError('lost', lostLine);
        throw new Error(`webgpu: reading a tensor back failed (${firstLine(err) || 'no message from Dawn'})`);
      }
    }
  };
}

// hostValues lives in ./host-values (no Node import: the browser entry loads it); re-exported here for index.ts
export { hostValues } from './host-values';

/** Loaded Dawn modules by source (the `webgpu` package or a CLIP_SENET_DAWN_NODE path). */
const loaded = new Map<string, Dawn>();
/** Every Dawn instance made, kept for the process's life: one collected by GC takes its devices down (a segfault). */
const liveInstances: Gpu[] = [];

async function loadDawn(env: Record<string, string | undefined>): Promise<Dawn> {
  const path = env.CLIP_SENET_DAWN_NODE;
  const cached = loaded.get(path ?? DAWN_PACKAGE);
  if (cached) return cached;
  let dawn: Dawn;
  try {
    if (path) {
      // A dawn.node built elsewhere (e.g. a newer Dawn): the raw addon exports create() and globals.
      dawn = createRequire(import.meta.url)(path) as Dawn;
    } else {
      dawn = (await import(/* @vite-ignore */ DAWN_PACKAGE)) as Dawn;
    }
  } catch (err) {
    if (!path && isModuleNotFound(err, DAWN_PACKAGE)) {
      throw new Error('the optional package `webgpu` is not installed (npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0)');
    }
    throw new Error(`the Dawn binary ${path ?? "of package 'webgpu'"} failed to load (${firstLine(err)})`);
  }
  if (typeof dawn?.create !== 'function') throw new Error(`the Dawn binary ${path ?? "of package 'webgpu'"} failed to load (it exports no create())`);
  loaded.set(path ?? DAWN_PACKAGE, dawn);
  return dawn;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

/** Whether the dynamic loader can find `lib` (LD_LIBRARY_PATH, then the usual multiarch and lib directories). */
function findLibrary(lib: string, env: Record<string, string | undefined>): boolean {
  const triplet = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), `/usr/lib/${triplet}`, `/lib/${triplet}`, '/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib'];
  return dirs.some((d) => existsSync(`${d}/${lib}`));
}

function summarise(adapter: GpuAdapter, dawnBackend: DawnBackend): WebGPUAdapterSummary {
  const i = adapter.info;
  const vendor = i.vendor ?? '';
  const architecture = i.architecture ?? '';
  const device = (i.device ?? '').replace(/-+$/, '');
  const description = i.description ?? '';
  const software = i.isFallbackAdapter === true || SOFTWARE.test(`${device} ${description}`);
  return { dawnBackend, vendor, architecture, device, description, software };
}

/** `llvmpipe-llvm-15-0-6-256-bits (vendor unknown, architecture unknown; OpenGL ES 3.2 Mesa 22.3.6; Dawn opengles; software)`. */
export function describeAdapter(a: WebGPUAdapterSummary): string {
  const desc = a.description.replace(/^OpenGL version /, '');
  return `${a.device || 'unnamed adapter'} (vendor ${a.vendor || 'unknown'}, architecture ${a.architecture || 'unknown'}` +
    `${desc ? `; ${desc}` : ''}; Dawn ${a.dawnBackend}; ${a.software ? 'software' : 'hardware'})`;
}

/** `CLIP_SENET_DAWN_BACKEND`, validated (undefined when unset). Throws naming the variable. */
export function pinnedDawnBackend(env: Record<string, string | undefined>): DawnBackend | undefined {
  const pinned = env.CLIP_SENET_DAWN_BACKEND;
  if (!pinned) return undefined;
  if (!(DAWN_BACKENDS as readonly string[]).includes(pinned)) {
    throw new Error(`CLIP_SENET_DAWN_BACKEND: unknown Dawn backend '${pinned}'; expected one of ${DAWN_BACKENDS.join(', ')}`);
  }
  return pinned as DawnBackend;
}

function dawnBackends(env: Record<string, string | undefined>, hardwareOnly: boolean): readonly DawnBackend[] {
  const pinned = pinnedDawnBackend(env);
  if (pinned) return [pinned];
  // GL adapters in Node are (in practice) Mesa's llvmpipe: `auto` looks for hardware through Vulkan only.
  return hardwareOnly ? ['vulkan'] : DAWN_BACKENDS;
}

/**
 * Finds a WebGPU adapter through Dawn. Never throws for a missing or broken Dawn / loader / adapter: the result
 * then carries one line saying why (with the apt packages for a software adapter). Throws only for a bad
 * `CLIP_SENET_DAWN_BACKEND`.
 */
export async function probeWebGPU(options: WebGPUProbeOptions): Promise<WebGPUProbe> {
  const env = options.env ?? process.env;
  const backends = dawnBackends(env, options.hardwareOnly);
  const tried: string[] = [];
  let dawnLib: Dawn | undefined;
  let software: WebGPUAdapterSummary | undefined;
  for (const b of backends) {
    if (!findLibrary(LOADERS[b], env)) {
      tried.push(`${b}: no ${LOADERS[b]}`);
      continue;
    }
    if (b === 'opengles') process.env.EGL_PLATFORM ??= env.EGL_PLATFORM ?? 'surfaceless';
    try {
      dawnLib ??= await loadDawn(env);
    } catch (err) {
      return { ok: false, reason: firstLine(err) };
    }
    let adapter: GpuAdapter | null;
    let gpu: Gpu;
    try {
      gpu = dawnLib.create([`backend=${b}`]);
      liveInstances.push(gpu);
      adapter = await gpu.requestAdapter(b === 'opengles' ? { featureLevel: 'compatibility', powerPreference: 'high-performance' } : { powerPreference: 'high-performance' });
    } catch (err) {
      tried.push(`${b}: ${firstLine(err)}`);
      continue;
    }
    if (!adapter) {
      tried.push(`${b}: no adapter`);
      continue;
    }
    const summary = summarise(adapter, b);
    if (summary.software && options.hardwareOnly) {
      software = summary;
      tried.push(`${b}: ${describeAdapter(summary)} is a software adapter`);
      continue;
    }
    exposeGlobals(dawnLib, gpu, adapter);
    return { ok: true, adapter: summary, gpuAdapter: adapter };
  }
  const hint = options.hardwareOnly ? '; auto takes hardware adapters only' : `; for a software adapter: apt-get install ${MESA_APT_PACKAGES}`;
  return { ok: false, reason: `no WebGPU adapter (${tried.join('; ')})${hint}`, ...(software ? { adapter: software } : {}) };
}

/** Dawn's enums (`GPUBufferUsage`, …) and `navigator.gpu` as tfjs-backend-webgpu expects them, set before it is imported. */
function exposeGlobals(d: Dawn, instance: Gpu, adapter: GpuAdapter): void {
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(d.globals)) if (!(k in g)) g[k] = v;
  // navigator.gpu is the Dawn instance, answering with the adapter chosen here.
  const gpu = Object.assign(Object.create(instance) as object, { requestAdapter: async () => adapter });
  if (typeof g.navigator !== 'object' || g.navigator === null) g.navigator = {};
  Object.defineProperty(g.navigator as object, 'gpu', { value: gpu, configurable: true, writable: true });
}

/**
 * Creates the device on `adapter` and makes `webgpu` the tfjs backend. A device lost later (driver reset, GPU
 * fallen off the bus) is reported in one line through `onLost`.
 */
export async function useWebGPU(adapter: GpuAdapter, onLost: (line: string) => void): Promise<void> {
  const { WebGPUBackend } = (await import(/* @vite-ignore */ TFJS_WEBGPU_PACKAGE)) as { WebGPUBackend: WebGPUBackendClass };
  const limits = adapter.limits;
  const requiredLimits = Object.fromEntries(
    ['maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'].map((k) => [k, limits[k]]),
  );
  const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  activeDevice = device;
  lostLine = undefined;
  simulatedLoss = false;
  kernelFailure = undefined;
  device.onuncapturederror = (event) => {
    if (device !== activeDevice || kernelFailure !== undefined) return; // the first failure is the cause
    const kind = event.error.constructor.name === 'GPUOutOfMemoryError' ? 'out of GPU memory' : 'refused by the device';
    kernelFailure = `webgpu: a kernel was ${kind} (${firstLine(event.error)}); its output and everything computed after it are invalid, so nothing more is read from this device`;
  };  void device.lost.then((info) => {
    // `destroyed` is this process disposing the backend, unless a test simulates a loss that way
    if (device !== activeDevice || (info.reason === 'destroyed' && !simulatedLoss)) return;
    const why = simulatedLoss ? 'simulated by a test' : `${info.reason || 'unknown'}: ${info.message.split('\n')[0] || 'no message'}`;
    lostLine = `webgpu device lost (${why}); everything on it is gone`;
    onLost(`[clip-senet] ${lostLine}; results after this point are invalid`);
  });
  // Replace the package's own factory (which would ask navigator.gpu for a core-level adapter) with this device.
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  const Backend = nodeBackendClass(WebGPUBackend);
  tf.registerBackend('webgpu', () => new Backend(device, adapter.info), 1);
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to initialise on its device');
  await tf.ready();
}
