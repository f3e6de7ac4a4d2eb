// The messages of proto/grpc_service.proto as proto-loader decodes them with LOADER_OPTIONS
// (proto-definitions.ts): int64/uint64 as decimal strings, bytes as Buffer, repeated fields and
// maps always present, absent scalars undefined. Outgoing messages may use numbers for 64-bit fields.

export type Int64Text = string;

export interface InferParameter {
  readonly parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  readonly bool_param?: boolean;
  readonly int64_param?: Int64Text;
  readonly string_param?: string;
  readonly double_param?: number;
  readonly uint64_param?: Int64Text;
}

export type ParameterMap = Readonly<Record<string, InferParameter>>;

export interface InferTensorContents {
  readonly bool_contents: readonly boolean[];
  readonly int_contents: readonly number[];
  readonly int64_contents: readonly Int64Text[];
  readonly uint_contents: readonly number[];
  readonly uint64_contents: readonly Int64Text[];
  readonly fp32_contents: readonly number[];
  readonly fp64_contents: readonly number[];
  readonly bytes_contents: readonly Buffer[];
}

export interface InferInputTensor {
  readonly name?: string;
  readonly datatype?: string;
  readonly shape: readonly Int64Text[];
  readonly parameters: ParameterMap;
  readonly contents?: InferTensorContents;
}

export interface InferRequestedOutputTensor {
  readonly name?: string;
  readonly parameters: ParameterMap;
}

export interface ModelInferRequest {
  readonly model_name?: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters: ParameterMap;
  readonly inputs: readonly InferInputTensor[];
  readonly outputs: readonly InferRequestedOutputTensor[];
  readonly raw_input_contents: readonly Buffer[];
}

export interface InferOutputTensor {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface ModelInferResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id: string;
  /** `variant`: the experiment variant that served the request, when an experiment routed it. */
  readonly parameters?: Readonly<Record<string, InferParameter>>;
  readonly outputs: readonly InferOutputTensor[];
  readonly raw_output_contents: readonly Uint8Array[];
}

export interface ModelStreamInferResponse {
  readonly error_message: string;
  readonly infer_response: Partial<ModelInferResponse>;
}

export interface ModelRef {
  readonly name?: string;
  readonly version?: string;
}

export interface RepositoryIndexRequest {
  readonly repository_name?: string;
  readonly ready?: boolean;
}

export interface RepositoryModelRequest {
  readonly repository_name?: string;
  readonly model_name?: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface HealthCheckRequest {
  readonly service?: string;
}

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
