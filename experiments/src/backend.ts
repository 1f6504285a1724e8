/** Backend selection for the CLI: once per process, honouring `CLIP_SENET_BACKEND` / `CLIP_SENET_WASM_THREADS`. */
import { initBackend, type BackendName } from '@clip-senet/core';

/** Choose the tf backend (auto unless `CLIP_SENET_BACKEND` says otherwise). */
export function prepareBackend(): Promise<BackendName> {
  return initBackend('auto');
}
