// Failures on the WebSocket infer stream: a bad request is answered with an error message in its
// place and the stream goes on; an unknown model is refused at the upgrade with the REST status;
// an oversized message closes the connection with 1009 and a reason while the server keeps serving.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { identityModel, simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { binaryMessage, openStream, refusedUpgrade, streamUrl, type StreamClient } from './stream-client.js';

const MAX_BODY = 64 * 1024;

function simpleRequest(id: string, in0 = 1): string {
  return JSON.stringify({
    id,
    inputs: [
      { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(in0) },
      { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(1) },
    ],
  });
}

describe('WebSocket infer stream: errors', () => {
  let dir: string;
  let server: TestServer;
  const streams: StreamClient[] = [];
  const open = async (model: string) => {
    const s = await openStream(streamUrl(server.url, model));
    streams.push(s);
    return s;
  };

  before(async () => {
    dir = await makeRepository([...simpleModel(), ...identityModel('FP32')]);
    server = await startTestServer({ modelRepository: dir, maxBodyBytes: MAX_BODY });
  });
  after(async () => {
    for (const s of streams) s.socket.close();
    await server.close();
    await removeRepository(dir);
  });

  it('answers bad requests in the middle with errors in their place, and serves the ones after', async () => {
    const s = await open('simple');
    s.socket.send(simpleRequest('ok-1', 1));
    s.socket.send(
      JSON.stringify({
        id: 'short',
        inputs: [
          { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: [1, 2, 3] },
          { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(1) },
        ],
      }),
    );
    s.socket.send('{"id": "broken", "inputs": [');
    s.socket.send(
      JSON.stringify({ id: 'no-such-input', inputs: [{ name: 'X', shape: [1], datatype: 'INT32', data: [1] }] }),
    );
    s.socket.send(Buffer.from([1, 2])); // a binary message shorter than its prefix
    s.socket.send(binaryMessage({ id: 'past-the-end', inputs: [] }).subarray(0, 10));
    s.socket.send(simpleRequest('ok-2', 5));

    assert.equal((await s.nextJson()).id, 'ok-1');
    assert.deepEqual(await s.nextJson(), {
      id: 'short',
      error: "input 'INPUT0': expected 16 elements for shape [1,16] but got 3",
      status: 400,
    });
    const broken = await s.nextJson();
    assert.equal(broken.status, 400);
    assert.equal(broken.id, undefined, 'malformed JSON has no id to echo');
    assert.match(String(broken.error), /^malformed JSON in request body: /);
    const unknownInput = await s.nextJson();
    assert.equal(unknownInput.id, 'no-such-input');
    assert.equal(unknownInput.status, 400);
    assert.match(String(unknownInput.error), /'X'/);
    assert.deepEqual(await s.nextJson(), {
      error: 'a binary message starts with a 4-byte little-endian JSON header length; got 2 bytes',
      status: 400,
    });
    const pastTheEnd = await s.nextJson();
    assert.equal(pastTheEnd.status, 400);
    assert.match(String(pastTheEnd.error), /^binary message header length \d+ is past the end of the 6 bytes/);
    const last = await s.nextJson();
    assert.equal(last.id, 'ok-2');
    assert.deepEqual((last.outputs as { data: number[] }[])[0]?.data, new Array<number>(16).fill(6));
  });

  it('refuses an upgrade for an unknown model or version with the REST status and error body', async () => {
    const missing = await refusedUpgrade(streamUrl(server.url, 'nope'));
    assert.equal(missing.status, 404);
    assert.match(missing.body, /"error":".*nope/);
    const badVersion = await refusedUpgrade(streamUrl(server.url, 'simple', '9'));
    assert.equal(badVersion.status, 404);
    assert.match(badVersion.body, /"error":"/);
  });

  it('answers a plain GET on the stream path with 426 Upgrade Required', async () => {
    const reply = await fetch(`${server.url}/v2/models/simple/infer/stream`);
    assert.equal(reply.status, 426);
    assert.equal(reply.headers.get('upgrade'), 'websocket');
    assert.match(((await reply.json()) as { error: string }).error, /WebSocket/);
  });

  it('closes with 1009 and a reason on a message over the body limit; other streams keep working', async () => {
    const bystander = await open('simple');
    const s = await open('identity_fp32');
    s.socket.send(simpleRequest('before'));
    const before = await s.nextJson();
    assert.equal(before.status, 400, 'an answer (an error: wrong model inputs) before the big message');
    s.socket.send(Buffer.alloc(MAX_BODY + 1));
    const { code, reason } = await s.closed;
    assert.equal(code, 1009);
    assert.equal(reason, `message is over the limit of ${MAX_BODY} bytes`);

    bystander.socket.send(simpleRequest('still-here'));
    assert.equal((await bystander.nextJson()).id, 'still-here');
    const fresh = await open('simple');
    fresh.socket.send(simpleRequest('new-connection'));
    assert.equal((await fresh.nextJson()).id, 'new-connection');
    const rest = await fetch(`${server.url}/v2/health/ready`);
    assert.equal(rest.status, 200);
  });

  it('accepts a message exactly at the limit', async () => {
    const s = await open('identity_fp32');
    const header = { id: 'at-limit', inputs: [{ name: 'INPUT0', shape: [1, 0], datatype: 'FP32', data: [] }] };
    // Pad the JSON with spaces up to exactly MAX_BODY bytes.
    const json = JSON.stringify(header);
    s.socket.send(json + ' '.repeat(MAX_BODY - Buffer.byteLength(json)));
    const reply = await s.nextJson();
    assert.equal(reply.id, 'at-limit', JSON.stringify(reply));
  });
});
