// The reserved request parameters every edge shares: sequence ids as numbers, bigints (gRPC
// uint64) or strings, 0 and "" meaning none, flags without an id refused, and bad types named.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRequestParameters, sequenceIdText } from '../../src/core/request-parameters.js';

const MAX_UINT64 = 18446744073709551615n;

function refused(params: Record<string, unknown>, message: string): void {
  assert.throws(
    () => parseRequestParameters(params),
    (err) => {
      assert.equal((err as { code?: string }).code, 'INF_ERR_INVALID_ARGUMENT');
      assert.equal((err as Error).message, message);
      return true;
    },
  );
}

describe('parseRequestParameters: sequence', () => {
  it('reads an integer id as a bigint, with its flags', () => {
    assert.deepEqual(parseRequestParameters({ sequence_id: 42, sequence_start: true }).sequence, {
      id: 42n,
      start: true,
      end: false,
    });
  });

  it('keeps a uint64 id given as a bigint exactly, up to 2^64-1', () => {
    assert.equal(parseRequestParameters({ sequence_id: MAX_UINT64, sequence_end: true }).sequence?.id, MAX_UINT64);
    refused(
      { sequence_id: MAX_UINT64 + 1n },
      'parameter "sequence_id" must be an unsigned 64-bit integer or a string, got 18446744073709551616',
    );
  });

  it('reads a string id as a string', () => {
    assert.deepEqual(parseRequestParameters({ sequence_id: 'stream-7', sequence_end: true }).sequence, {
      id: 'stream-7',
      start: false,
      end: true,
    });
  });

  it('treats 0, 0n and "" as no sequence', () => {
    for (const id of [0, 0n, '']) assert.equal(parseRequestParameters({ sequence_id: id }).sequence, undefined);
    assert.equal(parseRequestParameters({}).sequence, undefined);
  });

  it('refuses sequence_start or sequence_end without a non-zero id', () => {
    const message = 'parameters "sequence_start" and "sequence_end" need a non-zero "sequence_id"';
    refused({ sequence_start: true }, message);
    refused({ sequence_id: 0, sequence_end: true }, message);
    // false flags without an id are harmless.
    assert.equal(parseRequestParameters({ sequence_start: false }).sequence, undefined);
  });

  it('refuses ids that are negative, fractional, unsafe or of another type, echoing the value', () => {
    const message = (v: string) => `parameter "sequence_id" must be an unsigned 64-bit integer or a string, got ${v}`;
    refused({ sequence_id: -1 }, message('-1'));
    refused({ sequence_id: 1.5 }, message('1.5'));
    refused({ sequence_id: 2 ** 60 }, message('1152921504606847000'));
    refused({ sequence_id: true }, message('true'));
    refused({ sequence_id: -3n }, message('-3'));
  });

  it('refuses flags that are not booleans, naming the parameter', () => {
    refused({ sequence_id: 1, sequence_start: 1 }, 'parameter "sequence_start" must be true or false, got 1');
    refused({ sequence_id: 1, sequence_end: 'yes' }, 'parameter "sequence_end" must be true or false, got "yes"');
  });

  it('refuses a string id longer than 256 characters', () => {
    assert.equal(parseRequestParameters({ sequence_id: 'x'.repeat(256) }).sequence?.id, 'x'.repeat(256));
    refused({ sequence_id: 'x'.repeat(257) }, 'parameter "sequence_id" is longer than 256 characters');
  });

  it('shows ids in messages as numbers or quoted strings', () => {
    assert.equal(sequenceIdText(MAX_UINT64), '18446744073709551615');
    assert.equal(sequenceIdText('a"b'), '"a\\"b"');
  });
});

describe('parseRequestParameters: priority and timeout', () => {
  it('defaults both to 0 and accepts bigints from gRPC', () => {
    assert.deepEqual(parseRequestParameters({}), {
      priority: 0,
      timeoutUs: 0,
      sequence: undefined,
      routingKey: undefined,
    });
    assert.deepEqual(parseRequestParameters({ priority: 3n, timeout: 5000n }), {
      priority: 3,
      timeoutUs: 5000,
      sequence: undefined,
      routingKey: undefined,
    });
  });

  it('takes routing_key as a string or an integer, and refuses others', () => {
    assert.equal(parseRequestParameters({ routing_key: 'alice' }).routingKey, 'alice');
    assert.equal(parseRequestParameters({ routing_key: 42 }).routingKey, '42');
    assert.equal(parseRequestParameters({ routing_key: 42n }).routingKey, '42');
    const message = (shown: string) =>
      `parameter "routing_key" must be a non-empty string or an integer of at most 256 characters, got ${shown}`;
    refused({ routing_key: '' }, message('""'));
    refused({ routing_key: true }, message('true'));
  });

  it('refuses out-of-range or mistyped values', () => {
    refused({ priority: 256 }, 'parameter "priority" must be 0 (the default level) to 255, got 256');
    refused({ priority: -1 }, 'parameter "priority" must be a non-negative integer, got -1');
    refused({ timeout: '10' }, 'parameter "timeout" (microseconds) must be a non-negative integer, got "10"');
  });
});
