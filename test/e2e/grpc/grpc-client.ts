// Shared fixtures for the gRPC end-to-end tests: a generic @grpc/grpc-js client built from the
// project's protos (the same loader options as the server), promise wrappers for unary calls and
// status assertions.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';
import type { TestServer } from '../../helpers/test-server.js';

export type Message = Record<string, unknown>;

export interface Clients {
  readonly inference: grpc.Client;
  readonly health: grpc.Client;
  close(): void;
}

/** Clients for inference.GRPCInferenceService and grpc.health.v1.Health on the server's gRPC port. */
export function connect(server: TestServer, options: grpc.ClientOptions = {}): Clients {
  assert.ok(server.grpcPort !== undefined, 'the test server has a gRPC port');
  const protos = loadInferenceProtos();
  const address = `127.0.0.1:${server.grpcPort}`;
  const credentials = grpc.credentials.createInsecure();
  // The client's own limits are lifted so the server's limits are the ones tested.
  const opts = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1, ...options };
  const inference = new protos.inference(address, credentials, opts);
  const health = new protos.health(address, credentials, opts);
  return {
    inference,
    health,
    close() {
      inference.close();
      health.close();
    },
  };
}

type UnaryMethod = (
  request: Message,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Message) => void,
) => grpc.ClientUnaryCall;

/** Calls a unary RPC by its proto name; rejects with the ServiceError on a non-OK status. */
export function unary(
  client: grpc.Client,
  method: string,
  request: Message,
  options: grpc.CallOptions = {},
): Promise<Message> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  assert.ok(typeof fn === 'function', `client has method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), options, (err, response) => {
      if (err !== null) reject(err);
      else resolve(response ?? {});
    });
  });
}

/**
 * Calls a unary RPC that must fail; asserts the status code and that the details contain every
 * fragment and no stack trace. Returns the error.
 */
export async function unaryError(
  client: grpc.Client,
  method: string,
  request: Message,
  code: grpc.status,
  ...fragments: string[]
): Promise<grpc.ServiceError> {
  try {
    await unary(client, method, request);
  } catch (err) {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, code, `status of "${e.details}" (${grpc.status[e.code]})`);
    for (const f of fragments) assert.ok(e.details.includes(f), `"${e.details}" should mention "${f}"`);
    assert.doesNotMatch(e.details, /\n\s+at |\.ts:\d|\.js:\d|node_modules/, 'details carry no stack trace');
    return e;
  }
  assert.fail(`${method} succeeded but should have failed with ${grpc.status[code]}`);
}

export function streamInfer(
  client: grpc.Client,
  options: grpc.CallOptions = {},
): grpc.ClientDuplexStream<Message, Message> {
  const fn = (
    client as unknown as Record<
      string,
      (m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<Message, Message>
    >
  ).ModelStreamInfer;
  assert.ok(fn !== undefined);
  return fn.call(client, new grpc.Metadata(), options);
}

// ---------------------------------------------------------------------------------------------
// Tensors

export function int32Bytes(values: readonly number[]): Buffer {
  return Buffer.from(Int32Array.from(values).buffer);
}

export function readInt32(bytes: Uint8Array): number[] {
  const copy = Uint8Array.from(bytes);
  return Array.from(new Int32Array(copy.buffer, 0, copy.byteLength / 4));
}

/** The simple model's inputs used throughout: INPUT0 = 0..15, INPUT1 = 1 everywhere. */
export const SIMPLE_IN0 = Array.from({ length: 16 }, (_, i) => i);
export const SIMPLE_IN1 = Array.from({ length: 16 }, () => 1);
export const SIMPLE_SUM = SIMPLE_IN0.map((v, i) => v + (SIMPLE_IN1[i] ?? 0));
export const SIMPLE_DIFF = SIMPLE_IN0.map((v, i) => v - (SIMPLE_IN1[i] ?? 0));

/** A `simple` request with typed int_contents. */
export function simpleTypedRequest(extra: Message = {}): Message {
  return {
    model_name: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], contents: { int_contents: SIMPLE_IN0 } },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], contents: { int_contents: SIMPLE_IN1 } },
    ],
    ...extra,
  };
}

/** A `simple` request with raw_input_contents. */
export function simpleRawRequest(extra: Message = {}): Message {
  return {
    model_name: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] },
    ],
    raw_input_contents: [int32Bytes(SIMPLE_IN0), int32Bytes(SIMPLE_IN1)],
    ...extra,
  };
}

export interface OutputTensor {
  readonly name: string;
  readonly datatype: string;
  /** int64 shape values, decoded (the loader gives decimal strings). */
  readonly shape: number[];
  readonly raw: Buffer;
}

/** The outputs of a ModelInferResponse, paired with their raw_output_contents, by name. */
export function outputs(response: Message): Map<string, OutputTensor> {
  const list = response.outputs as { name: string; datatype: string; shape: string[] }[];
  const raw = response.raw_output_contents as Buffer[];
  assert.equal(raw.length, list.length, 'one raw_output_contents entry per output');
  return new Map(
    list.map((o, i) => [o.name, { name: o.name, datatype: o.datatype, shape: o.shape.map(Number), raw: raw[i]! }]),
  );
}

export function output(response: Message, name: string): OutputTensor {
  const o = outputs(response).get(name);
  assert.ok(o !== undefined, `response has output '${name}'`);
  return o;
}

/** Sends a known-good `simple` request and checks its exact sums, proving the server still serves. */
export async function assertStillServing(client: grpc.Client): Promise<void> {
  const response = await unary(client, 'ModelInfer', simpleTypedRequest());
  assert.deepEqual(readInt32(output(response, 'OUTPUT0').raw), SIMPLE_SUM);
  assert.deepEqual(readInt32(output(response, 'OUTPUT1').raw), SIMPLE_DIFF);
}
