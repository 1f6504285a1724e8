/**
 * The single tfjs namespace used across the toolkit.
 *
 * `@tensorflow/tfjs` (the union package) is imported rather than the split packages because its Node
 * build exposes the full API; the native `tensorflow` backend, when installed, registers itself into the
 * same tfjs-core engine, so this namespace drives whichever backend `initBackend` selected.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Rank, Variable, Scalar } from '@tensorflow/tfjs';
