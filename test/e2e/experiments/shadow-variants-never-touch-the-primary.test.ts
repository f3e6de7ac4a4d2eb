// Shadow variants get a copy of the traffic after the primary has answered; their outputs are
// compared with the primary's and dropped. A shadow that disagrees, fails or falls behind changes
// no answer, and its copies are bounded (shed beyond the bound).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GraphBuilder } from '../../../tools/onnx/onnx-builder.js';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

// The shadows run in worker threads: a copy stays in flight while the next primaries answer, which
// the in-flight bound is about (`inline_execution: auto` would finish each copy within one turn).
const WORKER = 'optimization: { inline_execution: false }\n';

const SIMPLE_CONFIG = (input: string) => `max_batch_size: 8
input:
  - { name: ${input}, data_type: TYPE_INT32, dims: [16] }
  - { name: INPUT1, data_type: TYPE_INT32, dims: [16] }
output:
  - { name: OUTPUT0, data_type: TYPE_INT32, dims: [16] }
  - { name: OUTPUT1, data_type: TYPE_INT32, dims: [16] }
${WORKER}`;

/** `simple` with its outputs swapped (a shadow that disagrees), or with another input name (one that fails). */
function variant(name: string, input: string, swapped: boolean) {
  const onnx = new GraphBuilder(name)
    .input(input, 'INT32', [-1, 16])
    .input('INPUT1', 'INT32', [-1, 16])
    .node(swapped ? 'Sub' : 'Add', [input, 'INPUT1'], ['OUTPUT0'])
    .node(swapped ? 'Add' : 'Sub', [input, 'INPUT1'], ['OUTPUT1'])
    .output('OUTPUT0', 'INT32', [-1, 16])
    .output('OUTPUT1', 'INT32', [-1, 16])
    .toBytes({ opset: 17, irVersion: 8 });
  return [
    { path: `${name}/1/model.onnx`, bytes: onnx },
    { path: `${name}/config.yaml`, bytes: SIMPLE_CONFIG(input) },
  ];
}

const X = Array.from({ length: 16 }, (_, i) => i * 3);
const body = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: X },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
});

interface ShadowStatus {
  name: string;
  compared: number;
  failed: number;
  shed: number;
  agreement: number | null;
  top1_agreement: number | null;
  mean_abs_diff: number | null;
  max_abs_diff: number | null;
}

describe('shadow variants', () => {
  let repo: string;
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...(await simpleVariant('primary')),
      ...(await simpleVariant('twin', WORKER)),
      ...variant('swapped', 'INPUT0', true),
      ...variant('broken', 'OTHER', false),
      {
        path: 'shadowed/experiment.yaml',
        bytes: `variants:
  - { model: primary, weight: 1 }
shadows:
  - { name: twin, model: twin, fraction: 1 }
  - { name: swapped, model: swapped, fraction: 1 }
  - { name: broken, model: broken, fraction: 1 }
max_shadow_in_flight: 64
`,
      },
      {
        path: 'crowded/experiment.yaml',
        bytes: `variants:
  - { model: primary, weight: 1 }
shadows:
  - { model: twin, fraction: 1 }
max_shadow_in_flight: 1
`,
      },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  const infer = async (model: string) => {
    const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { model_name: string; outputs: { name: string; data: number[] }[] };
  };

  const shadows = async (experiment: string): Promise<ShadowStatus[]> =>
    ((await (await fetch(`${server.url}/v2/experiments/${experiment}`)).json()) as { shadows: ShadowStatus[] }).shadows;

  /** Asks for the status until every copy has an outcome (each ask is a real round trip). */
  const settled = async (experiment: string, copies: number): Promise<ShadowStatus[]> => {
    for (let attempt = 0; attempt < 5000; attempt++) {
      const s = await shadows(experiment);
      if (s.every((x) => x.compared + x.failed + x.shed === copies)) return s;
    }
    assert.fail(`shadow copies of ${experiment} never settled: ${JSON.stringify(await shadows(experiment))}`);
  };

  it('answers exactly as the primary alone, while disagreeing and failing shadows are measured', async () => {
    const direct = await infer('primary');
    const n = 40;
    for (let i = 0; i < n; i++) {
      const answer = await infer('shadowed');
      assert.equal(answer.model_name, 'primary');
      assert.deepEqual(answer.outputs, direct.outputs);
    }
    const byName = new Map((await settled('shadowed', n)).map((s) => [s.name, s]));
    const twin = byName.get('twin');
    const swapped = byName.get('swapped');
    const broken = byName.get('broken');
    assert.ok(twin !== undefined && swapped !== undefined && broken !== undefined);
    assert.ok(twin.compared > 0, JSON.stringify(twin));
    assert.equal(twin.agreement, 1);
    assert.equal(twin.top1_agreement, 1);
    assert.equal(twin.max_abs_diff, 0);
    // a + b against a − b: every element differs by 2·INPUT1 = 2.
    assert.ok(swapped.compared > 0, JSON.stringify(swapped));
    assert.equal(swapped.agreement, 0);
    assert.equal(swapped.mean_abs_diff, 2);
    assert.equal(swapped.max_abs_diff, 2);
    assert.equal(broken.compared, 0);
    assert.ok(broken.failed > 0, JSON.stringify(broken));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /inferd_experiment_shadow_requests_total\{experiment="shadowed",shadow="broken",outcome="failed"\} [1-9]/,
    );
    assert.match(
      metrics,
      /inferd_experiment_shadow_agreement\{experiment="shadowed",shadow="swapped",measure="agreement"\} 0/,
    );
  });

  it('sheds copies beyond the in-flight bound, and every primary is still answered', async () => {
    const n = 24;
    const answers = await Promise.all(Array.from({ length: n }, () => infer('crowded')));
    assert.equal(answers.length, n);
    const [twin] = await settled('crowded', n);
    assert.ok(twin !== undefined);
    assert.ok(twin.shed > 0, `expected copies shed with a bound of 1: ${JSON.stringify(twin)}`);
    assert.ok(twin.compared > 0, JSON.stringify(twin));
    assert.equal(twin.agreement, 1);
  });
});
