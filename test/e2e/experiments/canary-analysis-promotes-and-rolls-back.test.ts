// Automatic canary analysis on the real server, judged by accuracy from delayed labels: the Iris
// classifier against a copy whose classes are rotated (deliberately worse). With the worse model
// as the canary, it is rolled back at its first judged step; with the better model as the canary,
// it climbs to max_weight and is promoted. Labels go back through POST /v2/feedback, and the
// analysis runs on the server's timer, moved by the test.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from '../../../src/util/seeded-random.js';
import { loadIris } from '../../../tools/train/iris-data.js';
import { irisOnnx, trainIris } from '../../../tools/train/train-iris.js';
import { ManualTimer } from '../../helpers/manual-timer.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

const ROWS = 10;
const iris = loadIris();

/** The trained Iris model with its output classes rotated: predicts (true class − 1) mod 3. */
function rotatedIris(): Uint8Array {
  const training = trainIris();
  const p = training.parameters;
  const w2 = new Float64Array(p.w2.length);
  const b2 = new Float64Array(p.b2.length);
  for (let h = 0; h < p.hidden; h++)
    for (let c = 0; c < p.classes; c++) w2[h * p.classes + c] = p.w2[h * p.classes + ((c + 1) % p.classes)] ?? 0;
  for (let c = 0; c < p.classes; c++) b2[c] = p.b2[(c + 1) % p.classes] ?? 0;
  return irisOnnx({ ...training, parameters: { ...p, w2, b2 } });
}

const policy = (stable: string, canary: string) => `variants:
  - { name: ${stable}, model: ${stable}, weight: 1 }
  - { name: ${canary}, model: ${canary}, weight: 0 }
canary:
  stable: ${stable}
  canary: ${canary}
  step_weight: 25
  max_weight: 50
  interval_seconds: 10
  min_samples: 40
  max_error_rate_increase: 0.2
  max_latency_ratio: null
  max_accuracy_decrease: 0.1
`;

interface CanaryStatus {
  state: string;
  canary_weight: number;
  decisions: { action: string; reason: string; accuracy?: { stableRate: number; canaryRate: number } }[];
}

describe('canary analysis on the real server', () => {
  let repo: string;
  let server: TestServer;
  const timer = new ManualTimer();
  const random = seededRandom(42);
  let user = 0;

  before(async () => {
    const dir = path.join(EXAMPLES_DIR, 'iris');
    const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    const labels = await readFile(path.join(dir, 'labels.txt'));
    const model = (name: string, onnx: Uint8Array) => [
      { path: `${name}/1/model.onnx`, bytes: onnx },
      { path: `${name}/config.yaml`, bytes: config },
      { path: `${name}/labels.txt`, bytes: labels },
    ];
    repo = await makeRepository([
      ...model('iris_good', await readFile(path.join(dir, '1/model.onnx'))),
      ...model('iris_bad', rotatedIris()),
      { path: 'worse_canary/experiment.yaml', bytes: policy('iris_good', 'iris_bad') },
      { path: 'better_canary/experiment.yaml', bytes: policy('iris_bad', 'iris_good') },
    ]);
    server = await startTestServer({ modelRepository: repo }, { experimentTimer: timer });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  /** One request of ten Iris rows with a fresh routing key, then its labels, as a client sends them later. */
  const serveAndLabel = async (experiment: string): Promise<void> => {
    const rows = Array.from({ length: ROWS }, () => iris[Math.floor(random() * iris.length)]!);
    const res = await fetch(`${server.url}/v2/models/${experiment}/infer`, {
      method: 'POST',
      headers: { 'x-routing-key': `user-${++user}` },
      body: JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [ROWS, 4], data: rows.flatMap((r) => r.features) }],
      }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const feedback = await fetch(`${server.url}/v2/feedback`, {
      method: 'POST',
      body: JSON.stringify({ id: res.headers.get('x-request-id'), label: rows.map((r) => r.label) }),
    });
    assert.equal(feedback.status, 200, await feedback.text());
  };
  const canary = async (experiment: string): Promise<CanaryStatus> =>
    ((await (await fetch(`${server.url}/v2/experiments/${experiment}`)).json()) as { canary: CanaryStatus }).canary;

  it('rolls back a canary that is less accurate, with the accuracies that decided it', async () => {
    for (let i = 0; i < 220; i++) await serveAndLabel('worse_canary');
    timer.advance(10_000);
    const status = await canary('worse_canary');
    assert.equal(status.state, 'rolled_back', JSON.stringify(status.decisions));
    assert.equal(status.canary_weight, 0);
    const decision = status.decisions.at(-1);
    assert.equal(decision?.action, 'rollback');
    assert.match(decision?.reason ?? '', /accuracy/);
    assert.ok((decision?.accuracy?.stableRate ?? 0) > 0.9 && (decision?.accuracy?.canaryRate ?? 1) < 0.2);
    // Rolled back: every request now goes to the stable variant.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${server.url}/v2/models/worse_canary/infer`, {
        method: 'POST',
        headers: { 'x-routing-key': `after-${i}` },
        body: JSON.stringify({
          inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
        }),
      });
      assert.equal(res.headers.get('x-inferd-variant'), 'iris_good');
      await res.arrayBuffer();
    }
  });

  it('promotes a canary that is more accurate, step by step', async () => {
    for (let i = 0; i < 220; i++) await serveAndLabel('better_canary');
    timer.advance(10_000);
    let status = await canary('better_canary');
    // The first tick came while this experiment had no traffic yet: a hold.
    const judged = (s: CanaryStatus) => s.decisions.map((d) => d.action).filter((a) => a !== 'hold');
    assert.deepEqual(judged(status), ['step'], JSON.stringify(status.decisions));
    assert.equal(status.canary_weight, 50);
    for (let i = 0; i < 120; i++) await serveAndLabel('better_canary');
    timer.advance(10_000);
    status = await canary('better_canary');
    assert.deepEqual(judged(status), ['step', 'promote']);
    assert.equal(status.state, 'promoted');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /inferd_experiment_variant_weight\{experiment="better_canary",variant="iris_good"\} 1/);
    assert.match(metrics, /inferd_canary_decisions_total\{experiment="better_canary",action="promote"\} 1/);
    assert.match(metrics, /inferd_canary_decisions_total\{experiment="worse_canary",action="rollback"\} 1/);
  });
});
