// Fuzzing of the infer request decoders: the v2 REST body (JSON, and JSON with binary tensor
// data), the WebSocket stream's message framing, the reserved request parameters and the gRPC
// ModelInferRequest. Valid requests decode; mutated ones give a value or a 4xx InferdError.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { GraphTensor } from '../../src/config/graph-signature.js';
import { decodeInferBody, parseHeaderLength } from '../../src/core/infer-body-decoder.js';
import { parseRequestParameters } from '../../src/core/request-parameters.js';
import { decodeModelInferRequest } from '../../src/protocols/kserve-grpc/infer-request-decoder.js';
import type {
  InferParameter,
  InferTensorContents,
  ModelInferRequest,
} from '../../src/protocols/kserve-grpc/wire-types.js';
import { unframeMessage, requestIdOf } from '../../src/protocols/kserve-ws/stream-framing.js';
import { DATATYPES } from '../../src/tensor/datatype.js';
import { CaseCounter, edgeNumber, hostileJson, mutatedBytes, mutatedJson, params, valueOr4xx } from './fuzz-support.js';

const counter = new CaseCounter();
const LIMITS = { maxTensorBytes: 1 << 20 };

function graphTensor(name: string, datatype: 'INT32' | 'BYTES', shape: number[]): GraphTensor {
  return { name, isTensor: true, datatype, elementType: datatype === 'INT32' ? 'int32' : 'string', shape };
}

/** The `simple` example model's config as the repository resolves it. */
function simpleConfig(): ResolvedModelConfig {
  const parsed = modelConfigSchema.parse({
    max_batch_size: 8,
    input: [
      { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    output: [
      { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
  });
  const graph = {
    inputs: [graphTensor('INPUT0', 'INT32', [-1, 16]), graphTensor('INPUT1', 'INT32', [-1, 16])],
    outputs: [graphTensor('OUTPUT0', 'INT32', [-1, 16]), graphTensor('OUTPUT1', 'INT32', [-1, 16])],
  };
  const resolved = resolveModelConfig({ name: 'simple', dir: 'simple', configFiles: ['config.yaml'] }, parsed, graph);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues));
  return resolved.value;
}

const CONFIG = simpleConfig();

// ---------------------------------------------------------------------------------------------
// REST bodies

const int32s = fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 16, maxLength: 16 });

/** A valid JSON `simple` request of batch 1 or 2 with optional parameters and outputs. */
const validJsonRequest = fc
  .record({
    batch: fc.integer({ min: 1, max: 2 }),
    a: int32s,
    b: int32s,
    id: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
    priority: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    outputs: fc.option(fc.subarray(['OUTPUT0', 'OUTPUT1'], { minLength: 1 }), { nil: undefined }),
  })
  .map(({ batch, a, b, id, priority, outputs }) => {
    const rows = (v: number[]): number[] => Array.from({ length: batch }, () => v).flat();
    return {
      ...(id === undefined ? {} : { id }),
      ...(priority === undefined ? {} : { parameters: { priority } }),
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16], data: rows(a) },
        { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16], data: rows(b) },
      ],
      ...(outputs === undefined ? {} : { outputs: outputs.map((name) => ({ name })) }),
    };
  });

/** A valid binary `simple` request: the JSON header, then INPUT0's and INPUT1's bytes. */
const validBinaryRequest = fc.tuple(int32s, int32s, fc.boolean()).map(([a, b, binaryOut]) => {
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
      ],
      parameters: { binary_data_output: binaryOut },
    }),
  );
  const data = Buffer.from(Int32Array.from([...a, ...b]).buffer);
  return { body: Buffer.concat([header, data]), headerLength: header.length };
});

describe('REST infer bodies', () => {
  it('decodes every valid JSON request exactly', () => {
    fc.assert(
      fc.property(validJsonRequest, (request) => {
        counter.add('rest json valid');
        const decoded = decodeInferBody(CONFIG, Buffer.from(JSON.stringify(request)), undefined, LIMITS);
        assert.equal(decoded.batchSize, request.inputs[0]?.shape[0]);
        assert.deepEqual(Array.from(decoded.inputs[0]?.data as Int32Array), request.inputs[0]?.data);
      }),
      params(),
    );
  });

  it('answers mutated JSON requests with a value or a 4xx', () => {
    fc.assert(
      fc.property(mutatedJson(validJsonRequest), (request) => {
        counter.add('rest json mutated');
        const text = JSON.stringify(request) ?? 'undefined';
        valueOr4xx(() => decodeInferBody(CONFIG, Buffer.from(text), undefined, LIMITS));
      }),
      params(),
    );
  });

  it('answers mutated JSON text with a value or a 4xx', () => {
    const text = validJsonRequest.map((r) => Buffer.from(JSON.stringify(r)));
    fc.assert(
      fc.property(mutatedBytes(text), (body) => {
        counter.add('rest json bytes mutated');
        valueOr4xx(() => decodeInferBody(CONFIG, body, undefined, LIMITS));
      }),
      params(),
    );
  });

  it('decodes every valid binary request exactly', () => {
    fc.assert(
      fc.property(validBinaryRequest, ({ body, headerLength }) => {
        counter.add('rest binary valid');
        const decoded = decodeInferBody(CONFIG, body, headerLength, LIMITS);
        const data = new Int32Array(Uint8Array.from(body.subarray(headerLength)).buffer);
        assert.deepEqual(Array.from(decoded.inputs[1]?.data as Int32Array), Array.from(data.subarray(16)));
      }),
      params(),
    );
  });

  it('answers mutated binary requests and header lengths with a value or a 4xx', () => {
    const header = fc.oneof(
      fc.constant(undefined),
      fc.nat().map(String),
      fc.constantFrom('', '-1', '1e3', ' 12 ', '0x10', '99999999999999999999', 'abc'),
      fc.array(fc.nat(300).map(String), { maxLength: 2 }),
    );
    fc.assert(
      fc.property(
        validBinaryRequest,
        mutatedBytes(validBinaryRequest.map((r) => r.body)),
        header,
        fc.boolean(),
        (valid, body, headerText, keep) => {
          counter.add('rest binary mutated');
          valueOr4xx(() => {
            const length = keep
              ? Math.min(valid.headerLength, body.length)
              : parseHeaderLength(headerText, body.length);
            return decodeInferBody(CONFIG, body, length, LIMITS);
          });
        },
      ),
      params(),
    );
  });
});

describe('WebSocket stream framing', () => {
  it('unframes every valid binary message and answers mutated ones with a value or a 4xx', () => {
    const framed = validBinaryRequest.map(({ body, headerLength }) => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(headerLength);
      return Buffer.concat([prefix, body]);
    });
    fc.assert(
      fc.property(framed, mutatedBytes(framed), fc.boolean(), (valid, mutated, isBinary) => {
        counter.add('ws framing');
        const message = unframeMessage(valid, true);
        assert.equal(decodeInferBody(CONFIG, message.body, message.headerLength, LIMITS).inputs.length, 2);
        valueOr4xx(() => {
          const m = unframeMessage(mutated, isBinary);
          requestIdOf(m);
          return decodeInferBody(CONFIG, m.body, m.headerLength, LIMITS);
        });
      }),
      params(),
    );
  });
});

describe('request parameters', () => {
  it('accept valid values and answer any others with a 4xx', () => {
    const value = fc.oneof(
      edgeNumber,
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
      fc.string({ maxLength: 300 }),
      fc.boolean(),
      hostileJson,
    );
    const keys = fc.constantFrom(
      'priority',
      'timeout',
      'sequence_id',
      'sequence_start',
      'sequence_end',
      'binary_data_output',
      'other',
    );
    fc.assert(
      fc.property(fc.dictionary(keys, value), (p) => {
        counter.add('request parameters');
        const outcome = valueOr4xx(() => parseRequestParameters(p));
        if ('value' in outcome) assert.ok(outcome.value.priority >= 0 && outcome.value.priority <= 255);
      }),
      params(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// gRPC ModelInferRequest, as proto-loader decodes it

const int64Text = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  fc.constantFrom('0', '16', '1', '-1', '9223372036854775807'),
);
const uint64Text = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);

const grpcParameter: fc.Arbitrary<InferParameter> = fc.oneof(
  fc.record({ parameter_choice: fc.constant('bool_param' as const), bool_param: fc.boolean() }),
  fc.record({ parameter_choice: fc.constant('int64_param' as const), int64_param: int64Text }),
  fc.record({ parameter_choice: fc.constant('uint64_param' as const), uint64_param: uint64Text }),
  fc.record({ parameter_choice: fc.constant('string_param' as const), string_param: fc.string({ maxLength: 300 }) }),
  fc.record({ parameter_choice: fc.constant('double_param' as const), double_param: fc.double() }),
  fc.constant({}),
);
const grpcParameters = fc.dictionary(
  fc.constantFrom('priority', 'timeout', 'sequence_id', 'sequence_start', 'sequence_end', 'classification', 'x'),
  grpcParameter,
  { maxKeys: 3 },
);

const emptyContents: InferTensorContents = {
  bool_contents: [],
  int_contents: [],
  int64_contents: [],
  uint_contents: [],
  uint64_contents: [],
  fp32_contents: [],
  fp64_contents: [],
  bytes_contents: [],
};

const contents: fc.Arbitrary<InferTensorContents> = fc
  .record(
    {
      bool_contents: fc.array(fc.boolean(), { maxLength: 40 }),
      int_contents: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 40 }),
      int64_contents: fc.array(int64Text, { maxLength: 40 }),
      uint_contents: fc.array(fc.nat(), { maxLength: 40 }),
      uint64_contents: fc.array(uint64Text, { maxLength: 40 }),
      fp32_contents: fc.array(fc.float(), { maxLength: 40 }),
      fp64_contents: fc.array(fc.double(), { maxLength: 40 }),
      bytes_contents: fc.array(
        fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
        { maxLength: 40 },
      ),
    },
    { requiredKeys: [] },
  )
  .map((c) => ({ ...emptyContents, ...c }));

const grpcInput = fc.record(
  {
    name: fc.oneof(fc.constantFrom('INPUT0', 'INPUT1', '', 'OTHER'), fc.string({ maxLength: 8 })),
    datatype: fc.oneof(fc.constantFrom(...DATATYPES), fc.string({ maxLength: 6 })),
    shape: fc.oneof(
      fc.constantFrom(['1', '16'], ['2', '16'], ['16'], [], ['0', '16']),
      fc.array(int64Text, { maxLength: 5 }),
    ),
    parameters: grpcParameters,
    contents: fc.option(contents, { nil: undefined }),
  },
  { requiredKeys: ['shape', 'parameters'] },
);

const grpcRequest: fc.Arbitrary<ModelInferRequest> = fc.record({
  parameters: grpcParameters,
  inputs: fc.array(grpcInput, { maxLength: 3 }),
  outputs: fc.array(
    fc.record(
      { name: fc.constantFrom('OUTPUT0', 'OUTPUT1', '', 'NOPE'), parameters: grpcParameters },
      { requiredKeys: ['parameters'] },
    ),
    { maxLength: 3 },
  ),
  raw_input_contents: fc.oneof(
    fc.constant([]),
    fc.array(
      fc.oneof(
        fc.constant(Buffer.alloc(64)),
        fc.uint8Array({ maxLength: 130 }).map((b) => Buffer.from(b)),
      ),
      { maxLength: 3 },
    ),
  ),
});

describe('gRPC ModelInferRequest decoding', () => {
  it('decodes a valid request and answers arbitrary ones with a value or a 4xx', () => {
    const valid: ModelInferRequest = {
      parameters: {},
      inputs: ['INPUT0', 'INPUT1'].map((name) => ({
        name,
        datatype: 'INT32',
        shape: ['1', '16'],
        parameters: {},
        contents: { ...emptyContents, int_contents: Array.from({ length: 16 }, (_, i) => i) },
      })),
      outputs: [],
      raw_input_contents: [],
    };
    assert.equal(decodeModelInferRequest(CONFIG, valid, LIMITS).batchSize, 1);
    fc.assert(
      fc.property(grpcRequest, (request) => {
        counter.add('grpc request');
        valueOr4xx(() => decodeModelInferRequest(CONFIG, request, LIMITS));
      }),
      params(),
    );
  });
});

it('reports the cases run', (t) => {
  assert.ok(counter.total > 0);
  counter.report(t, 'infer-body');
});
