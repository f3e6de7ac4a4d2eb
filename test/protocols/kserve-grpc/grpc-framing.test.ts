// The length-prefixed message reader: whole messages in one chunk are views into it (no copy),
// messages spread over chunks are joined, and a declared length over the limit is refused before
// its bytes arrive. grpc-timeout and grpc-message follow PROTOCOL-HTTP2.md.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeGrpcMessage,
  frameMessage,
  GrpcCallError,
  GrpcFrameReader,
  parseGrpcTimeout,
} from '../../../src/protocols/kserve-grpc/grpc-framing.js';

const texts = (frames: readonly { body: Buffer }[]): string[] => frames.map((f) => f.body.toString('utf8'));

describe('GrpcFrameReader', () => {
  it('reads several messages from one chunk as views into it', () => {
    const chunk = Buffer.concat([frameMessage(Buffer.from('one')), frameMessage(Buffer.from('two'))]);
    const frames = new GrpcFrameReader(1024).push(chunk);
    assert.deepEqual(texts(frames), ['one', 'two']);
    assert.equal(frames[0]!.body.buffer, chunk.buffer, 'no copy');
    assert.equal(frames[0]!.compressed, false);
  });

  it('joins a message spread over chunks, and keeps the start of the next', () => {
    const bytes = Buffer.concat([frameMessage(Buffer.from('hello')), frameMessage(Buffer.from('world'))]);
    const reader = new GrpcFrameReader(1024);
    assert.deepEqual(texts(reader.push(bytes.subarray(0, 3))), []);
    assert.deepEqual(texts(reader.push(bytes.subarray(3, 13))), ['hello']);
    assert.equal(reader.pendingBytes, 3);
    assert.deepEqual(texts(reader.push(bytes.subarray(13))), ['world']);
    assert.equal(reader.pendingBytes, 0);
  });

  it('refuses a declared length over the limit with RESOURCE_EXHAUSTED', () => {
    const prefix = Buffer.from([0, 0, 0, 4, 1]);
    assert.throws(
      () => new GrpcFrameReader(1024).push(prefix),
      (err: unknown) => err instanceof GrpcCallError && err.status.code === 8 && /1025 vs\. 1024/.test(err.message),
    );
  });
});

describe('grpc-timeout and grpc-message', () => {
  it('reads every unit and refuses what is not one', () => {
    assert.equal(parseGrpcTimeout('2H'), 7_200_000);
    assert.equal(parseGrpcTimeout('3M'), 180_000);
    assert.equal(parseGrpcTimeout('5S'), 5000);
    assert.equal(parseGrpcTimeout('250m'), 250);
    assert.equal(parseGrpcTimeout('1500u'), 1.5);
    assert.equal(parseGrpcTimeout('2000000n'), 2);
    for (const bad of ['', '5', '123456789S', '1.5S', '-1S', '5s'])
      assert.throws(() => parseGrpcTimeout(bad), GrpcCallError, bad);
  });

  it('percent-encodes what is not printable ASCII, and % itself', () => {
    assert.equal(encodeGrpcMessage('plain text: ok'), 'plain text: ok');
    assert.equal(encodeGrpcMessage('100% è\n'), '100%25 %C3%A8%0A');
  });
});
