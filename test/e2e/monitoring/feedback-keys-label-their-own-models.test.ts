// A key limited to some models may label only their predictions: POST /v2/feedback names no
// model, so the check comes once the id is looked up, with the 403 the infer routes give.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadFeedbackProto } from '../../../src/protocols/kserve-grpc/feedback-service.js';
import { bearer, writeKeyFile } from '../../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

describe('feedback and model-limited keys', () => {
  let server: TestServer;
  let dir: string;
  let keys: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-feedback-keys-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [
      { id: 'all', scopes: ['infer'] },
      { id: 'simple-only', scopes: ['infer:simple'] },
    ]);
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['iris', 'simple'],
      apiKeysFile: path.join(dir, 'keys.yaml'),
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const label = (key: string, body: unknown) =>
    fetch(`${server.url}/v2/feedback`, {
      method: 'POST',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it("refuses to label another model's prediction, and accepts its own", async () => {
    const res = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST',
      headers: bearer(keys['all'] ?? ''),
      body: JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
      }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const id = res.headers.get('x-request-id');
    const refused = await label(keys['simple-only'] ?? '', { id, label: 'setosa' });
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { error: string }).error, /iris/);
    const listed = await label(keys['simple-only'] ?? '', { feedback: [{ id, label: 'setosa' }] });
    assert.equal(((await listed.json()) as { results: { status: number }[] }).results[0]?.status, 403);
    // The refusal left the prediction open for a caller who may label it.
    const accepted = await label(keys['all'] ?? '', { id, label: 'setosa' });
    assert.equal(accepted.status, 200, await accepted.clone().text());
    assert.equal(((await accepted.json()) as { correct: number }).correct, 1);
  });

  it('refuses SendFeedback over gRPC to a key held to some models, naming the REST route', async () => {
    const Feedback = loadFeedbackProto();
    const client = new Feedback(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const send = (key: string) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${key}`);
        const method = (client as unknown as Record<string, (...args: unknown[]) => void>).SendFeedback;
        method?.call(client, { id: 'never-issued', label_json: '0' }, metadata, (err: grpc.ServiceError | null) =>
          resolve(err),
        );
      });
    try {
      const limited = await send(keys['simple-only'] ?? '');
      assert.equal(limited?.code, grpc.status.PERMISSION_DENIED);
      assert.match(limited?.details ?? '', /POST \/v2\/feedback/);
      // A key without a model limit reaches the store: an unknown id is its NOT_FOUND.
      assert.equal((await send(keys['all'] ?? ''))?.code, grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });
});
