// Every edge takes a model version through the one kind check (model-kinds/serving-kinds.ts):
// a text-generation model asked for KServe v2 tensors is a 400 naming the endpoints that serve
// it, over gRPC, at the WebSocket upgrade and in a batch API line, as over REST; and the check
// comes before the body is decoded, so a body that could not be decoded gets the same answer.

import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, unaryError, type Clients } from '../grpc/grpc-client.js';
import { refusedUpgrade, streamUrl } from '../streaming/stream-client.js';
import { fileLines, simpleLine, submitBatch, waitForBatch } from '../batch-api/batch-client.js';

const WRONG_KIND = /model 'kjv-tiny' is a text-generation model: use POST \/v1\/completions or \/v1\/chat\/completions/;

describe('a text-generation model asked for KServe v2 tensors', () => {
  let repo: string;
  let batchDir: string;
  let server: TestServer;
  let clients: Clients;
  before(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'inferd-kinds-'));
    batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-kinds-batches-'));
    await cp(path.join(EXAMPLES_DIR, 'kjv-tiny'), path.join(repo, 'kjv-tiny'), { recursive: true });
    await cp(path.join(EXAMPLES_DIR, 'simple'), path.join(repo, 'simple'), { recursive: true });
    server = await startTestServer({ modelRepository: repo, batchDir });
    clients = connect(server);
  });
  after(async () => {
    clients.close();
    await server.close();
    await rm(repo, { recursive: true, force: true });
    await rm(batchDir, { recursive: true, force: true });
  });

  it('is INVALID_ARGUMENT over gRPC, before its contents are decoded', async () => {
    // An input with no datatype and no contents would be refused for those if it were decoded.
    const err = await unaryError(
      clients.inference,
      'ModelInfer',
      { model_name: 'kjv-tiny', inputs: [{ name: 'input_ids', shape: [1, 3] }] },
      grpc.status.INVALID_ARGUMENT,
      'text-generation model',
    );
    assert.match(err.details, WRONG_KIND);
  });

  it('is refused at the WebSocket upgrade with the REST status and body', async () => {
    const reply = await refusedUpgrade(streamUrl(server.url, 'kjv-tiny'));
    assert.equal(reply.status, 400);
    assert.match((JSON.parse(reply.body) as { error: string }).error, WRONG_KIND);
  });

  it('is a 400 line in a batch, while the other lines of the batch run', async () => {
    const batch = await submitBatch(server, [
      simpleLine('tensor', 1, 2),
      { custom_id: 'generation', method: 'POST', url: '/v2/models/kjv-tiny/infer', body: { inputs: 'not tensors' } },
    ]);
    const done = await waitForBatch(server, batch.id);
    assert.equal(done.status, 'completed');
    assert.ok(done.output_file_id !== null && done.error_file_id !== null);
    assert.deepEqual(
      (await fileLines(server, done.output_file_id)).map((l) => l.custom_id),
      ['tensor'],
    );
    const [line] = await fileLines(server, done.error_file_id);
    const response = line?.response as { status_code: number; body: { error: string } };
    assert.equal(line?.custom_id, 'generation');
    assert.equal(response.status_code, 400);
    assert.match(response.body.error, WRONG_KIND);
  });
});
