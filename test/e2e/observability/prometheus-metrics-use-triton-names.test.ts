// GET /metrics after real traffic: Triton's nv_* counters and gauges with model/version labels
// (a batch of n counts n inferences and one execution), failures by reason, the cumulative µs
// counters, inferd's latency histograms, and the same registry on the separate metrics port.

import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, describe, it } from 'node:test';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { makeRepository, removeRepository, startTestServer, type TestServer } from '../../helpers/test-server.js';
import {
  A16,
  brokenAddModel,
  inferSimple,
  inferSlow,
  metricValue,
  postJson,
  request,
  scrape,
  slowModel,
} from '../repository/fixtures.js';

const SIMPLE = { model: 'simple', version: '1' };
const SLOW = { model: 'slow', version: '1' };
const BROKEN = { model: 'broken', version: '1' };

/** Sends one `simple` request with `rows` batch items. */
function inferBatch(url: string, rows: number) {
  const batch = Array.from({ length: rows }, () => A16);
  return postJson(`${url}/v2/models/simple/infer`, {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [rows, 16], data: batch },
      { name: 'INPUT1', datatype: 'INT32', shape: [rows, 16], data: batch },
    ],
  });
}

describe('Prometheus metrics', () => {
  let repo = '';
  let server: TestServer;
  let text = '';

  before(async () => {
    repo = await makeRepository([
      ...simpleModel(),
      ...brokenAddModel('broken'),
      // One request may wait: a third concurrent request is refused (REJECTED).
      ...slowModel('slow'),
      { path: 'slow/config.yaml', bytes: 'queue_policy: { max_queue_size: 1 }\n' },
    ]);
    server = await startTestServer({ modelRepository: repo, metricsPort: 0 });

    // Three successful requests of batch 1, 1 and 3; one that fails inside onnxruntime; one that
    // fails validation (never reaches the model).
    assert.equal((await inferBatch(server.url, 1)).status, 200);
    assert.equal((await inferBatch(server.url, 1)).status, 200);
    assert.equal((await inferBatch(server.url, 3)).status, 200);
    const failed = await postJson(`${server.url}/v2/models/broken/infer`, {
      inputs: [
        { name: 'A', datatype: 'FP32', shape: [3], data: [1, 2, 3] },
        { name: 'B', datatype: 'FP32', shape: [4], data: [1, 2, 3, 4] },
      ],
    });
    assert.equal(failed.status, 500);
    assert.equal((await inferSimple(server.url, 'simple', [1, 2], [1, 2])).status, 400);
    text = await scrape(server.url);
  });

  after(async () => {
    await server?.close();
    await removeRepository(repo);
  });

  it('counts successful requests per model and version', () => {
    assert.equal(metricValue(text, 'nv_inference_request_success', SIMPLE), 3);
    assert.equal(metricValue(text, 'nv_inference_request_success', BROKEN), undefined);
  });

  it('counts inferences by batch items and executions by runs', () => {
    assert.equal(metricValue(text, 'nv_inference_count', SIMPLE), 5);
    assert.equal(metricValue(text, 'nv_inference_exec_count', SIMPLE), 3);
  });

  it('counts a failure inside the model as BACKEND, and nothing for requests refused before it', () => {
    assert.equal(metricValue(text, 'nv_inference_request_failure', { ...BROKEN, reason: 'BACKEND' }), 1);
    for (const reason of ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER']) {
      assert.equal(metricValue(text, 'nv_inference_request_failure', { ...SIMPLE, reason }), undefined, reason);
    }
  });

  it('accumulates the µs counters, with the request covering its compute phases', () => {
    const us = (name: string): number => {
      const v = metricValue(text, `nv_inference_${name}_duration_us`, SIMPLE);
      assert.ok(v !== undefined && v >= 0, `${name}: ${v}`);
      return v;
    };
    const requestUs = us('request');
    const computeUs = us('compute_input') + us('compute_infer') + us('compute_output');
    us('queue');
    assert.ok(us('compute_infer') > 0);
    assert.ok(requestUs >= computeUs, `request ${requestUs} µs < compute ${computeUs} µs`);
  });

  it('exports latency histograms with cumulative buckets', () => {
    const count = metricValue(text, 'inferd_request_duration_seconds_count', SIMPLE);
    assert.equal(count, 3);
    assert.equal(metricValue(text, 'inferd_request_duration_seconds_bucket', { ...SIMPLE, le: '+Inf' }), 3);
    const buckets = text
      .split('\n')
      .filter((l) => l.startsWith('inferd_request_duration_seconds_bucket{') && l.includes('model="simple"'))
      .map((l) => Number(l.split(' ')[1]));
    assert.ok(buckets.length >= 10);
    for (let i = 1; i < buckets.length; i++) assert.ok((buckets[i] ?? 0) >= (buckets[i - 1] ?? 0));
    assert.ok((metricValue(text, 'inferd_request_duration_seconds_sum', SIMPLE) ?? 0) > 0);
    assert.equal(metricValue(text, 'inferd_compute_duration_seconds_count', SIMPLE), 3);
    assert.equal(metricValue(text, 'inferd_queue_duration_seconds_count', SIMPLE), 3);
  });

  it('exports CPU memory and utilisation, and model load time', () => {
    assert.equal(metricValue(text, 'nv_cpu_memory_total_bytes'), os.totalmem());
    const used = metricValue(text, 'nv_cpu_memory_used_bytes') ?? -1;
    assert.ok(used > 0 && used <= os.totalmem());
    const cpu = metricValue(text, 'nv_cpu_utilization') ?? -1;
    assert.ok(cpu >= 0 && cpu <= 1);
    assert.ok((metricValue(text, 'nv_model_load_duration_secs', SIMPLE) ?? 0) > 0);
    assert.match(text, /^# TYPE nv_inference_request_success counter$/m);
    assert.match(text, /^# TYPE nv_inference_pending_request_count gauge$/m);
  });

  it('shows pending requests while they wait or run, and REJECTED when the queue is full', async () => {
    let settled = false;
    const replies = Promise.all([1, 2, 3].map((v) => inferSlow(server.url, 'slow', v))).finally(() => {
      settled = true;
    });
    // Sample the gauge while the requests are out: at most one runs and one waits.
    const seen = new Set<number | undefined>();
    while (!settled) seen.add(metricValue(await scrape(server.url), 'nv_inference_pending_request_count', SLOW));
    assert.ok(seen.has(2), `pending counts seen: ${[...seen].join(', ')}`);
    assert.ok([...seen].every((n) => n !== undefined && n <= 2));
    const statuses = (await replies).map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429]);
    const now = await scrape(server.url);
    assert.equal(metricValue(now, 'nv_inference_pending_request_count', SLOW), 0);
    assert.equal(metricValue(now, 'nv_inference_request_failure', { ...SLOW, reason: 'REJECTED' }), 1);
    assert.equal(metricValue(now, 'nv_inference_request_success', SLOW), 2);
  });

  it('serves the same registry on the separate metrics port, and only /metrics there', async () => {
    assert.ok(server.metricsPort !== undefined && server.metricsPort !== server.httpPort);
    const metricsUrl = `http://127.0.0.1:${server.metricsPort}`;
    const res = await request(`${metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(metricValue(res.text, 'nv_inference_request_success', SIMPLE), 3);
    assert.equal(metricValue(res.text, 'nv_inference_count', SIMPLE), 5);
    const other = await request(`${metricsUrl}/v2/health/live`);
    assert.equal(other.status, 404);
    assert.deepEqual(JSON.parse(other.text), { error: 'no route for GET /v2/health/live; this port serves /metrics' });
  });
});
