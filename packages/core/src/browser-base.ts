/**
 * @clip-senet/core's browser half of `./base`: the parts that need neither Node nor tfjs — seeded Rng and
 * registries. Config loading, safetensors and atomic-file IO, and progress bars read files or the terminal and stay
 * in `./base` (Node). A browser bundle resolves `@clip-senet/core/base` here.
 */

// randomness
export { Rng, hashString32 } from './rng';
export type { RngState } from './rng';

// registries
export { createRegistry, assertRegistryName } from './registry';
export type { Registry } from './registry';
