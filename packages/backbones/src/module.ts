/**
 * Backbones declare their tensors up front: a {@link SpecModule} is core's `Module` built from a list of
 * {@link ParamSpec}s (core keeps the bookkeeping — params, buffers, train/eval, disposal — in one place).
 *
 * Every parameter and buffer is declared as a {@link ParamSpec} whose name is the canonical
 * PyTorch name (torchvision / OpenAI CLIP state-dict key, e.g. `layer1.0.conv1.weight`) and whose shape
 * is the tfjs layout. The `layout` says how that tfjs layout relates to the PyTorch one, so weight
 * import/export is a key map plus {@link toTorchShape}/{@link fromTorch} conversions.
 */
import { hostValues, Module, tf, type Rng } from '@clip-senet/core';

/**
 * How a tensor's tfjs layout relates to its PyTorch layout.
 * - `conv`: torch `[out, in, kh, kw]` ↔ tfjs `[kh, kw, in, out]`
 * - `linear`: torch `[out, in]` ↔ tfjs `[in, out]` (so `y = x · W`)
 * - `plain`: identical (biases, norms, embeddings, CLIP `proj`)
 */
export type ParamLayout = 'conv' | 'linear' | 'plain';

/** Initialiser of one tensor (drawn from the seeded {@link Rng}). */
export type InitSpec =
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'normal'; readonly std: number };

/** Declaration of one parameter (trainable) or buffer (e.g. BatchNorm running stats). */
export interface ParamSpec {
  /** Canonical (PyTorch state-dict) name. */
  readonly name: string;
  /** Shape in tfjs layout. */
  readonly shape: readonly number[];
  readonly layout: ParamLayout;
  readonly kind: 'param' | 'buffer';
  readonly init: InitSpec;
  /** Not part of pretrained checkpoints (e.g. GeM `p`): may be absent from a file even when strict. */
  readonly local?: boolean;
}

/** Shape of a tfjs-layout tensor in PyTorch layout. */
export function toTorchShape(shape: readonly number[], layout: ParamLayout): number[] {
  if (layout === 'conv') return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  if (layout === 'linear') return [shape[1]!, shape[0]!];
  return [...shape];
}

/** Permutation taking a PyTorch-layout tensor to tfjs layout (null = identity). */
function permFromTorch(layout: ParamLayout): number[] | null {
  if (layout === 'conv') return [2, 3, 1, 0]; // [out, in, kh, kw] → [kh, kw, in, out]
  if (layout === 'linear') return [1, 0]; // [out, in] → [in, out]
  return null;
}

/** A PyTorch-layout float tensor converted to tfjs layout. */
export function fromTorch(data: Float32Array, torchShape: readonly number[], layout: ParamLayout): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, [...torchShape], 'float32');
    const perm = permFromTorch(layout);
    return perm ? tf.transpose(t, perm) : t;
  });
}

/**
 * A tfjs-layout tensor's values in PyTorch layout (C order), permuted on the host (the same values as a
 * `tf.transpose`, without a tensor op). The values must be in host memory (see core's `hostValues`): always on
 * cpu / wasm; on webgpu once read with `await tensor.data()`.
 */
export function toTorchData(t: tf.Tensor, layout: ParamLayout): Float32Array {
  const values = hostValues(t);
  if (values === undefined) throw new Error(`toTorchData: the [${t.shape}] tensor is on the GPU; read it first with await tensor.data() (webgpu cannot read synchronously)`);
  const src = values as Float32Array;
  if (layout === 'plain') return Float32Array.from(src);
  const out = new Float32Array(src.length);
  if (layout === 'linear') {
    const [cin, cout] = t.shape as [number, number];
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) out[o * cin + i] = src[i * cout + o]!; // [in, out] → [out, in]
    return out;
  }
  const [kh, kw, cin, cout] = t.shape as [number, number, number, number];
  let k = 0;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = src[k++]!; // [kh, kw, in, out] → [out, in, kh, kw]
      }
    }
  }
  return out;
}

/**
 * Fill `data` with N(0, std²) draws. One uint32 from the seeded `rng` keys a local mulberry32 stream that
 * feeds Box–Muller (both branches used): deterministic given `rng`, and ~20× faster than calling
 * `rng.normal` per element, which matters for 90 M-parameter towers.
 */
function fillNormal(data: Float32Array, std: number, rng: Rng): void {
  let a = rng.uint32() | 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const inv = 1 / 4294967296;
  for (let i = 0; i < data.length; i += 2) {
    const u = (next() + 0.5) * inv; // (0, 1)
    const v = next() * inv;
    const r = std * Math.sqrt(-2 * Math.log(u));
    data[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < data.length) data[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
}

function initialValues(spec: ParamSpec, rng: Rng): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  if (spec.init.kind === 'const') data.fill(spec.init.value);
  else fillNormal(data, spec.init.std, rng);
  return data;
}

/** Number of elements declared by a spec list (trainable parameters only unless `includeBuffers`). */
export function countParams(specs: readonly ParamSpec[], includeBuffers = false): number {
  let n = 0;
  for (const s of specs) if (includeBuffers || s.kind === 'param') n += s.shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Core's `Module` with every tensor declared by a {@link ParamSpec} (canonical name, tfjs shape, PyTorch layout,
 * initialiser), initialised in declaration order from `rng`. Subclasses pass their specs and implement `forward`.
 */
export abstract class SpecModule extends Module {
  /** Every declared tensor by canonical name. */
  readonly specs = new Map<string, ParamSpec>();

  protected constructor(specs: readonly ParamSpec[], rng: Rng) {
    super();
    for (const spec of specs) {
      if (this.specs.has(spec.name)) throw new Error(`${this.constructor.name}: duplicate tensor name '${spec.name}'`);
      this.specs.set(spec.name, spec);
      this.addVariable(spec.name, initialValues(spec, rng), spec.shape, spec.kind);
    }
  }
}
