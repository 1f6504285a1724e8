/**
 * The one parameter container every model part is built on (backbones, the fusion head, the assembled model): named
 * trainable `tf.Variable`s (`params`), named non-trainable state such as BatchNorm running statistics (`buffers`),
 * a train/eval flag, children adopted under a dotted prefix, and leak-free disposal. Names are stable and dotted
 * (`fusion.afem.bn.running_mean`): they are the checkpoint keys, and a child's names reach its parent only through
 * {@link Module.addChild}, so one prefix per part is the single place those keys are made.
 *
 * No tf.layers: a module holds explicit tensors and its subclass's `forward` is plain tfjs ops.
 */
import { tf } from './tf';
import type { Rng } from './rng';

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Train mode (BatchNorm uses batch statistics and updates running stats). Default: the module's mode. */
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
 * Base class of every module. Subclasses declare their tensors in the constructor with {@link Module.addParam} /
 * {@link Module.addBuffer} (or adopt a ready variable with {@link Module.addVariable}), adopt sub-modules with
 * {@link Module.addChild}, and implement their own `forward`. A child's variables are listed in the parent's maps
 * under `prefix.name` (the same objects); `train()` reaches the children.
 */
export abstract class Module {
  /** Trainable variables by stable dotted name. */
  readonly params = new Map<string, tf.Variable>();
  /** Non-trainable state (BatchNorm running stats) by stable dotted name. */
  readonly buffers = new Map<string, tf.Variable>();
  /** Train-mode flag (PyTorch `module.training`); `forward` options override it per call. */
  training = false;
  private readonly children: Module[] = [];

  /** Declare a trainable variable initialised from `data` (copied). */
  protected addParam(name: string, data: Float32Array, shape: readonly number[]): tf.Variable {
    return this.addVariable(name, data, shape, 'param');
  }

  /** Declare a non-trainable buffer initialised from `data` (copied). */
  protected addBuffer(name: string, data: Float32Array, shape: readonly number[]): tf.Variable {
    return this.addVariable(name, data, shape, 'buffer');
  }

  /** Declare a parameter (`param`, trainable) or buffer from `data` (copied). */
  protected addVariable(name: string, data: Float32Array, shape: readonly number[], kind: 'param' | 'buffer'): tf.Variable {
    const init = tf.tensor(data, [...shape], 'float32');
    const v = tf.variable(init, kind === 'param');
    init.dispose();
    this.put(kind === 'param' ? this.params : this.buffers, name, v);
    return v;
  }

  /** Adopt `child` (or nothing, for an optional part): its tensors appear here as `prefix.name`. Returns it. */
  protected addChild<C extends Module | undefined>(prefix: string, child: C): C {
    if (child === undefined) return child;
    for (const [n, v] of child.params) this.put(this.params, `${prefix}.${n}`, v);
    for (const [n, v] of child.buffers) this.put(this.buffers, `${prefix}.${n}`, v);
    this.children.push(child);
    return child;
  }

  /** The parameter or buffer `name`; throws naming it if undeclared. */
  t(name: string): tf.Variable {
    const v = this.params.get(name) ?? this.buffers.get(name);
    if (!v) throw new Error(`${this.constructor.name}: no tensor named '${name}'`);
    return v;
  }

  /** Whether a parameter or buffer named `name` is declared. */
  has(name: string): boolean {
    return this.params.has(name) || this.buffers.has(name);
  }

  /** Replace a tensor's value (the shape must match the declared one). */
  assign(name: string, value: tf.Tensor): void {
    const v = this.t(name);
    if (!tf.util.arraysEqual(v.shape, value.shape)) {
      throw new Error(`${this.constructor.name}.assign('${name}'): shape [${value.shape}] ≠ declared [${v.shape}]`);
    }
    v.assign(value);
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

  /** Free every variable (the children's included, which are the same objects). Safe to call twice. */
  dispose(): void {
    for (const v of [...this.params.values(), ...this.buffers.values()]) if (!v.isDisposed) v.dispose();
    this.params.clear();
    this.buffers.clear();
    for (const c of this.children) c.dispose();
  }

  protected isTraining(opts?: ForwardOptions): boolean {
    return opts?.training ?? this.training;
  }

  private put(map: Map<string, tf.Variable>, name: string, v: tf.Variable): void {
    if (this.has(name)) throw new Error(`${this.constructor.name}: duplicate tensor name '${name}'`);
    map.set(name, v);
  }
}
