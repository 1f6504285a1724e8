/**
 * A tiny parameter container for the fusion head (AFEM, Eq. 4; fusion, Eq. 5): named trainable
 * `tf.Variable`s (`params`), named non-trainable state such as BatchNorm running statistics (`buffers`),
 * a train/eval flag and disposal. Names are stable and dotted (`afem.bn.running_mean`) so checkpoints can
 * be keyed by them. Self-contained on purpose: afem must not import the backbones' module abstraction.
 *
 * Linear weights are stored in tfjs layout `[in, out]` (so `y = x · W + b`); PyTorch's is `[out, in]`.
 */
import { tf, type Rng } from '@clip-senet/core';

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Train mode (BatchNorm uses batch statistics and updates running stats). Default: the component's mode. */
  readonly training?: boolean;
}

/** Fill a Float32Array with N(mean, std²) draws from the seeded generator. */
export function normalArray(size: number, rng: Rng, std = 1, mean = 0): Float32Array {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.normal(mean, std);
  return data;
}

/** Fill a Float32Array with U(lo, hi) draws from the seeded generator. */
export function uniformArray(size: number, rng: Rng, lo: number, hi: number): Float32Array {
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.uniform(lo, hi);
  return data;
}

/**
 * Base class of every fusion-head component. Subclasses declare tensors in their constructor with
 * {@link Component.addParam} / {@link Component.addBuffer} / {@link Component.addChild} and implement
 * `forward`. A child's variables are also listed in the parent's maps under `prefix.name` (same objects).
 */
export abstract class Component<I, O> {
  /** Trainable variables by stable dotted name. */
  readonly params = new Map<string, tf.Variable>();
  /** Non-trainable state (BatchNorm running stats) by stable dotted name. */
  readonly buffers = new Map<string, tf.Variable>();
  /** Train-mode flag (PyTorch `module.training`); `forward` options override it per call. */
  training = false;
  private readonly children: Array<Component<unknown, unknown>> = [];

  /** Run the component; returns new tensors owned by the caller. */
  abstract forward(inputs: I, opts?: ForwardOptions): O;

  /** Declare a trainable variable initialised from `data` (copied). */
  protected addParam(name: string, data: Float32Array, shape: number[]): tf.Variable {
    return this.add(this.params, name, data, shape, true);
  }

  /** Declare a non-trainable buffer initialised from `data` (copied). */
  protected addBuffer(name: string, data: Float32Array, shape: number[]): tf.Variable {
    return this.add(this.buffers, name, data, shape, false);
  }

  /** Adopt `child`: its params/buffers appear here as `prefix.name`, and `train()` propagates. */
  protected addChild<C extends Component<never, unknown>>(prefix: string, child: C): C {
    for (const [n, v] of child.params) this.put(this.params, `${prefix}.${n}`, v);
    for (const [n, v] of child.buffers) this.put(this.buffers, `${prefix}.${n}`, v);
    this.children.push(child as unknown as Component<unknown, unknown>);
    return child;
  }

  /** The parameter or buffer `name`; throws naming it if undeclared. */
  t(name: string): tf.Variable {
    const v = this.params.get(name) ?? this.buffers.get(name);
    if (!v) throw new Error(`${this.constructor.name}: no tensor named '${name}'`);
    return v;
  }

  /** Switch to train (`true`) or eval mode, recursively; returns this. */
  train(mode = true): this {
    this.training = mode;
    for (const c of this.children) c.train(mode);
    return this;
  }

  /** Switch to eval mode; returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Trainable variables (for optimisers / `tf.variableGrads`). */
  trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Number of trainable scalars. */
  numParams(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Free every variable (children's included). Safe to call twice. */
  dispose(): void {
    for (const v of this.params.values()) if (!v.isDisposed) v.dispose();
    for (const v of this.buffers.values()) if (!v.isDisposed) v.dispose();
    this.params.clear();
    this.buffers.clear();
  }

  protected isTraining(opts?: ForwardOptions): boolean {
    return opts?.training ?? this.training;
  }

  private add(map: Map<string, tf.Variable>, name: string, data: Float32Array, shape: number[], trainable: boolean): tf.Variable {
    const init = tf.tensor(data, shape, 'float32');
    const v = tf.variable(init, trainable);
    init.dispose();
    this.put(map, name, v);
    return v;
  }

  private put(map: Map<string, tf.Variable>, name: string, v: tf.Variable): void {
    if (this.params.has(name) || this.buffers.has(name)) throw new Error(`${this.constructor.name}: duplicate tensor name '${name}'`);
    map.set(name, v);
  }
}
