/**
 * Reading a tensor's values without a GPU round trip where they are already in host memory (the webgpu backend
 * reads asynchronously only). Node-free: the browser entry point exports it too.
 */
import { tf } from './tf';

/**
 * A tensor's values when they are in host memory, without a GPU read: always on cpu / wasm / tensorflow (a
 * synchronous read there is a copy), and on webgpu while the values have not moved to the GPU (a tensor made from
 * host data and not yet used, or one read back already). Undefined when only an asynchronous read can get them.
 */
export function hostValues(t: tf.Tensor): tf.TypedArray | string[] | undefined {
  if (tf.getBackend() !== 'webgpu') return t.dataSync();
  const data = (tf.backend() as unknown as { tensorMap?: { get(id: object): { values?: tf.BackendValues | null } | undefined } }).tensorMap?.get(t.dataId);
  return data?.values != null ? t.dataSync() : undefined;
}
