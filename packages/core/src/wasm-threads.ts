/**
 * Multi-threaded wasm (XNNPACK thread pool) under Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD build but disables it under Node (tfjs issue #3830) because
 * its emscripten glue hands Node's `Worker` a `blob:` URL, which Node cannot load, and because the
 * pool size comes from `emscripten_num_logical_cores() / 2`. We make it work without modifying
 * the package:
 *   1. while the module initialises, `worker_threads.Worker` is a subclass that runs the glue's
 *      worker source (exported by the package as `wasmWorkerContents`) with `eval: true`, and hands
 *      workers the on-disk path of the threaded factory instead of a Blob;
 *   2. `os.cpus()` reports 2 × `threads` entries for the duration of the initialisation, so the
 *      backend's pool gets `threads` threads (the backend caps it at 4);
 *   3. afterwards the pthread workers are `unref()`ed so they never keep the process alive.
 * XNNPACK splits work over output tiles, so results do not depend on the thread count (tested).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as OsModule from 'node:os';
import type * as WorkerThreadsModule from 'node:worker_threads';
import type { Transferable, WorkerOptions } from 'node:worker_threads';
import { tf } from './tf';

const require = createRequire(import.meta.url);

interface EmscriptenWorker {
  unref(): void;
}
interface WasmBackendInternals {
  wasm: { PThread?: { unusedWorkers: EmscriptenWorker[]; runningWorkers: EmscriptenWorker[] } };
}

/** Initialises the wasm backend with `threads` XNNPACK threads; returns the count in effect. */
export async function initThreadedWasm(threads: number): Promise<number> {
  const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const workerSource = (require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string })
    .wasmWorkerContents.replace(/\n/g, '\\n'); // same escaping tfjs applies before making its Blob
  const factoryPath = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');

  const workerThreads = require('node:worker_threads') as typeof WorkerThreadsModule;
  const os = require('node:os') as typeof OsModule;
  const OriginalWorker = workerThreads.Worker;
  const originalCpus = os.cpus;

  class NodeCompatibleWorker extends OriginalWorker {
    constructor(file: string | URL, options?: WorkerOptions) {
      const isBlob = String(file).startsWith('blob:');
      super(isBlob ? workerSource : file, isBlob ? { ...options, eval: true } : options);
    }
    override postMessage(message: unknown, transfer?: readonly Transferable[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      const fixed = m?.cmd === 'load' && typeof m.urlOrBlob !== 'string' ? { ...m, urlOrBlob: factoryPath } : message;
      super.postMessage(fixed, transfer);
    }
  }

  (workerThreads as { Worker: unknown }).Worker = NodeCompatibleWorker;
  os.cpus = () => {
    const cpus = originalCpus();
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]!);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('threaded wasm initialisation failed');
    await tf.ready();
  } finally {
    (workerThreads as { Worker: unknown }).Worker = OriginalWorker;
    os.cpus = originalCpus;
  }
  const internals = tf.backend() as unknown as WasmBackendInternals;
  const pthread = internals.wasm.PThread;
  if (pthread == null) throw new Error('threaded wasm initialised without a pthread pool');
  for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) w.unref();
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  return getThreadsCount();
}
