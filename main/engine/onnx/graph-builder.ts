import { AttrType, ElemType, onnxTypes } from './schema.js';

/** A symbolic ('batch') or fixed (1) tensor dimension in a graph signature. */
export type Dim = number | string;

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };

export const int = (value: number): Attr => ({ kind: 'int', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const floats = (value: number[]): Attr => ({ kind: 'floats', value });
export const str = (value: string): Attr => ({ kind: 'string', value });

interface ValueInfo {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

/**
 * Accumulates one ONNX graph (nodes, initializers, signature) and serialises it as a ModelProto.
 * Weights are written as raw little-endian bytes inside the model, which keeps every graph a single
 * file whose sha256 covers everything ORT will execute (all our graphs stay far below protobuf's 2 GB).
 */
export class GraphBuilder {
  private readonly nodes: object[] = [];
  private readonly initializers: object[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private unique(base: string): string {
    let n = base;
    while (this.names.has(n)) n = `${base}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  input(name: string, dims: Dim[], elemType: number = ElemType.FLOAT): string {
    this.inputs.push(valueInfo(this.unique(name), dims, elemType));
    return name;
  }

  /** Declares an existing value as a graph output under its own name (use `identity` to rename). */
  output(value: string, dims: Dim[], elemType: number = ElemType.FLOAT): void {
    this.outputs.push(valueInfo(value, dims, elemType));
  }

  initializer(name: string, dims: number[], data: Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array): string {
    const n = this.unique(name);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name: n, dims, data_type: elemTypeOf(data), raw_data: bytes });
    return n;
  }

  constFloat(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.initializer(name, dims, Float32Array.from(values));
  }

  constInt64(name: string, values: number[]): string {
    return this.initializer(name, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  /** Adds a node and returns its output names; `outputs` may name them (graph outputs) or be a count. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: string[] | number = 1, domain = ''): string[] {
    const outNames =
      typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.unique(`${op.toLowerCase()}`)) : outputs.map((o) => this.unique(o));
    this.nodes.push({
      name: this.unique(`n_${op}`),
      op_type: op,
      domain,
      input: inputs,
      output: outNames,
      attribute: Object.entries(attrs).map(([name, a]) => encodeAttr(name, a)),
    });
    return outNames;
  }

  /** Single-output node. */
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputName?: string): string {
    return this.node(op, inputs, attrs, outputName ? [outputName] : 1)[0];
  }

  /** A node of ONNX Runtime's contrib domain (com.microsoft); the model then imports that opset too. */
  contribOp(op: string, inputs: string[], outputName?: string): string {
    this.usesContrib = true;
    return this.node(op, inputs, {}, outputName ? [outputName] : 1, 'com.microsoft')[0];
  }

  private usesContrib = false;

  toBytes(opts: { opset: number; producerVersion: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const { model } = onnxTypes();
    const msg = model.fromObject({
      // IR 8 is what opset 17 shipped with; ORT 1.16+ reads it.
      ir_version: 8,
      producer_name: 'neuroverse-workstation',
      producer_version: opts.producerVersion,
      doc_string: opts.docString ?? '',
      opset_import: [{ domain: '', version: opts.opset }, ...(this.usesContrib ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return model.encode(msg).finish();
  }
}

function valueInfo(name: string, dims: Dim[], elemType: number): ValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function encodeAttr(name: string, a: Attr): object {
  switch (a.kind) {
    case 'int':
      return { name, type: AttrType.INT, i: a.value };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.value };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function elemTypeOf(data: Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array): number {
  if (data instanceof Float32Array) return ElemType.FLOAT;
  if (data instanceof BigInt64Array) return ElemType.INT64;
  if (data instanceof Int32Array) return ElemType.INT32;
  if (data instanceof Int8Array) return ElemType.INT8;
  return ElemType.UINT8;
}
