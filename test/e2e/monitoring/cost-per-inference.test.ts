// Cost per inference end to end: real inferences on the example `simple` model are charged
// nonzero CPU-seconds in the statistics JSON and the Prometheus metrics, the configured price
// becomes currency per 1,000 inferences. (gRPC's ModelStatistics message has no field for them:
// test/e2e/grpc/metadata-health-and-repository.test.ts shows it still answers with cost accounted.)

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import { parseJson, postInfer, request, SIMPLE_JSON_REQUEST, startExamplesServer } from '../rest/rest-wire.js';

const CPU_PER_HOUR = 0.05;
const GPU_PER_HOUR = 2.5;
const INFERENCES = 40;

interface Cost {
  cpu_seconds: number;
  gpu_seconds: number;
  cpu_seconds_per_inference: number | null;
  gpu_seconds_per_inference: number | null;
  cost_per_1k_inferences: number | null;
  currency_per_hour: { cpu: number | null; gpu: number | null };
}

interface Stats {
  name: string;
  version: string;
  inference_count: number;
  execution_count: number;
  cost?: Cost;
}

async function simpleStats(server: TestServer): Promise<Stats> {
  const reply = await request(`${server.url}/v2/models/simple/versions/1/stats`);
  assert.equal(reply.status, 200, reply.text);
  const list = parseJson(reply).model_stats as Stats[];
  assert.equal(list.length, 1);
  return list[0] as Stats;
}

/** The value of a sample line `name{labels} value` in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('cost per inference, end to end', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple'], { costPerCpuHour: CPU_PER_HOUR, costPerGpuHour: GPU_PER_HOUR });
    for (let i = 0; i < INFERENCES; i++) {
      const reply = await postInfer(server, 'simple', SIMPLE_JSON_REQUEST);
      assert.equal(reply.status, 200, reply.text);
    }
  });
  after(async () => {
    await server.close();
  });

  it('charges nonzero CPU-seconds per inference in the statistics and prices them', async () => {
    const stats = await simpleStats(server);
    assert.equal(stats.inference_count, INFERENCES);
    const cost = stats.cost;
    assert.ok(cost !== undefined, 'the statistics carry a cost object');
    assert.ok(cost.cpu_seconds > 0, `cpu_seconds ${cost.cpu_seconds}`);
    assert.equal(cost.gpu_seconds, 0, 'simple runs on the CPU provider');
    assert.equal(cost.cpu_seconds_per_inference, cost.cpu_seconds / INFERENCES);
    assert.deepEqual(cost.currency_per_hour, { cpu: CPU_PER_HOUR, gpu: GPU_PER_HOUR });
    const expected = ((cost.cpu_seconds * CPU_PER_HOUR) / 3600 / INFERENCES) * 1000;
    assert.ok(cost.cost_per_1k_inferences !== null && Math.abs(cost.cost_per_1k_inferences - expected) < 1e-15);
  });

  it('exports the CPU-seconds, the unattributed rest and the cost gauge as Prometheus metrics', async () => {
    const reply = await request(`${server.url}/metrics`);
    assert.equal(reply.status, 200, reply.text);
    const cpu = sample(reply.text, 'inferd_cpu_seconds_total{model="simple",version="1"}');
    assert.ok(cpu !== undefined && cpu > 0, `inferd_cpu_seconds_total ${cpu}`);
    assert.ok((sample(reply.text, 'inferd_unattributed_cpu_seconds_total') ?? -1) >= 0);
    const perK = sample(reply.text, 'inferd_cost_per_1k_inferences{model="simple",version="1"}');
    assert.ok(perK !== undefined && perK > 0, `inferd_cost_per_1k_inferences ${perK}`);
    // The counter only grows: the statistics read after the scrape show at least as much.
    const stats = await simpleStats(server);
    assert.ok((stats.cost?.cpu_seconds ?? 0) >= cpu);
  });
});
