/**
 * Optimisers written directly over tf ops — Adam / AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019) and SGD
 * with (Nesterov) momentum — following PyTorch's `torch.optim` update rules, so hyper-parameters mean the same
 * as in the paper's recipe (PAPER.md "Training": Adam, lr 5e-4 / 3.5e-4; weight decay is a knob).
 *
 * Why not `tf.train.*`: their slot variables are private and anonymous, so a checkpoint cannot capture them
 * exactly. Here every moment is a named variable (`<param>/exp_avg`, `<param>/exp_avg_sq`,
 * `<param>/momentum_buffer`, PyTorch's names) and the step count is a plain integer, so
 * {@link Optimizer.stateTensors} + {@link Optimizer.meta} → checkpoint → {@link Optimizer.loadState} continues
 * bit-identically on the same backend.
 *
 * The learning rate is passed to every `step` (it comes from a schedule, a pure function of the step). Adam's update
 * is core's `adamUpdate`: one fused kernel per parameter where the native addon is active, bitwise the tf-op chain
 * (which runs everywhere else).
 */
import { adamUpdate, tf } from '@clip-senet/core';
import type { Tensor, Variable } from '@clip-senet/core';

/** Float32 tensor data with its shape (what checkpoints store). */
export interface NamedArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Serialisable (JSON) scalar part of an optimiser's state. */
export interface OptimizerMeta {
  readonly name: 'adam' | 'sgd';
  /** Number of `step` calls so far. */
  readonly step: number;
}

/** Hyper-parameters shared by all optimisers. */
export interface OptimizerBaseOptions {
  /** L2 penalty (Adam/SGD: added to the gradient; AdamW: decoupled shrinkage). Default 0. */
  readonly weightDecay?: number;
  /** Parameters exempt from weight decay (e.g. biases and norms): names for which this returns true. */
  readonly noDecay?: (name: string) => boolean;
}

/** Options of {@link Adam}. */
export interface AdamOptions extends OptimizerBaseOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** AdamW: weight decay decoupled from the gradient (`p ← p·(1 − lr·wd)`). Default false (Adam + L2). */
  readonly decoupled?: boolean;
}

/** Options of {@link Sgd}. */
export interface SgdOptions extends OptimizerBaseOptions {
  readonly momentum?: number;
  readonly dampening?: number;
  readonly nesterov?: boolean;
}

/** A stateful optimiser over a fixed, named set of trainable variables. */
export interface Optimizer {
  readonly name: OptimizerMeta['name'];
  /** The variables being optimised, by canonical name. */
  readonly params: ReadonlyMap<string, Variable>;
  /** Apply one update with learning rate `lr`; parameters without a gradient are left untouched. */
  step(grads: ReadonlyMap<string, Tensor>, lr: number): void;
  /** Live state variables by name (read them, do not dispose them). */
  stateTensors(): ReadonlyMap<string, Tensor>;
  /** JSON part of the state. */
  meta(): OptimizerMeta;
  /** Restore state saved by {@link stateTensors} + {@link meta}; validates everything before assigning anything. */
  loadState(tensors: ReadonlyMap<string, NamedArray>, meta: OptimizerMeta): void;
  /** Free the state variables (not the parameters). */
  dispose(): void;
}

function checkHyper(what: string, value: number, lo: number, hi: number, hiOpen = true): void {
  if (!Number.isFinite(value) || value < lo || (hiOpen ? value >= hi : value > hi)) {
    throw new Error(`optimizer: ${what} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${value}`);
  }
}

/** Base class: slot variables, state export/import with one error listing every mismatch. */
abstract class SlotOptimizer implements Optimizer {
  abstract readonly name: OptimizerMeta['name'];
  readonly params: ReadonlyMap<string, Variable>;
  protected readonly slots = new Map<string, Variable>();
  protected count = 0;
  protected readonly weightDecay: number;
  protected readonly noDecay: (name: string) => boolean;

  protected constructor(params: ReadonlyMap<string, Variable>, slotNames: readonly string[], options: OptimizerBaseOptions) {
    this.params = new Map(params);
    this.weightDecay = options.weightDecay ?? 0;
    checkHyper('weightDecay', this.weightDecay, 0, Infinity);
    this.noDecay = options.noDecay ?? (() => false);
    for (const [name, p] of this.params) {
      if (p.dtype !== 'float32') throw new Error(`optimizer: parameter '${name}' is ${p.dtype}, expected float32`);
      for (const s of slotNames) this.slots.set(`${name}/${s}`, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  protected slot(param: string, s: string): Variable {
    return this.slots.get(`${param}/${s}`)!;
  }

  protected decayOf(name: string): number {
    return this.noDecay(name) ? 0 : this.weightDecay;
  }

  abstract step(grads: ReadonlyMap<string, Tensor>, lr: number): void;

  protected checkStep(grads: ReadonlyMap<string, Tensor>, lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw new Error(`optimizer.step: lr must be a finite number ≥ 0, got ${lr}`);
    for (const name of grads.keys()) {
      if (!this.params.has(name)) throw new Error(`optimizer.step: gradient for unknown parameter '${name}'`);
    }
  }

  stateTensors(): ReadonlyMap<string, Tensor> {
    return this.slots;
  }

  meta(): OptimizerMeta {
    return { name: this.name, step: this.count };
  }

  loadState(tensors: ReadonlyMap<string, NamedArray>, meta: OptimizerMeta): void {
    const problems: string[] = [];
    if (meta.name !== this.name) problems.push(`optimizer is '${this.name}' but the state is from '${meta.name}'`);
    if (!Number.isInteger(meta.step) || meta.step < 0) problems.push(`invalid step count ${meta.step}`);
    for (const [name, v] of this.slots) {
      const t = tensors.get(name);
      if (!t) problems.push(`missing '${name}'`);
      else if (!tf.util.arraysEqual([...t.shape], v.shape)) problems.push(`'${name}': shape [${t.shape}] ≠ expected [${v.shape}]`);
      else if (t.data.length !== v.size) problems.push(`'${name}': ${t.data.length} values for shape [${t.shape}]`);
    }
    for (const name of tensors.keys()) if (!this.slots.has(name)) problems.push(`unexpected '${name}'`);
    if (problems.length > 0) throw new Error(`optimizer.loadState: state does not match (${problems.length} problems):\n  ${problems.join('\n  ')}`);
    for (const [name, v] of this.slots) {
      const t = tensors.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(t.data, [...t.shape], 'float32')));
    }
    this.count = meta.step;
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/**
 * Adam (`decoupled: false`, weight decay as L2 in the gradient, = `torch.optim.Adam`) or AdamW
 * (`decoupled: true`, = `torch.optim.AdamW`):
 * m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
 */
export class Adam extends SlotOptimizer {
  readonly name = 'adam' as const;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly decoupled: boolean;

  constructor(params: ReadonlyMap<string, Variable>, options: AdamOptions = {}) {
    super(params, ['exp_avg', 'exp_avg_sq'], options);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.decoupled = options.decoupled ?? false;
    checkHyper('beta1', this.beta1, 0, 1);
    checkHyper('beta2', this.beta2, 0, 1);
    checkHyper('eps', this.eps, 0, Infinity);
  }

  step(grads: ReadonlyMap<string, Tensor>, lr: number): void {
    this.checkStep(grads, lr);
    this.count += 1;
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (!g) continue;
      const m = this.slot(name, 'exp_avg');
      const v = this.slot(name, 'exp_avg_sq');
      const hyper = { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, t: this.count, weightDecay: this.decayOf(name), decoupled: this.decoupled };
      tf.tidy(() => {
        // one fused pass where core's native kernel is active — bitwise the float32 op chain it replaces
        const next = adamUpdate(p, m, v, g, hyper);
        m.assign(next.m);
        v.assign(next.v);
        p.assign(next.p);
      });
    }
  }
}

/**
 * SGD with momentum (= `torch.optim.SGD`): g ← g + wd·p; b ← g on the first step, else μ·b + (1−d)·g;
 * g ← g + μ·b (Nesterov) or b; p ← p − lr·g.
 */
export class Sgd extends SlotOptimizer {
  readonly name = 'sgd' as const;
  private readonly momentum: number;
  private readonly dampening: number;
  private readonly nesterov: boolean;

  constructor(params: ReadonlyMap<string, Variable>, options: SgdOptions = {}) {
    const momentum = options.momentum ?? 0;
    super(params, momentum > 0 ? ['momentum_buffer'] : [], options);
    this.momentum = momentum;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    checkHyper('momentum', this.momentum, 0, 1);
    checkHyper('dampening', this.dampening, 0, 1, false);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('optimizer: Nesterov momentum requires momentum > 0 and dampening = 0');
    }
  }

  step(grads: ReadonlyMap<string, Tensor>, lr: number): void {
    this.checkStep(grads, lr);
    const first = this.count === 0;
    this.count += 1;
    for (const [name, p] of this.params) {
      const g0 = grads.get(name);
      if (!g0) continue;
      const wd = this.decayOf(name);
      tf.tidy(() => {
        let g: Tensor = wd > 0 ? tf.add(g0, tf.mul(p, wd)) : g0;
        if (this.momentum > 0) {
          const b = this.slot(name, 'momentum_buffer');
          const b1 = first ? tf.clone(g) : tf.add(tf.mul(b, this.momentum), tf.mul(g, 1 - this.dampening));
          b.assign(b1);
          g = this.nesterov ? tf.add(g, tf.mul(b1, this.momentum)) : b1;
        }
        p.assign(tf.sub(p, tf.mul(g, lr)));
      });
    }
  }
}
