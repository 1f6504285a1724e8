/**
 * The page's tfjs backend: webgpu where the browser has an adapter, else webgl, else wasm (`?backend=` forces one).
 * Every backend that was tried and refused is reported with its reason, so the page can say e.g. "WebGL
 * unavailable — using wasm".
 */
import { tf } from '@clip-senet/core/browser';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';

/** The chosen backend and what was refused on the way. */
export interface BackendChoice {
  readonly name: string;
  readonly refused: readonly string[];
}

/** The order tried. */
export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm'] as const;

function webglProblem(): string | undefined {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  return gl ? undefined : 'WebGL unavailable: the browser gives no WebGL context';
}

async function webgpuProblem(): Promise<string | undefined> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'WebGPU unavailable: navigator.gpu is not defined in this browser';
  try {
    return (await gpu.requestAdapter()) ? undefined : 'WebGPU unavailable: no adapter';
  } catch (err) {
    return `WebGPU unavailable: ${(err as Error).message}`;
  }
}

async function tryBackend(name: string): Promise<string | undefined> {
  const pre = name === 'webgpu' ? await webgpuProblem() : name === 'webgl' ? webglProblem() : undefined;
  if (pre) return pre;
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return `${name} failed to initialise`;
    await tf.ready();
    return undefined;
  } catch (err) {
    return `${name} failed to initialise: ${(err as Error).message}`;
  }
}

/** Pick and initialise the backend (`forced`: only that one). */
export async function chooseBackend(forced: string | null): Promise<BackendChoice> {
  setWasmPaths(new URL('wasm/', location.href).href);
  const order = forced ? [forced] : [...BACKEND_ORDER];
  const refused: string[] = [];
  for (const name of order) {
    if (!(BACKEND_ORDER as readonly string[]).includes(name)) {
      refused.push(`unknown backend '${name}' (expected ${BACKEND_ORDER.join(', ')})`);
      continue;
    }
    const problem = await tryBackend(name);
    if (problem === undefined) return { name, refused };
    refused.push(problem);
  }
  throw new Error(`no tfjs backend could be initialised: ${refused.join('; ')}`);
}
