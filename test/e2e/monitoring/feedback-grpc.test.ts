// Delayed labels over gRPC (inferd.v1.Feedback/SendFeedback): a label for an answered REST request
// is joined by its x-request-id, and refusals carry the statuses of the error table.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadFeedbackProto } from '../../../src/protocols/kserve-grpc/feedback-service.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

interface FeedbackResult {
  id: string;
  ok: boolean;
  model?: string;
  version?: string;
  rows?: number;
  correct?: number;
  code?: number;
  error?: string;
}

type Outcome = { error: grpc.ServiceError } | { results: FeedbackResult[] };

describe('inferd.v1.Feedback/SendFeedback', () => {
  let server: TestServer;
  let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['iris'],
    });
    const Feedback = loadFeedbackProto();
    client = new Feedback(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure()) as typeof client;
  });
  after(async () => {
    client.close();
    await server.close();
  });

  const sendFeedback = (request: Record<string, unknown>): Promise<Outcome> =>
    new Promise((resolve) => {
      client.SendFeedback?.(request, (error: grpc.ServiceError | null, response: { results: FeedbackResult[] }) =>
        resolve(error === null ? { results: response.results } : { error }),
      );
    });

  async function infer(id: string): Promise<string> {
    const res = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [6.3, 3.3, 6.0, 2.5] }],
      }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return res.headers.get('x-request-id') ?? '';
  }

  it('joins a label by the x-request-id and answers the statuses of the error table', async () => {
    const requestId = await infer('virginica-1');
    const ok = await sendFeedback({ id: requestId, label_json: '"virginica"' });
    assert.ok('results' in ok, 'error' in ok ? ok.error.message : '');
    assert.deepEqual(
      ok.results.map((r) => [r.ok, r.model, r.version, r.rows, r.correct]),
      [[true, 'iris', '1', 1, 1]],
    );

    const again = await sendFeedback({ id: 'virginica-1', label_json: '2' });
    assert.ok('error' in again);
    assert.equal(again.error.code, grpc.status.ALREADY_EXISTS);
    const unknown = await sendFeedback({ id: 'no-such-request', label_json: '0' });
    assert.ok('error' in unknown);
    assert.equal(unknown.error.code, grpc.status.NOT_FOUND);
    assert.match(unknown.error.details, /no prediction is kept under id 'no-such-request'/);
    await infer('virginica-2');
    const notJson = await sendFeedback({ id: 'virginica-2', label_json: 'virginica' });
    assert.ok('error' in notJson);
    assert.equal(notJson.error.code, grpc.status.INVALID_ARGUMENT);
    assert.match(notJson.error.details, /label_json is not JSON/);
    const wrongClass = await sendFeedback({ id: 'virginica-2', label_json: '7' });
    assert.ok('error' in wrongClass);
    assert.equal(wrongClass.error.code, grpc.status.INVALID_ARGUMENT);
  });

  it('answers the list form OK with a result per item', async () => {
    await infer('virginica-3');
    const outcome = await sendFeedback({
      items: [
        { id: 'virginica-3', label_json: '0' },
        { id: 'never-issued', label_json: '0' },
      ],
    });
    assert.ok('results' in outcome);
    assert.deepEqual(
      outcome.results.map((r) => [r.id, r.ok, r.correct ?? 0, r.code ?? 0]),
      [
        ['virginica-3', true, 0, 0],
        ['never-issued', false, 0, grpc.status.NOT_FOUND],
      ],
    );
    const summary = (await (await fetch(`${server.url}/v2/models/iris/accuracy`)).json()) as {
      labelled: number;
      classification: { correct: number };
    };
    assert.deepEqual([summary.labelled, summary.classification.correct], [2, 1]);
  });
});
