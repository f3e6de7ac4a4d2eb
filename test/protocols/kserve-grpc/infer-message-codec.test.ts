// The hand-written ModelInferRequest / ModelInferResponse codec agrees with protobufjs (through
// proto-loader, with the server's options) on every field: generated requests decode to the same
// objects, responses encoded here decode with protobufjs to what was given, and raw contents are
// views into the received bytes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeModelInferRequestMessage,
  encodeModelInferResponseMessage,
} from '../../../src/protocols/kserve-grpc/infer-message-codec.js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';
import type { ModelInferResponse } from '../../../src/protocols/kserve-grpc/wire-types.js';

const method = loadInferenceProtos().inference.service.ModelInfer!;

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated(rnd: () => number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const maybe = (p = 0.5): boolean => rnd() < p;
  const int64 = (): string => pick(['0', '1', '-1', '9007199254740993', '-9223372036854775808', '42']);
  const uint64 = (): string => pick(['0', '1', '18446744073709551615', '9007199254740993', '7']);
  const text = (): string => pick(['', 'a', 'INPUT0', 'modèle', 'x'.repeat(200), '日本']);
  const param = (): Record<string, unknown> =>
    pick([
      { bool_param: maybe() },
      { int64_param: int64() },
      { string_param: text() },
      { double_param: pick([0.5, -1e300, 3, Infinity]) },
      { uint64_param: uint64() },
    ]);
  const params = (): Record<string, unknown> =>
    Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, (_, i) => [`p${i}${text()}`, param()]));
  const n = (): number => Math.floor(rnd() * 4);
  const contents = (): Record<string, unknown> => ({
    bool_contents: Array.from({ length: n() }, () => maybe()),
    int_contents: Array.from({ length: n() }, () => pick([0, 1, -1, 2147483647, -2147483648])),
    int64_contents: Array.from({ length: n() }, int64),
    uint_contents: Array.from({ length: n() }, () => pick([0, 1, 4294967295])),
    uint64_contents: Array.from({ length: n() }, uint64),
    fp32_contents: Array.from({ length: n() }, () => pick([0, 1.5, -2.25])),
    fp64_contents: Array.from({ length: n() }, () => pick([0, 0.1, -1e-300])),
    bytes_contents: Array.from({ length: n() }, () => Buffer.from(text())),
  });
  return {
    ...(maybe() ? { model_name: text() } : {}),
    ...(maybe() ? { model_version: pick(['', '1', '12']) } : {}),
    ...(maybe() ? { id: text() } : {}),
    parameters: params(),
    inputs: Array.from({ length: n() }, () => ({
      ...(maybe(0.8) ? { name: text() } : {}),
      ...(maybe(0.8) ? { datatype: pick(['FP32', 'INT64', 'BYTES']) } : {}),
      shape: Array.from({ length: n() }, () => pick(['1', '16', '-1', '4294967296'])),
      parameters: params(),
      ...(maybe() ? { contents: contents() } : {}),
    })),
    outputs: Array.from({ length: n() }, () => ({ ...(maybe() ? { name: text() } : {}), parameters: params() })),
    raw_input_contents: Array.from({ length: n() }, () => Buffer.from(Array.from({ length: n() * 3 }, () => 7))),
  };
}

describe('the ModelInfer message codec', () => {
  it('decodes 2,000 generated requests exactly as protobufjs does', () => {
    const rnd = random(20261206);
    for (let i = 0; i < 2000; i++) {
      const bytes = method.requestSerialize(generated(rnd));
      assert.deepStrictEqual(
        { ...decodeModelInferRequestMessage(bytes) },
        { ...(method.requestDeserialize(bytes) as object) },
        `request ${i}`,
      );
    }
  });

  it('reads raw_input_contents as views into the message, not copies', () => {
    const bytes = method.requestSerialize({ raw_input_contents: [Buffer.from([1, 2, 3, 4])] });
    const [raw] = decodeModelInferRequestMessage(bytes).raw_input_contents;
    assert.ok(raw !== undefined);
    assert.equal(raw.buffer, bytes.buffer);
    assert.deepEqual([...raw], [1, 2, 3, 4]);
  });

  it('refuses a truncated message', () => {
    const bytes = method.requestSerialize({ model_name: 'simple', raw_input_contents: [Buffer.alloc(16)] });
    assert.throws(() => decodeModelInferRequestMessage(bytes.subarray(0, bytes.length - 3)), /truncated/);
  });

  it('encodes responses that protobufjs decodes to what was given', () => {
    const response: ModelInferResponse = {
      model_name: 'modèle',
      model_version: '3',
      id: '',
      parameters: { variant: { string_param: 'b' } },
      outputs: [
        { name: 'OUTPUT0', datatype: 'FP32', shape: [2, 300] },
        { name: 'scalar', datatype: 'INT64', shape: [] },
      ],
      raw_output_contents: [new Uint8Array(2400).fill(9), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])],
    };
    const bytes = encodeModelInferResponseMessage(response);
    assert.ok(bytes !== undefined);
    const back = method.responseDeserialize(bytes) as Record<string, unknown>;
    assert.equal(back.model_name, 'modèle');
    assert.equal(back.model_version, '3');
    assert.deepEqual(back.parameters, { variant: { parameter_choice: 'string_param', string_param: 'b' } });
    assert.deepEqual(back.outputs, [
      { name: 'OUTPUT0', datatype: 'FP32', shape: ['2', '300'], parameters: {} },
      { name: 'scalar', datatype: 'INT64', shape: [], parameters: {} },
    ]);
    const raw = back.raw_output_contents as Buffer[];
    assert.deepEqual(
      raw.map((b) => b.length),
      [2400, 8],
    );
    assert.equal(raw[0]![2399], 9);
  });

  it('leaves a response of another shape to protobufjs', () => {
    const other = {
      model_name: 'm',
      model_version: '1',
      id: '',
      parameters: { n: { int64_param: '5' } },
      outputs: [],
      raw_output_contents: [],
    } as unknown as ModelInferResponse;
    assert.equal(encodeModelInferResponseMessage(other), undefined);
  });
});
