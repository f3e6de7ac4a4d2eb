// Drift monitoring on the request path of the real server: the example Iris model with a reference
// sample in its folder, fed first rows drawn from that sample (no alarm over many windows), then
// rows whose petal length has grown by a centimetre (flagged by the first window that holds them).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inferdFromSource } from '../../helpers/cli-from-source.js';
import { seededRandom } from '../../../src/util/seeded-random.js';
import { loadIris } from '../../../tools/train/iris-data.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

const WINDOW = 100;
const ROWS_PER_REQUEST = 20;
const iris = loadIris();

interface Side {
  windows: number;
  alarms: number;
  last_window: { drift: boolean; features: { feature: string; drift: boolean }[] } | null;
}
interface Report {
  versions: { state: string; windows: number; alarms: number; inputs: Side; outputs: Side }[];
}

describe('drift on the real server', () => {
  let repo: string;
  let server: TestServer;
  const random = seededRandom(20261206);

  before(async () => {
    const dir = path.join(EXAMPLES_DIR, 'iris');
    const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
    repo = await makeRepository([
      { path: 'iris/1/model.onnx', bytes: await readFile(path.join(dir, '1/model.onnx')) },
      { path: 'iris/labels.txt', bytes: await readFile(path.join(dir, 'labels.txt')) },
      {
        path: 'iris/config.yaml',
        bytes: `${config}monitoring:\n  drift: { window: ${WINDOW}, reference_rows: 300 }\n`,
      },
      { path: 'iris/reference.jsonl', bytes: iris.map((s) => JSON.stringify({ input: s.features })).join('\n') },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  const send = async (shift: number): Promise<void> => {
    const rows = Array.from({ length: ROWS_PER_REQUEST }, () => {
      const s = iris[Math.floor(random() * iris.length)]!.features;
      return [s[0], s[1], s[2] + shift, s[3]];
    });
    const res = await fetch(`${server.url}/v2/models/iris/infer`, {
      method: 'POST',
      body: JSON.stringify({
        inputs: [{ name: 'input', datatype: 'FP32', shape: [ROWS_PER_REQUEST, 4], data: rows.flat() }],
      }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  };
  const report = async (): Promise<Report> =>
    (await (await fetch(`${server.url}/v2/models/iris/drift`)).json()) as Report;

  it('raises no alarm over 30 windows of rows drawn from the reference', async () => {
    for (let i = 0; i < (30 * WINDOW) / ROWS_PER_REQUEST; i++) await send(0);
    const [v] = (await report()).versions;
    assert.ok(v !== undefined);
    assert.equal(v.state, 'monitoring');
    assert.equal(v.inputs.windows, 30);
    // α = 0.01 per window: about 0.3 false alarms expected here; the seeded draw gives 0.
    assert.equal(v.inputs.alarms, 0, JSON.stringify(v.inputs.last_window));
    const cli = await inferdFromSource(['drift', 'iris', '--url', server.url]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /input\[2\]/);
  });

  it('flags a 1 cm growth of petal length within one window (100 rows), naming the feature', async () => {
    for (let i = 0; i < WINDOW / ROWS_PER_REQUEST; i++) await send(1);
    const [v] = (await report()).versions;
    assert.ok(v !== undefined);
    assert.equal(v.inputs.windows, 31);
    assert.equal(v.inputs.alarms, 1);
    assert.equal(v.inputs.last_window?.drift, true);
    assert.deepEqual(
      v.inputs.last_window?.features.filter((f) => f.drift).map((f) => f.feature),
      ['input[2]'],
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /inferd_drift_alarm\{model="iris",version="1"\} 1/);
    // The command line asks the server and exits 1 on drift, as a script or CI step can use it.
    const cli = await inferdFromSource(['drift', 'iris', '--url', server.url]);
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stdout, /input\[2\]/);
  });
});
