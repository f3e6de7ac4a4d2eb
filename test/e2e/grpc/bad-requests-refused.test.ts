// Bad ModelInfer requests are refused with the error table's gRPC status and the same message as
// REST gives for the same mistake, before anything runs; after each, a good request still succeeds.

import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { assertError, postInfer, SIMPLE_JSON_REQUEST, startExamplesServer } from '../rest/rest-wire.js';
import {
  assertStillServing,
  connect,
  int32Bytes,
  SIMPLE_IN0,
  simpleRawRequest,
  simpleTypedRequest,
  unaryError,
  type Clients,
  type Message,
} from './grpc-client.js';

/** Limit on request bodies and gRPC messages for this file: small, so "oversized" is cheap to send. */
const MAX_BYTES = 64 * 1024;

describe('bad gRPC requests are refused and the server keeps serving', () => {
  let server: TestServer;
  let clients: Clients;

  before(async () => {
    server = await startExamplesServer(['simple', 'identity_fp16', 'identity_fp32'], { maxBodyBytes: MAX_BYTES });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
  });

  const refuse = async (request: Message, code: grpc.status, ...fragments: string[]): Promise<string> => {
    const err = await unaryError(clients.inference, 'ModelInfer', request, code, ...fragments);
    await assertStillServing(clients.inference);
    return err.details;
  };

  /** The REST error message for the same mistake in a JSON body. */
  const restMessage = async (model: string, body: unknown, status: number): Promise<string> =>
    assertError(await postInfer(server, model, body), status);

  it("an input in Triton's shared memory is UNIMPLEMENTED, saying what to send instead", async () => {
    await refuse(
      simpleTypedRequest({
        inputs: [
          {
            name: 'INPUT0',
            datatype: 'INT32',
            shape: [1, 16],
            parameters: { shared_memory_region: { string_param: 'in0' }, shared_memory_byte_size: { int64_param: 64 } },
          },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], contents: { int_contents: Array(16).fill(1) } },
        ],
      }),
      grpc.status.UNIMPLEMENTED,
      "input 'INPUT0' names shared_memory_region",
      'raw_input_contents',
    );
  });

  it('an unknown model is NOT_FOUND, with the REST message', async () => {
    const details = await refuse(simpleTypedRequest({ model_name: 'nope' }), grpc.status.NOT_FOUND, "'nope'");
    assert.equal(details, await restMessage('nope', SIMPLE_JSON_REQUEST, 404));
  });

  it('an unknown version is NOT_FOUND and a malformed one INVALID_ARGUMENT', async () => {
    await refuse(simpleTypedRequest({ model_version: '9' }), grpc.status.NOT_FOUND, 'version 9');
    await refuse(simpleTypedRequest({ model_version: 'v1' }), grpc.status.INVALID_ARGUMENT, 'invalid version');
  });

  it('a wrong shape is INVALID_ARGUMENT, with the REST message', async () => {
    const request = simpleTypedRequest();
    const inputs = request.inputs as Message[];
    inputs[0] = { ...inputs[0], shape: [1, 15], contents: { int_contents: SIMPLE_IN0.slice(0, 15) } };
    const details = await refuse(request, grpc.status.INVALID_ARGUMENT, "input 'INPUT0' has shape [1,15]");
    const rest = structuredClone(SIMPLE_JSON_REQUEST);
    rest.inputs[0] = { ...rest.inputs[0]!, shape: [1, 15], data: SIMPLE_IN0.slice(0, 15) };
    assert.equal(details, await restMessage('simple', rest, 400));
  });

  it('a wrong datatype is INVALID_ARGUMENT, with the REST message', async () => {
    const request = simpleTypedRequest();
    const inputs = request.inputs as Message[];
    inputs[0] = { ...inputs[0], datatype: 'FP32', contents: { fp32_contents: SIMPLE_IN0 } };
    const details = await refuse(request, grpc.status.INVALID_ARGUMENT, 'has datatype FP32', 'expects INT32');
    const rest = structuredClone(SIMPLE_JSON_REQUEST);
    rest.inputs[0] = { ...rest.inputs[0]!, datatype: 'FP32' };
    assert.equal(details, await restMessage('simple', rest, 400));
  });

  it('an unknown datatype and a missing input are INVALID_ARGUMENT', async () => {
    const request = simpleTypedRequest();
    (request.inputs as Message[])[0]!.datatype = 'FLOAT';
    await refuse(request, grpc.status.INVALID_ARGUMENT, 'unknown datatype "FLOAT"');
    const missing = simpleTypedRequest();
    (missing.inputs as Message[]).pop();
    await refuse(missing, grpc.status.INVALID_ARGUMENT, "missing 'INPUT1'");
  });

  it('raw_input_contents with typed contents on any input is INVALID_ARGUMENT', async () => {
    const request = simpleRawRequest();
    (request.inputs as Message[])[1]!.contents = { int_contents: SIMPLE_IN0 };
    await refuse(request, grpc.status.INVALID_ARGUMENT, "input 'INPUT1' has contents", 'no input may have contents');
  });

  it('a raw_input_contents count other than one per input is INVALID_ARGUMENT', async () => {
    await refuse(
      simpleRawRequest({ raw_input_contents: [int32Bytes(SIMPLE_IN0)] }),
      grpc.status.INVALID_ARGUMENT,
      'request has 1 raw_input_contents for 2 inputs',
    );
  });

  it('contents whose element count does not match the shape are INVALID_ARGUMENT', async () => {
    const request = simpleTypedRequest();
    (request.inputs as Message[])[0]!.contents = { int_contents: SIMPLE_IN0.slice(0, 10) };
    await refuse(
      request,
      grpc.status.INVALID_ARGUMENT,
      "input 'INPUT0': expected 16 elements in contents.int_contents for shape [1,16] but got 10",
    );
  });

  it('raw bytes that do not match the shape are INVALID_ARGUMENT', async () => {
    await refuse(
      simpleRawRequest({ raw_input_contents: [int32Bytes(SIMPLE_IN0), Buffer.alloc(10)] }),
      grpc.status.INVALID_ARGUMENT,
      "input 'INPUT1': expected 64 bytes of INT32 data for shape [1,16] but got 10",
    );
  });

  it('typed contents in the wrong field for the datatype are INVALID_ARGUMENT', async () => {
    const request = simpleTypedRequest();
    (request.inputs as Message[])[0]!.contents = { int64_contents: SIMPLE_IN0 };
    await refuse(request, grpc.status.INVALID_ARGUMENT, 'contents.int_contents, not contents.int64_contents');
  });

  it('FP16 as typed contents is INVALID_ARGUMENT: it must be raw', async () => {
    await refuse(
      {
        model_name: 'identity_fp16',
        inputs: [{ name: 'INPUT0', datatype: 'FP16', shape: [1, 2], contents: { fp32_contents: [1, 2] } }],
      },
      grpc.status.INVALID_ARGUMENT,
      'FP16 has no typed contents field; send its data in raw_input_contents',
    );
  });

  it('a bad parameter is INVALID_ARGUMENT with the REST message', async () => {
    const details = await refuse(
      simpleTypedRequest({ parameters: { priority: { string_param: 'high' } } }),
      grpc.status.INVALID_ARGUMENT,
      'parameter "priority"',
    );
    const rest = { ...SIMPLE_JSON_REQUEST, parameters: { priority: 'high' } };
    assert.equal(details, await restMessage('simple', rest, 400));
    await refuse(
      simpleTypedRequest({ parameters: { timeout: { int64_param: -5 } } }),
      grpc.status.INVALID_ARGUMENT,
      'parameter "timeout" (microseconds) must be a non-negative integer, got -5',
    );
  });

  it('an unknown requested output is INVALID_ARGUMENT', async () => {
    await refuse(
      simpleTypedRequest({ outputs: [{ name: 'OUTPUT9' }] }),
      grpc.status.INVALID_ARGUMENT,
      "unexpected inference output 'OUTPUT9'",
    );
  });

  it('a message over the size limit is RESOURCE_EXHAUSTED', async () => {
    const rows = 1024; // 1024 × 16 FP32 = 64 KiB of data alone, over the 64 KiB limit with the header
    await refuse(
      {
        model_name: 'identity_fp32',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [rows, 16] }],
        raw_input_contents: [Buffer.alloc(rows * 16 * 4)],
      },
      grpc.status.RESOURCE_EXHAUSTED,
    );
  });
});
