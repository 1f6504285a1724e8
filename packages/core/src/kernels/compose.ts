/**
 * Kernel composition helpers: build a kernel out of other kernels of the same backend, at the
 * TensorInfo level (no engine/tape involvement), disposing every intermediate.
 *
 * Used by the training-kernel fixes so the same code serves the wasm and cpu backends.
 */
import { tf } from '../tf';

/** A backend-level tensor handle (what kernels receive and return). */
export type TensorInfo = tf.TensorInfo;
/** The backend object handed to kernel functions. */
export type KernelBackend = tf.KernelBackend;
type Attrs = Record<string, unknown>;

interface HeapBackend extends KernelBackend {
  makeOutput?(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap?(t: TensorInfo): tf.TypedArray;
}

/** Float32 contents of a tensor: a view into wasm memory, or the cpu backend's own array. */
export function readFloat32(backend: KernelBackend, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  const heap = backend as HeapBackend;
  if (typeof heap.typedArrayFromHeap === 'function') return heap.typedArrayFromHeap(t) as Float32Array;
  return backend.readSync(t.dataId) as Float32Array;
}

/** Runs the kernel `name` registered for `backendName` directly. */
export function runKernel(
  backendName: string,
  backend: KernelBackend,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Attrs = {},
): TensorInfo {
  const kernel = tf.getKernel(name, backendName);
  if (kernel == null) throw new Error(`Kernel '${name}' is not registered for backend '${backendName}'`);
  const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
  if (Array.isArray(out)) throw new Error(`Kernel '${name}' returned several outputs where one was expected`);
  return out as TensorInfo;
}

/**
 * A scope that records intermediates and disposes them at the end, keeping only the result.
 * The kernel-level analogue of `tf.tidy`.
 */
export class KernelScope {
  private readonly owned: TensorInfo[] = [];

  constructor(
    readonly backendName: string,
    readonly backend: KernelBackend,
  ) {}

  /** Run a kernel and remember its output for disposal. */
  run(name: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
    const out = runKernel(this.backendName, this.backend, name, inputs, attrs);
    this.owned.push(out);
    return out;
  }

  /** A new float32 tensor holding `values` (owned by the scope). */
  fromValues(values: Float32Array, shape: number[]): TensorInfo {
    const dataId = this.backend.write(values, shape, 'float32');
    const info: TensorInfo = { dataId, shape, dtype: 'float32' };
    this.owned.push(info);
    return info;
  }

  /**
   * A float32 output computed in JS from float32 inputs (used for pure data movement that the
   * backend implements with slow generic loops). Reads wasm memory in place.
   */
  compute(inputs: TensorInfo[], shape: number[], body: (inputs: Float32Array[], out: Float32Array) => void): TensorInfo {
    const size = shape.reduce((a, b) => a * b, 1);
    const heap = this.backend as HeapBackend;
    if (typeof heap.makeOutput === 'function' && typeof heap.typedArrayFromHeap === 'function') {
      // Allocate first: allocation may grow wasm memory, which detaches earlier views.
      const info = heap.makeOutput(shape, 'float32');
      this.owned.push(info);
      const views = inputs.map((t) => readFloat32(this.backend, t));
      body(views, heap.typedArrayFromHeap(info) as Float32Array);
      return info;
    }
    const views = inputs.map((t) => readFloat32(this.backend, t));
    const out = new Float32Array(size);
    body(views, out);
    return this.fromValues(out, shape);
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** Forward NHWC conv with explicit non-negative padding and optional dilation. */
  conv2d(
    x: TensorInfo,
    filter: TensorInfo,
    pads: { top: number; bottom: number; left: number; right: number },
    dilation: [number, number] = [1, 1],
  ): TensorInfo {
    const explicit = [
      [0, 0],
      [pads.top, pads.bottom],
      [pads.left, pads.right],
      [0, 0],
    ];
    const samePadding = pads.top + pads.bottom + pads.left + pads.right === 0 ? 'valid' : explicit;
    return this.run(
      'Conv2D',
      { x, filter },
      { strides: [1, 1], pad: samePadding, dataFormat: 'NHWC', dilations: dilation, dimRoundingMode: undefined },
    );
  }

  /** Dispose every intermediate except `keep`. */
  finish(keep: TensorInfo): TensorInfo {
    for (const t of this.owned) {
      if (t !== keep) this.backend.disposeData(t.dataId);
    }
    this.owned.length = 0;
    return keep;
  }

  /** Dispose everything (error path). */
  abort(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    this.owned.length = 0;
  }
}

/** Runs `body` in a KernelScope; intermediates are released whether it returns or throws. */
export function withKernelScope(
  backendName: string,
  backend: KernelBackend,
  body: (s: KernelScope) => TensorInfo,
): TensorInfo {
  const scope = new KernelScope(backendName, backend);
  try {
    return scope.finish(body(scope));
  } catch (err) {
    scope.abort();
    throw err;
  }
}
