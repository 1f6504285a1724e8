/**
 * A small ONNX graph builder over the `onnx-proto` protobuf binding (the ONNX schema compiled by protobufjs): named
 * values, initializers, nodes with typed attributes, and the few operators whose signature changed between the
 * supported opsets (ReduceMean's axes, LayerNormalization) expressed once. Encoding is the binding's
 * `ModelProto.encode` — no hand-written protobuf.
 */
import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace };

/** Lowest and highest opset the exporter emits (13: Split/Unsqueeze take tensors; 21: what ORT 1.30 runs and is tested). */
export const MIN_OPSET = 13;
export const MAX_OPSET = 21;
/** Default opset of an export. */
export const DEFAULT_OPSET = 17;

/** IR version each opset belongs to (ONNX's versioning table). */
function irVersionFor(opset: number): number {
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** Throw one clear error for an opset the exporter cannot emit. */
export function checkOpset(opset: number): number {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`ONNX opset ${String(opset)} is not supported: the exporter emits opsets ${MIN_OPSET}–${MAX_OPSET} (default ${DEFAULT_OPSET})`);
  }
  return opset;
}

/** A float attribute (plain numbers are ints). */
export interface FloatAttr {
  readonly float: number;
}
/** Attribute values: int, ints, float, string. */
export type AttrValue = number | readonly number[] | FloatAttr | string;

/** Tag `x` as a float attribute. */
export const float = (x: number): FloatAttr => ({ float: x });

/** A graph input or output: element type and dims (a string dim is symbolic, e.g. `'batch'`). */
export interface ValueSpec {
  readonly name: string;
  readonly type: 'float32' | 'int64';
  readonly dims: readonly (number | string)[];
}

const ELEM = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;

function valueInfo(v: ValueSpec): OnnxNamespace.IValueInfoProto {
  return {
    name: v.name,
    type: { tensorType: { elemType: ELEM[v.type], shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

function attribute(name: string, v: AttrValue): OnnxNamespace.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute '${name}': ${v} is not an integer (use float())`);
    return { name, type: T.INT, i: v };
  }
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.INTS, ints: [...v] };
}

/** Builds one ONNX graph; every value name is unique. */
export class OnnxGraph {
  readonly opset: number;
  private readonly nodes: OnnxNamespace.INodeProto[] = [];
  private readonly initializers: OnnxNamespace.ITensorProto[] = [];
  private readonly initNames = new Set<string>();
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private counter = 0;

  constructor(opset: number) {
    this.opset = checkOpset(opset);
  }

  /** A fresh value name with a readable stem. */
  fresh(stem: string): string {
    return `${stem}_${this.counter++}`;
  }

  /** Declare a graph input. */
  input(v: ValueSpec): string {
    this.inputs.push(v);
    return v.name;
  }

  /** Declare a graph output, produced by the node output `from` (renamed through Identity). */
  output(v: ValueSpec, from: string): void {
    this.nodes.push({ opType: 'Identity', input: [from], output: [v.name], name: `output_${v.name}` });
    this.outputs.push(v);
  }

  /** Whether an initializer of that name exists. */
  hasInitializer(name: string): boolean {
    return this.initNames.has(name);
  }

  /** A float32 initializer (its name must be new). */
  initFloat(name: string, data: Float32Array, dims: readonly number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new Error(`ONNX initializer '${name}': ${data.length} values for dims [${dims}]`);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new Error(`ONNX initializer '${name}': value ${i} is ${data[i]} (a non-finite weight)`);
    }
    this.addInit(name, { dims: [...dims], dataType: ELEM.float32, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    return name;
  }

  /** An int64 initializer. */
  initInt64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.addInit(name, { dims: [...dims], dataType: ELEM.int64, rawData: new Uint8Array(raw.buffer) });
    return name;
  }

  /** A fresh float32 constant. */
  constFloat(stem: string, data: readonly number[] | Float32Array, dims: readonly number[] = [data.length]): string {
    return this.initFloat(this.fresh(stem), Float32Array.from(data), dims);
  }

  /** A fresh int64 constant (1-D unless `dims` says otherwise, e.g. `[]` for a scalar). */
  constInt64(stem: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initInt64(this.fresh(stem), values, dims);
  }

  /** Add a node with `outputs` results; returns their names. */
  nodeN(opType: string, inputs: readonly string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      input: [...inputs],
      output: names,
      name: this.fresh(`n_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  /** Add a single-output node. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.nodeN(opType, inputs, 1, attrs)[0]!;
  }

  /** Mean over `axes` (kept dims): axes are an attribute before opset 18 and an input from 18. */
  reduceMean(x: string, axes: readonly number[], keepdims = true): string {
    const keep = keepdims ? 1 : 0;
    if (this.opset >= 18) return this.op('ReduceMean', [x, this.constInt64('axes', axes)], { keepdims: keep });
    return this.op('ReduceMean', [x], { axes, keepdims: keep });
  }

  /** LayerNorm over the last axis: the LayerNormalization op from opset 17, else mean / variance / rsqrt as tfjs computes it. */
  layerNorm(x: string, gamma: string, beta: string, eps: number): string {
    if (this.opset >= 17) return this.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: float(eps) });
    const mean = this.reduceMean(x, [-1]);
    const centered = this.op('Sub', [x, mean]);
    const variance = this.reduceMean(this.op('Mul', [centered, centered]), [-1]);
    const inv = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [variance, this.constFloat('eps', [eps], [])])])]);
    return this.op('Add', [this.op('Mul', [this.op('Mul', [centered, inv]), gamma]), beta]);
  }

  /** The encoded `ModelProto`. */
  encode(opts: { producer: string; producerVersion: string; graphName: string; docString?: string; metadata: Record<string, string> }): Uint8Array {
    const model: OnnxNamespace.IModelProto = {
      irVersion: irVersionFor(this.opset),
      opsetImport: [{ domain: '', version: this.opset }],
      producerName: opts.producer,
      producerVersion: opts.producerVersion,
      ...(opts.docString ? { docString: opts.docString } : {}),
      metadataProps: Object.entries(opts.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: opts.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    };
    const err = onnx.ModelProto.verify(model);
    if (err) throw new Error(`ONNX model does not match the schema: ${err}`);
    return onnx.ModelProto.encode(model).finish();
  }

  /** Node count by operator (for reports and tests). */
  opCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const n of this.nodes) out.set(n.opType!, (out.get(n.opType!) ?? 0) + 1);
    return out;
  }

  private addInit(name: string, t: OnnxNamespace.ITensorProto): void {
    if (this.initNames.has(name)) throw new Error(`ONNX initializer '${name}' declared twice`);
    this.initNames.add(name);
    this.initializers.push({ ...t, name });
  }
}

/** Decode an encoded model (tests and metadata readers). */
export function decodeOnnxModel(bytes: Uint8Array): OnnxNamespace.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
