/**
 * Entry of a data-parallel worker process (see data-parallel.ts): builds the replica from the recipe, then for
 * every `step` message assigns the weights, computes the gradients of its shard and replies with them.
 */
import { pathToFileURL } from 'node:url';
import { initBackend, tf } from '@clip-senet/core';
import type { BackendPreference } from '@clip-senet/core';
import { replicaGradients, type Replica, type ReplicaRecipe } from './data-parallel';

type Message =
  | { type: 'init'; recipe: ReplicaRecipe; backend: BackendPreference }
  | { type: 'step'; id: number; weights: Record<string, Float32Array>; payload: unknown };

let replica: Replica | undefined;

function step(id: number, weights: Record<string, Float32Array>, payload: unknown): void {
  const r = replica!;
  for (const [k, data] of Object.entries(weights)) {
    const v = r.params.get(k) ?? r.buffers?.get(k);
    if (!v) throw new Error(`unknown parameter or buffer '${k}'`);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
  }
  const { grads, losses } = replicaGradients(r, payload);
  const buffers: Record<string, Float32Array> = {};
  for (const [k, v] of r.buffers ?? []) buffers[k] = v.dataSync() as Float32Array;
  process.send!({ type: 'grads', id, grads, buffers, losses });
}

process.on('message', (m: Message) => {
  void (async () => {
    try {
      if (m.type === 'init') {
        await initBackend(m.backend, { log: null, threads: 1 });
        const url = m.recipe.module.startsWith('file:') ? m.recipe.module : pathToFileURL(m.recipe.module).href;
        const mod = (await import(url)) as Record<string, (args: unknown) => Replica | Promise<Replica>>;
        const factory = mod[m.recipe.exportName];
        if (typeof factory !== 'function') throw new Error(`${m.recipe.module} has no export '${m.recipe.exportName}'`);
        replica = await factory(m.recipe.args);
        process.send!({ type: 'ready' });
      } else step(m.id, m.weights, m.payload);
    } catch (err) {
      process.send!({ type: 'error', ...('id' in m ? { id: m.id } : {}), message: (err as Error).stack ?? String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
