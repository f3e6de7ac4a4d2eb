// Refusals of the moment tell the client when to come back, on every edge of the real server: a
// model that is not ready is a 503 with Retry-After on the OpenAI routes and the KServe REST
// routes (and UNAVAILABLE with retry-after metadata over gRPC); a full engine queue is a 429 with
// Retry-After on the OpenAI routes.

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { simpleModel, type ExampleFile } from '../../../tools/examples/example-models.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';
import { connect, simpleTypedRequest, unaryError } from '../grpc/grpc-client.js';

/** kjv-tiny with one running sequence and no waiting room. */
async function oneSlotDecoder(): Promise<ExampleFile[]> {
  const dir = path.join(EXAMPLES_DIR, 'kjv-tiny');
  const files: ExampleFile[] = [];
  for (const file of await readdir(path.join(dir, '1'))) {
    files.push({ path: `kjv-tiny/1/${file}`, bytes: await readFile(path.join(dir, '1', file)) });
  }
  const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
  const limits = 'text_generation:\n  max_running_sequences: 1\n  max_waiting_sequences: 0\n';
  files.push({ path: 'kjv-tiny/config.yaml', bytes: `${config}\n${limits}` });
  return files;
}

type OpenAIBody = { error: { message: string; type: string; param: string | null; code: string | null } };

describe('Retry-After on refusals', () => {
  let repo = '';
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...(await oneSlotDecoder()),
      // A model whose config does not load: it stays UNAVAILABLE.
      { path: 'misconfigured/1/model.onnx', bytes: simpleModel()[0]?.bytes ?? '' },
      { path: 'misconfigured/config.yaml', bytes: 'max_batch_size: eight\n' },
    ]);
    server = await startTestServer({ modelRepository: repo, logLevel: 'warn' });
  });
  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  const post = (urlPath: string, body: unknown) =>
    fetch(server.url + urlPath, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers an OpenAI request for a model that is not ready with 503 and Retry-After', async () => {
    for (const [route, body] of [
      ['/v1/completions', { model: 'misconfigured', prompt: 'x' }],
      ['/v1/chat/completions', { model: 'misconfigured', messages: [{ role: 'user', content: 'x' }] }],
      ['/v1/embeddings', { model: 'misconfigured', input: 'x' }],
    ] as const) {
      const res = await post(route, body);
      assert.equal(res.status, 503, route);
      assert.equal(res.headers.get('retry-after'), '1', route);
      const { error } = (await res.json()) as OpenAIBody;
      assert.equal(error.type, 'service_unavailable');
      assert.equal(error.param, 'model');
      assert.match(error.message, /^model 'misconfigured' is not ready/);
    }
  });

  it('answers a full engine queue on the OpenAI routes with 429 and one Retry-After', async () => {
    const res = await post('/v1/completions', { model: 'kjv-tiny', prompt: 'And God said', max_tokens: 8, n: 2 });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    const { error } = (await res.json()) as OpenAIBody;
    assert.equal(error.type, 'rate_limit_error');
    assert.equal(error.code, 'rate_limit_exceeded');
  });

  it('answers a KServe request for a model that is not ready with 503 and Retry-After', async () => {
    const data = Array.from({ length: 16 }, (_, i) => i);
    const res = await post('/v2/models/misconfigured/infer', {
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data },
      ],
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.match(((await res.json()) as { error: string }).error, /^model 'misconfigured' is not ready/);
  });

  it('answers a gRPC request for a model that is not ready with UNAVAILABLE and retry-after metadata', async () => {
    const clients = connect(server);
    try {
      const err = await unaryError(
        clients.inference,
        'ModelInfer',
        simpleTypedRequest({ model_name: 'misconfigured' }),
        grpc.status.UNAVAILABLE,
        "model 'misconfigured' is not ready",
      );
      assert.deepEqual(err.metadata.get('retry-after'), ['1']);
    } finally {
      clients.close();
    }
  });
});
