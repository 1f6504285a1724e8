/**
 * A data-parallel worker thread (see data-parallel.ts; started from `data-parallel-worker-entry.mjs`): builds the
 * replica from the recipe on its own single-threaded wasm backend, then for every step copies the shared weights
 * into the replica, computes its shard's gradients and writes them (and its updated buffers) to its shared `out`
 * block.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { initBackend } from '@clip-senet/core';
import type { BackendPreference, Variable } from '@clip-senet/core';
import { backendCopiesOnCreate, DATA_PARALLEL_WORKER_KIND, readVariables, replicaGradients, threadCpuMs, unpackPayload, writeVariables, type FromWorker, type Layout, type Replica, type ReplicaRecipe, type ToWorker } from './data-parallel-protocol';

interface Binding {
  readonly params: Layout;
  readonly buffers: Layout;
  readonly weights: Float32Array;
  readonly grads: Float32Array;
  readonly bufferOut: Float32Array;
}

function check(layout: Layout, vars: ReadonlyMap<string, Variable>, what: string): void {
  layout.names.forEach((name, i) => {
    const v = vars.get(name);
    if (!v) throw new Error(`the replica has no ${what} '${name}'`);
    if (v.size !== layout.sizes[i]) throw new Error(`${what} '${name}': replica has ${v.size} values, parent ${layout.sizes[i]}`);
  });
}

function bind(replica: Replica, m: Extract<ToWorker, { type: 'bind' }>): Binding {
  const buffers = replica.buffers ?? new Map<string, Variable>();
  check(m.params, replica.params, 'parameter');
  check(m.buffers, buffers, 'buffer');
  const weights = new Float32Array(m.weights);
  const out = new Float32Array(m.out);
  return {
    params: m.params, buffers: m.buffers,
    weights,
    grads: out.subarray(0, m.params.length),
    bufferOut: out.subarray(m.params.length, m.params.length + m.buffers.length),
  };
}

function step(replica: Replica, b: Binding, id: number, payload: unknown): FromWorker {
  const t0 = performance.now();
  readVariables(b.params, replica.params, b.weights.subarray(0, b.params.length));
  const buffers = replica.buffers ?? new Map<string, Variable>();
  readVariables(b.buffers, buffers, b.weights.subarray(b.params.length));
  const t1 = performance.now();
  const cpu0 = threadCpuMs();
  const has = new Uint8Array(b.params.names.length);
  const losses = replicaGradients(replica, payload, b.params, b.grads, has); // gradients straight into shared memory
  const t2 = performance.now();
  const computeCpu = threadCpuMs() - cpu0;
  writeVariables(b.buffers, buffers, b.bufferOut);
  const t3 = performance.now();
  return { type: 'done', id, has, losses, times: { assign: t1 - t0, compute: t2 - t1, computeCpu, pack: t3 - t2 } };
}

/**
 * Whether payload arrays must be copied out of the inbox: wasm copies a tensor's values into its heap on creation,
 * so views are safe there; other backends may keep the array itself, which the next step would overwrite.
 */
let copyPayload = true;

async function build(recipe: ReplicaRecipe, backend: BackendPreference): Promise<Replica> {
  await initBackend(backend, { log: null, threads: 1 });
  copyPayload = !backendCopiesOnCreate();
  const url = recipe.module.startsWith('file:') ? recipe.module : pathToFileURL(recipe.module).href;
  const mod = (await import(url)) as Record<string, (args: unknown) => Replica | Promise<Replica>>;
  const factory = mod[recipe.exportName];
  if (typeof factory !== 'function') throw new Error(`${recipe.module} has no export '${recipe.exportName}'`);
  return factory(recipe.args);
}

function run(recipe: ReplicaRecipe, backend: BackendPreference): void {
  const port = parentPort!;
  let binding: Binding | undefined;
  const replica = build(recipe, backend);
  replica.then(() => port.postMessage({ type: 'ready' } satisfies FromWorker), (err: Error) => port.postMessage({ type: 'error', message: err.stack ?? String(err) } satisfies FromWorker));
  port.on('message', (m: ToWorker) => {
    void replica.then((r) => {
      try {
        if (m.type === 'bind') {
          binding = bind(r, m);
          port.postMessage({ type: 'bound', id: m.id } satisfies FromWorker);
        } else port.postMessage(step(r, binding!, m.id, unpackPayload(m.payload, m.inbox, copyPayload)));
      } catch (err) {
        port.postMessage({ type: 'error', id: m.id, message: (err as Error).stack ?? String(err) } satisfies FromWorker);
      }
    }, () => undefined);
  });
}

const data = workerData as { kind?: string; recipe: ReplicaRecipe; backend: BackendPreference } | null;
if (!isMainThread && data?.kind === DATA_PARALLEL_WORKER_KIND) run(data.recipe, data.backend);
