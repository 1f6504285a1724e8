/**
 * Reading a module's tensors into ONNX initializers while recording which ones the graph used: after an export
 * every parameter and buffer of an exported part must have been read, so a tensor the exporter does not know (a new
 * layer added to a module without an ONNX mapping) is an error naming it instead of a graph that silently ignores it.
 */
import { tf, type Variable } from '@clip-senet/core';
import type { OnnxGraph } from './onnx-graph';

/** What the exporter needs from a module: its tensors by name (core's `Module`, which every part is). */
export interface TensorHolder {
  readonly params: ReadonlyMap<string, Variable>;
  readonly buffers: ReadonlyMap<string, Variable>;
}

/** How a tfjs-layout tensor becomes an ONNX initializer. */
export type InitLayout =
  /** as stored */
  | 'plain'
  /** conv `[kh, kw, cin/g, cout]` → ONNX `[cout, cin/g, kh, kw]` */
  | 'conv'
  /** per-channel `[C]` → `[C, 1, 1]` (broadcast over NCHW) */
  | 'channel';

/** The tensors of one model part (`appearance`, `sem`, `fusion`, `neck`) as the graph reads them. */
export class PartWeights {
  readonly part: string;
  private readonly holder: TensorHolder;
  private readonly graph: OnnxGraph;
  private readonly used = new Set<string>();

  constructor(graph: OnnxGraph, part: string, holder: TensorHolder) {
    this.graph = graph;
    this.part = part;
    this.holder = holder;
  }

  /** Whether the part declares a tensor `name`. */
  has(name: string): boolean {
    return this.holder.params.has(name) || this.holder.buffers.has(name);
  }

  /** The tfjs tensor `name` (marked used); throws naming it when the part has none. */
  tensor(name: string): Variable {
    const v = this.holder.params.get(name) ?? this.holder.buffers.get(name);
    if (!v) throw new Error(`ONNX export: ${this.part} has no tensor '${name}'`);
    this.used.add(name);
    return v;
  }

  /** The tensor `name` as an initializer (one per name and layout, shared by every use). */
  init(name: string, layout: InitLayout = 'plain'): string {
    const v = this.tensor(name);
    const id = `${this.part}.${name}${layout === 'plain' ? '' : `#${layout}`}`;
    if (this.graph.hasInitializer(id)) return id;
    if (layout === 'conv') {
      const [kh, kw, cin, cout] = v.shape as [number, number, number, number];
      const data = tf.tidy(() => tf.transpose(v, [3, 2, 0, 1]).dataSync() as Float32Array); // [kh, kw, cin, cout] → [cout, cin, kh, kw]
      return this.graph.initFloat(id, data, [cout, cin, kh, kw]);
    }
    const data = v.dataSync() as Float32Array;
    if (layout === 'channel') {
      if (v.rank !== 1) throw new Error(`ONNX export: ${this.part}.${name} is [${v.shape}], expected a per-channel vector`);
      return this.graph.initFloat(id, data, [v.shape[0]!, 1, 1]);
    }
    return this.graph.initFloat(id, data, v.shape);
  }

  /** Throw naming every tensor of the part the graph did not read. */
  assertAllUsed(): void {
    const unused = [...this.holder.params.keys(), ...this.holder.buffers.keys()].filter((k) => !this.used.has(k));
    if (unused.length > 0) {
      throw new Error(
        `ONNX export: no ONNX mapping for ${unused.length} tensor(s) of ${this.part}: ${unused.slice(0, 8).map((k) => `'${this.part}.${k}'`).join(', ')}${unused.length > 8 ? ', …' : ''} — the exporter does not know the layer they belong to`,
      );
    }
  }
}
