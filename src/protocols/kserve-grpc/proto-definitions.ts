// Loads the project's .proto files (proto/) with @grpc/proto-loader. The same definitions serve
// the server and any client in this repository (tests, benchmarks), so both sides agree on the
// decoding options below.

import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** proto/ at the package root, from src/protocols/kserve-grpc/ and from dist/protocols/kserve-grpc/. */
export const PROTO_DIR = path.resolve(import.meta.dirname, '../../../proto');

/**
 * Decoding options, chosen deliberately:
 * - keepCase: field names as the .proto spells them (model_name, raw_input_contents), the same
 *   names the REST JSON and Triton's docs use.
 * - longs: String: int64/uint64 (shapes, int64 contents, sequence_id, statistics) decode to exact
 *   decimal strings; the edge turns them into bigint or checked safe integers. Number would round
 *   uint64 sequence ids and INT64 tensor values above 2^53 silently.
 * - bytes left as Buffer (the default): raw_input_contents are views into the received message,
 *   with no base64 or array conversion on the hot path.
 * - enums: String: DataType and health statuses read and write as their names (TYPE_FP32, SERVING).
 * - defaults: false, arrays: true, objects: true, oneofs: true: absent scalars stay undefined (no
 *   per-field allocation), repeated fields and maps are always present, and an InferParameter
 *   names its set member in `parameter_choice`.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface InferenceProtos {
  /** inference.GRPCInferenceService: the service definition and a generic client constructor. */
  readonly inference: grpc.ServiceClientConstructor;
  /** grpc.health.v1.Health. */
  readonly health: grpc.ServiceClientConstructor;
}

let cached: InferenceProtos | undefined;

/** Parses the protos once per process. */
export function loadInferenceProtos(): InferenceProtos {
  if (cached !== undefined) return cached;
  const definition = protoLoader.loadSync(['grpc_service.proto', 'health.proto'], LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(definition);
  const inference = (root.inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
  const v1 = ((root.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject;
  cached = { inference, health: v1.Health as grpc.ServiceClientConstructor };
  return cached;
}
