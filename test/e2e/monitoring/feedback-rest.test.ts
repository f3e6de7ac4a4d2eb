// Delayed labels end to end over REST: the Iris data set goes through the real server, labels go
// back to POST /v2/feedback by the answers' x-request-id (or the request's own "id"), and the
// accuracy the server reports equals the accuracy computed here from the same outputs.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadIris } from '../../../tools/train/iris-data.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

const CLASSES = ['setosa', 'versicolor', 'virginica'];

async function post(server: TestServer, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('POST /v2/feedback and GET .../accuracy', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['iris'],
      grpcPort: null,
    });
  });
  after(() => server.close());

  it('reports the accuracy and log-loss computed offline from the same answers', async () => {
    const samples = loadIris();
    const answers: { id: string; probabilities: number[]; label: number }[] = [];
    // Half one row per request (labelled by x-request-id), half in batches of 5 with the client's id.
    const single = samples.slice(0, 75);
    for (const s of single) {
      const res = await post(server, '/v2/models/iris/infer', {
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: s.features }],
      });
      assert.equal(res.status, 200);
      const id = res.headers.get('x-request-id') ?? '';
      const body = (await res.json()) as { outputs: { data: number[] }[] };
      answers.push({ id, probabilities: body.outputs[0]?.data ?? [], label: s.label });
    }
    const batched = samples.slice(75);
    const batchAnswers: { id: string; rows: number[][]; labels: number[] }[] = [];
    for (let i = 0; i < batched.length; i += 5) {
      const group = batched.slice(i, i + 5);
      const res = await post(server, '/v2/models/iris/infer', {
        id: `client-${i}`,
        inputs: [{ name: 'input', datatype: 'FP32', shape: [group.length, 4], data: group.flatMap((s) => s.features) }],
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { outputs: { data: number[] }[] };
      const data = body.outputs[0]?.data ?? [];
      batchAnswers.push({
        id: `client-${i}`,
        rows: group.map((_, r) => data.slice(r * 3, r * 3 + 3)),
        labels: group.map((s) => s.label),
      });
    }
    // Label all single answers (half by name, half by index) and all but the last batch.
    const results: unknown[] = [];
    for (const [i, a] of answers.entries()) {
      const res = await post(server, '/v2/feedback', { id: a.id, label: i % 2 === 0 ? CLASSES[a.label] : a.label });
      assert.equal(res.status, 200, JSON.stringify(await res.clone().json()));
      results.push(await res.json());
    }
    const labelledBatches = batchAnswers.slice(0, -1);
    const list = await post(server, '/v2/feedback', {
      feedback: labelledBatches.map((b) => ({ id: b.id, label: b.labels.map((l) => CLASSES[l]) })),
    });
    assert.equal(list.status, 200);
    const listed = (await list.json()) as { results: { ok: boolean }[] };
    assert.ok(listed.results.every((r) => r.ok));

    // Offline: argmax and −ln p over exactly the rows the server returned.
    const rows = [
      ...answers.map((a) => ({ p: a.probabilities, label: a.label })),
      ...labelledBatches.flatMap((b) => b.rows.map((p, r) => ({ p, label: b.labels[r] ?? -1 }))),
    ];
    const correct = rows.filter((r) => r.p.indexOf(Math.max(...r.p)) === r.label).length;
    const logLoss = rows.reduce((a, r) => a - Math.log(Math.max(1e-15, r.p[r.label] ?? 0)), 0) / rows.length;
    const recorded = answers.length + batchAnswers.reduce((a, b) => a + b.rows.length, 0);

    const summary = (await json(await fetch(`${server.url}/v2/models/iris/versions/1/accuracy`))) as {
      recorded: number;
      labelled: number;
      labelCoverage: number;
      classification: { n: number; correct: number; accuracy: number; logLoss: number };
    };
    assert.equal(summary.recorded, recorded);
    assert.equal(summary.labelled, rows.length);
    assert.equal(summary.labelCoverage, rows.length / recorded);
    assert.equal(summary.classification.correct, correct);
    assert.equal(summary.classification.accuracy, correct / rows.length);
    // The JSON answer carries FP32 values printed to full precision: the same rows within rounding.
    assert.ok(
      Math.abs(summary.classification.logLoss - logLoss) < 1e-6,
      `${summary.classification.logLoss} vs ${logLoss}`,
    );
    assert.ok(summary.classification.accuracy > 0.9, 'the example model is a good one');

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const accepted = answers.length + labelledBatches.length;
    assert.match(
      metrics,
      new RegExp(`inferd_feedback_labels_total\\{model="iris",version="1",outcome="accepted"\\} ${accepted}\n`),
    );
    assert.match(metrics, new RegExp(`inferd_accuracy\\{model="iris",version="1"\\} ${correct / rows.length}`));
    assert.match(metrics, /inferd_label_coverage\{model="iris",version="1"\} /);
  });

  it('answers a second label 409, an unknown id 404 and a wrong label 400, naming the problem', async () => {
    const res = await post(server, '/v2/models/iris/infer', {
      id: 'one-flower',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
    });
    assert.equal(res.status, 200);
    const wrong = await post(server, '/v2/feedback', { id: 'one-flower', label: 'daisy' });
    assert.equal(wrong.status, 400);
    assert.match(String((await json(wrong)).error), /'daisy' is not a class of output 'probabilities'/);
    assert.equal((await post(server, '/v2/feedback', { id: 'one-flower', label: 'setosa' })).status, 200);
    const again = await post(server, '/v2/feedback', { id: 'one-flower', label: 'setosa' });
    assert.equal(again.status, 409);
    const unknown = await post(server, '/v2/feedback', { id: 'no-such-request', label: 0 });
    assert.equal(unknown.status, 404);
    assert.match(String((await json(unknown)).error), /no prediction is kept under id 'no-such-request'/);
    const list = await post(server, '/v2/feedback', {
      feedback: [{ id: 'no-such-request', label: 0 }, { label: 1 }],
    });
    assert.equal(list.status, 200);
    const { results } = (await list.json()) as { results: { ok: boolean; status: number; error: string }[] };
    assert.deepEqual(
      results.map((r) => [r.ok, r.status]),
      [
        [false, 404],
        [false, 400],
      ],
    );
    assert.match(results[1]?.error ?? '', /feedback\[1\]: "id" must be a non-empty string/);
    const malformed = await fetch(`${server.url}/v2/feedback`, {
      method: 'POST',
      body: '{"id":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(malformed.status, 400);
    const badVersion = await fetch(`${server.url}/v2/models/iris/versions/x/accuracy`);
    assert.equal(badVersion.status, 400);
  });
});
