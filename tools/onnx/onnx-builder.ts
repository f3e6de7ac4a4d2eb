// A small builder for ONNX graphs: declare inputs, outputs, initializers and nodes with v2
// datatype names, then serialise to deterministic ModelProto bytes.

import {
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  encodeModel,
  type AttributeProto,
  type DimensionProto,
  type ModelProto,
  type NodeProto,
  type OnnxDataType,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-proto.js';

/** Element types, named as in the KServe v2 protocol (BYTES is ONNX STRING). */
export type ElementType =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES'
  | 'BF16';

const DATA_TYPE_OF: Readonly<Record<ElementType, OnnxDataType>> = Object.freeze({
  BOOL: ONNX_DATA_TYPE.BOOL,
  UINT8: ONNX_DATA_TYPE.UINT8,
  UINT16: ONNX_DATA_TYPE.UINT16,
  UINT32: ONNX_DATA_TYPE.UINT32,
  UINT64: ONNX_DATA_TYPE.UINT64,
  INT8: ONNX_DATA_TYPE.INT8,
  INT16: ONNX_DATA_TYPE.INT16,
  INT32: ONNX_DATA_TYPE.INT32,
  INT64: ONNX_DATA_TYPE.INT64,
  FP16: ONNX_DATA_TYPE.FLOAT16,
  FP32: ONNX_DATA_TYPE.FLOAT,
  FP64: ONNX_DATA_TYPE.DOUBLE,
  BYTES: ONNX_DATA_TYPE.STRING,
  BF16: ONNX_DATA_TYPE.BFLOAT16,
});

/** The TensorProto.DataType number for an element type. */
export function onnxDataType(type: ElementType): OnnxDataType {
  return DATA_TYPE_OF[type];
}

/**
 * One dimension of a declared input or output: a non-negative number is fixed, -1 is unknown
 * (written as an empty Dimension, as onnx.helper does for `None`), and a string is a named
 * symbolic dimension (dim_param), which lets several values share one dynamic size.
 */
export type Dim = number | string;

/**
 * Accepted element values per type. FP16 and BF16 take raw 16-bit patterns, because JS has no
 * half-precision number type; BOOL takes booleans or 0/1 bytes; BYTES takes UTF-8 strings or
 * raw byte strings.
 */
export interface TensorValuesMap {
  BOOL: Uint8Array | readonly boolean[];
  UINT8: Uint8Array | readonly number[];
  UINT16: Uint16Array | readonly number[];
  UINT32: Uint32Array | readonly number[];
  UINT64: BigUint64Array | readonly bigint[];
  INT8: Int8Array | readonly number[];
  INT16: Int16Array | readonly number[];
  INT32: Int32Array | readonly number[];
  INT64: BigInt64Array | readonly bigint[];
  FP16: Uint16Array;
  FP32: Float32Array | readonly number[];
  FP64: Float64Array | readonly number[];
  BYTES: readonly (string | Uint8Array)[];
  BF16: Uint16Array;
}

export type TensorValues<T extends ElementType> = TensorValuesMap[T];

/** Bytes per element in raw_data for every fixed-width type. */
const RAW_SIZE: Readonly<Record<Exclude<ElementType, 'BYTES'>, number>> = Object.freeze({
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
  BF16: 2,
});

const utf8 = new TextEncoder();

/**
 * Fixed-width values go to raw_data, little-endian as the spec requires whatever the host's byte
 * order; strings go to string_data, the only place the spec allows them.
 */
function encodeValues(type: ElementType, values: TensorValues<ElementType>): Partial<TensorProto> {
  if (type === 'BYTES') {
    const strings = values as TensorValues<'BYTES'>;
    return { string_data: strings.map((s) => (typeof s === 'string' ? utf8.encode(s) : s)) };
  }
  const count = values.length;
  const raw = new Uint8Array(count * RAW_SIZE[type]);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < count; i++) {
    const v = values[i];
    switch (type) {
      case 'BOOL':
        view.setUint8(i, v === true || (typeof v === 'number' && v !== 0) ? 1 : 0);
        break;
      case 'UINT8':
        view.setUint8(i, checkedInt(v, 0, 0xff));
        break;
      case 'INT8':
        view.setInt8(i, checkedInt(v, -0x80, 0x7f));
        break;
      case 'UINT16':
      case 'FP16':
      case 'BF16':
        view.setUint16(i * 2, checkedInt(v, 0, 0xffff), true);
        break;
      case 'INT16':
        view.setInt16(i * 2, checkedInt(v, -0x8000, 0x7fff), true);
        break;
      case 'UINT32':
        view.setUint32(i * 4, checkedInt(v, 0, 0xffffffff), true);
        break;
      case 'INT32':
        view.setInt32(i * 4, checkedInt(v, -0x80000000, 0x7fffffff), true);
        break;
      case 'UINT64':
        view.setBigUint64(i * 8, BigInt.asUintN(64, checkedBigInt(v)), true);
        break;
      case 'INT64':
        view.setBigInt64(i * 8, BigInt.asIntN(64, checkedBigInt(v)), true);
        break;
      case 'FP32':
        view.setFloat32(i * 4, checkedNumber(v), true);
        break;
      case 'FP64':
        view.setFloat64(i * 8, checkedNumber(v), true);
        break;
    }
  }
  return { raw_data: raw };
}

function checkedNumber(v: unknown): number {
  if (typeof v !== 'number') throw new TypeError(`expected a number, got ${typeof v}`);
  return v;
}

// Out-of-range values would otherwise wrap silently in the DataView setters.
function checkedInt(v: unknown, min: number, max: number): number {
  const n = checkedNumber(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${n} is not an integer in [${min}, ${max}]`);
  }
  return n;
}

function checkedBigInt(v: unknown): bigint {
  if (typeof v !== 'bigint') throw new TypeError(`expected a bigint, got ${typeof v}`);
  return v;
}

function checkDims(dims: readonly number[]): number[] {
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`invalid tensor dimension ${d}`);
  }
  return [...dims];
}

/** A TensorProto holding `values` (row-major) with a fixed shape. */
export function tensorProto<T extends ElementType>(
  name: string,
  type: T,
  dims: readonly number[],
  values: TensorValues<T>,
): TensorProto {
  const shape = checkDims(dims);
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new RangeError(`tensor ${name}: shape [${shape.join(',')}] needs ${count} values, got ${values.length}`);
  }
  return { name, dims: shape, data_type: DATA_TYPE_OF[type], ...encodeValues(type, values) };
}

/** An attribute value whose ONNX attribute type is stated explicitly. */
export type TaggedAttribute =
  | { readonly kind: 'INT'; readonly value: number }
  | { readonly kind: 'INTS'; readonly value: readonly number[] }
  | { readonly kind: 'FLOAT'; readonly value: number }
  | { readonly kind: 'FLOATS'; readonly value: readonly number[] }
  | { readonly kind: 'STRING'; readonly value: string | Uint8Array }
  | { readonly kind: 'TENSOR'; readonly value: TensorProto };

/**
 * A node attribute. Plain numbers and number arrays must be integers and become INT / INTS (the
 * common case: axis, perm, to); a plain string becomes STRING. Floats must be tagged with
 * `attr.float(s)`, since 1.0 and 1 are the same JS number but different ONNX attribute types.
 */
export type AttributeValue = number | readonly number[] | string | TaggedAttribute;

/** Constructors for tagged attribute values. */
export const attr = Object.freeze({
  int: (value: number): TaggedAttribute => ({ kind: 'INT', value }),
  ints: (value: readonly number[]): TaggedAttribute => ({ kind: 'INTS', value }),
  float: (value: number): TaggedAttribute => ({ kind: 'FLOAT', value }),
  floats: (value: readonly number[]): TaggedAttribute => ({ kind: 'FLOATS', value }),
  string: (value: string | Uint8Array): TaggedAttribute => ({ kind: 'STRING', value }),
  tensor: <T extends ElementType>(type: T, dims: readonly number[], values: TensorValues<T>): TaggedAttribute => ({
    kind: 'TENSOR',
    value: tensorProto('', type, dims, values),
  }),
});

// A float passed as a plain number would otherwise be truncated by the int64 encoder.
function checkedIntAttribute(name: string, v: number): number {
  if (!Number.isSafeInteger(v)) {
    throw new TypeError(`attribute ${name}: ${v} is not an integer; use attr.float(s) for floats`);
  }
  return v;
}

function attributeProto(name: string, value: AttributeValue): AttributeProto {
  const tagged: TaggedAttribute =
    typeof value === 'number'
      ? { kind: 'INT', value }
      : typeof value === 'string'
        ? { kind: 'STRING', value }
        : 'kind' in value
          ? value
          : { kind: 'INTS', value };
  switch (tagged.kind) {
    case 'INT':
      return { name, type: ONNX_ATTRIBUTE_TYPE.INT, i: checkedIntAttribute(name, tagged.value) };
    case 'INTS':
      return {
        name,
        type: ONNX_ATTRIBUTE_TYPE.INTS,
        ints: tagged.value.map((v) => checkedIntAttribute(name, v)),
      };
    case 'FLOAT':
      return { name, type: ONNX_ATTRIBUTE_TYPE.FLOAT, f: tagged.value };
    case 'FLOATS':
      return { name, type: ONNX_ATTRIBUTE_TYPE.FLOATS, floats: [...tagged.value] };
    case 'STRING': {
      const s = typeof tagged.value === 'string' ? utf8.encode(tagged.value) : tagged.value;
      return { name, type: ONNX_ATTRIBUTE_TYPE.STRING, s };
    }
    case 'TENSOR':
      return { name, type: ONNX_ATTRIBUTE_TYPE.TENSOR, t: tagged.value };
  }
}

function dimensionProto(dim: Dim): DimensionProto {
  if (typeof dim === 'string') {
    if (dim === '') throw new RangeError('a symbolic dimension needs a non-empty name');
    return { dim_param: dim };
  }
  if (dim === -1) return {};
  if (!Number.isSafeInteger(dim) || dim < 0) throw new RangeError(`invalid dimension ${dim}`);
  return { dim_value: dim };
}

function valueInfo(name: string, type: ElementType, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensor_type: { elem_type: DATA_TYPE_OF[type], shape: { dim: dims.map(dimensionProto) } },
    },
  };
}

export interface NodeOptions {
  /** Node name; defaults to `<op_type>_<index>` so generated graphs stay deterministic. */
  name?: string;
  /** Operator set domain; the default ONNX domain when omitted. */
  domain?: string;
}

export interface ModelOptions {
  /** Version of the default ONNX operator set the graph binds to. */
  opset: number;
  /** ONNX IR version stored in the model (8 for opset 17, for example). */
  irVersion: number;
  /** Extra operator sets, for nodes outside the default domain. */
  extraOpsets?: readonly { domain: string; version: number }[];
  producerName?: string;
}

/** Collects a graph's declarations in call order; the same calls always give the same bytes. */
export class GraphBuilder {
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  // Inputs, initializers and node outputs share one namespace in an ONNX graph.
  private readonly valueNames = new Set<string>();

  constructor(private readonly name = 'graph') {}

  private declare(name: string): void {
    if (name === '') throw new RangeError('value names must be non-empty');
    if (this.valueNames.has(name)) throw new RangeError(`value ${name} is already defined`);
    this.valueNames.add(name);
  }

  /** Declares a graph input. */
  input(name: string, type: ElementType, dims: readonly Dim[]): this {
    this.declare(name);
    this.inputs.push(valueInfo(name, type, dims));
    return this;
  }

  /** Declares a graph output; some node (or an input) must produce a value of that name. */
  output(name: string, type: ElementType, dims: readonly Dim[]): this {
    if (this.outputs.some((o) => o.name === name)) {
      throw new RangeError(`output ${name} is already declared`);
    }
    this.outputs.push(valueInfo(name, type, dims));
    return this;
  }

  /** Adds a constant tensor that nodes can consume by name. */
  initializer<T extends ElementType>(name: string, type: T, dims: readonly number[], values: TensorValues<T>): this {
    const tensor = tensorProto(name, type, dims, values);
    this.declare(name);
    this.initializers.push(tensor);
    return this;
  }

  /**
   * Appends a node. Nodes must be added in topological order, as ONNX requires; an empty string
   * in `inputs` marks an omitted optional input.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    options: NodeOptions = {},
  ): this {
    for (const input of inputs) {
      if (input !== '' && !this.valueNames.has(input)) {
        throw new RangeError(`${opType} node reads ${input}, which is not defined yet`);
      }
    }
    for (const output of outputs) this.declare(output);
    const node: NodeProto = {
      input: [...inputs],
      output: [...outputs],
      name: options.name ?? `${opType}_${this.nodes.length}`,
      op_type: opType,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    };
    if (options.domain !== undefined) node.domain = options.domain;
    this.nodes.push(node);
    return this;
  }

  /** The ModelProto message, for inspection or further editing before encoding. */
  toModel(options: ModelOptions): ModelProto {
    for (const output of this.outputs) {
      if (!this.valueNames.has(output.name)) {
        throw new RangeError(`output ${output.name} is not produced by the graph`);
      }
    }
    return {
      ir_version: options.irVersion,
      opset_import: [
        { domain: '', version: options.opset },
        ...(options.extraOpsets ?? []).map((o) => ({ domain: o.domain, version: o.version })),
      ],
      producer_name: options.producerName ?? 'inferd',
      graph: {
        node: [...this.nodes],
        name: this.name,
        initializer: [...this.initializers],
        input: [...this.inputs],
        output: [...this.outputs],
      },
    };
  }

  /** The serialised model, ready to write as model.onnx or hand to an inference session. */
  toBytes(options: ModelOptions): Uint8Array {
    return encodeModel(this.toModel(options));
  }
}
