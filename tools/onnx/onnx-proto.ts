// The subset of onnx.proto (onnx/onnx, onnx/onnx.proto) needed to write models, as a protobufjs
// reflection definition, with typed message shapes and an encoder for ModelProto.

import protobuf from 'protobufjs';

/** TensorProto.DataType values. */
export const ONNX_DATA_TYPE = Object.freeze({
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const);

export type OnnxDataType = (typeof ONNX_DATA_TYPE)[keyof typeof ONNX_DATA_TYPE];

/** AttributeProto.AttributeType values for the attribute kinds the schema carries. */
export const ONNX_ATTRIBUTE_TYPE = Object.freeze({
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
} as const);

export type OnnxAttributeType = (typeof ONNX_ATTRIBUTE_TYPE)[keyof typeof ONNX_ATTRIBUTE_TYPE];

// Field names stay snake_case, as in onnx.proto, so the message shapes below read like the spec.
// int64 fields are written from JS numbers; every value the builder emits (dims, opset, IR
// version, attributes) is far below 2^53.

export interface OperatorSetIdProto {
  domain?: string;
  version: number;
}

export interface TensorProto {
  dims: number[];
  data_type: OnnxDataType;
  name?: string;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: number[];
  raw_data?: Uint8Array;
  double_data?: number[];
  uint64_data?: number[];
}

export interface AttributeProto {
  name: string;
  type: OnnxAttributeType;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  attribute?: AttributeProto[];
  domain?: string;
}

/** Exactly one of dim_value and dim_param; neither means an unknown, unnamed dimension. */
export interface DimensionProto {
  dim_value?: number;
  dim_param?: string;
}

export interface TensorShapeProto {
  dim: DimensionProto[];
}

export interface TypeProtoTensor {
  elem_type: OnnxDataType;
  shape?: TensorShapeProto;
}

export interface TypeProto {
  tensor_type: TypeProtoTensor;
}

export interface ValueInfoProto {
  name: string;
  type: TypeProto;
}

export interface GraphProto {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
}

export interface ModelProto {
  ir_version: number;
  opset_import: OperatorSetIdProto[];
  producer_name?: string;
  graph: GraphProto;
}

// onnx.proto is proto2: repeated scalars are unpacked unless marked `[packed = true]` (only the
// TensorProto *_data fields are). protobufjs defaults JSON definitions to packed, so every
// repeated scalar states its encoding to match what other ONNX writers emit.
const PACKED = { packed: true } as const;
const UNPACKED = { packed: false } as const;

const ONNX_SUBSET: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opset_import: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: 'string', id: 1 },
            version: { type: 'int64', id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7, options: UNPACKED },
            ints: { rule: 'repeated', type: 'int64', id: 8, options: UNPACKED },
            type: { type: 'AttributeType', id: 20 },
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                INT: 2,
                STRING: 3,
                TENSOR: 4,
                GRAPH: 5,
                FLOATS: 6,
                INTS: 7,
                STRINGS: 8,
                TENSORS: 9,
                GRAPHS: 10,
                SPARSE_TENSOR: 11,
                SPARSE_TENSORS: 12,
                TYPE_PROTO: 13,
                TYPE_PROTOS: 14,
              },
            },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, options: UNPACKED },
            data_type: { type: 'int32', id: 2 },
            float_data: { rule: 'repeated', type: 'float', id: 4, options: PACKED },
            int32_data: { rule: 'repeated', type: 'int32', id: 5, options: PACKED },
            string_data: { rule: 'repeated', type: 'bytes', id: 6 },
            int64_data: { rule: 'repeated', type: 'int64', id: 7, options: PACKED },
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
            double_data: { rule: 'repeated', type: 'double', id: 10, options: PACKED },
            uint64_data: { rule: 'repeated', type: 'uint64', id: 11, options: PACKED },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'TypeProto', id: 2 },
          },
        },
        TypeProto: {
          fields: {
            tensor_type: { type: 'Tensor', id: 1 },
          },
          nested: {
            Tensor: {
              fields: {
                elem_type: { type: 'int32', id: 1 },
                shape: { type: 'TensorShapeProto', id: 2 },
              },
            },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: 'repeated', type: 'Dimension', id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dim_value', 'dim_param'] } },
              fields: {
                dim_value: { type: 'int64', id: 1 },
                dim_param: { type: 'string', id: 2 },
              },
            },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(ONNX_SUBSET);
const modelType = root.lookupType('onnx.ModelProto');

/**
 * Serialises a model. protobufjs writes fields in field-number order and repeated fields in array
 * order, so equal inputs always give identical bytes.
 */
export function encodeModel(model: ModelProto): Uint8Array {
  // Validate first: encode() trusts its input and would silently drop misspelt fields.
  const problem = modelType.verify(model);
  if (problem !== null) throw new Error(`invalid ModelProto: ${problem}`);
  return modelType.encode(model).finish();
}

/**
 * Parses bytes written by encodeModel (or any ONNX file, ignoring fields outside the subset).
 * int64 fields come back as numbers; enum and bytes fields as numbers and Uint8Arrays.
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const message = modelType.decode(bytes);
  // toObject converts protobufjs' Long values to numbers and fills in empty repeated fields,
  // which makes the result match the ModelProto shape.
  return modelType.toObject(message, { longs: Number, enums: Number, arrays: true }) as ModelProto;
}
