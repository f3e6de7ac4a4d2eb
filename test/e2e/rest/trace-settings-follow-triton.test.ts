// Triton's trace settings API on the real server: GET/POST /v2/trace/setting and
// /v2/models/{m}/trace/setting answer the settings in force as strings; a model's settings override
// the global ones and a null clears one back; bad values are a 400 naming the setting and change
// nothing. The settings are real: traced requests are written to trace_file in Triton's JSON trace
// format, one request in every trace_rate, at most trace_count of them, none when OFF.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, simpleTypedRequest, unary } from '../grpc/grpc-client.js';
import { streamUrl } from '../streaming/stream-client.js';

const TIMESTAMP_ORDER = [
  'REQUEST_START',
  'QUEUE_START',
  'COMPUTE_START',
  'COMPUTE_INPUT_END',
  'COMPUTE_OUTPUT_START',
  'COMPUTE_END',
  'REQUEST_END',
];

interface Trace {
  id: number;
  model_name: string;
  model_version: number;
  request_id: string;
  timestamps: { name: string; ns: number }[];
}

async function call(
  server: TestServer,
  url: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${url}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function inferSimple(server: TestServer, id: string): Promise<void> {
  const res = await fetch(`${server.url}/v2/models/simple/infer`, {
    method: 'POST',
    body: JSON.stringify({
      id,
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
      ],
    }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function inferIdentity(server: TestServer, id: string): Promise<void> {
  const res = await fetch(`${server.url}/v2/models/identity_fp32/infer`, {
    method: 'POST',
    body: JSON.stringify({ id, inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }),
  });
  assert.equal(res.status, 200, await res.text());
}

function readTraces(file: string): Trace[] {
  return JSON.parse(readFileSync(file, 'utf8')) as Trace[];
}

describe('/v2/trace/setting', () => {
  let server: TestServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-trace-'));
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple', 'identity_fp32'],
      logLevel: 'info',
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers Triton's defaults as strings, globally and for a model without settings of its own", async () => {
    const defaults = {
      trace_file: '',
      trace_level: ['OFF'],
      trace_rate: '1000',
      trace_count: '-1',
      log_frequency: '0',
    };
    const global = await call(server, '/v2/trace/setting');
    assert.equal(global.status, 200);
    assert.deepEqual(global.json, defaults);
    assert.deepEqual((await call(server, '/v2/models/simple/trace/setting')).json, defaults);
  });

  it("overrides the global settings for one model, and a null clears the model's value back", async () => {
    const file = path.join(dir, 'overrides.json');
    const set = await call(server, '/v2/models/simple/trace/setting', { trace_rate: '7', trace_file: file });
    assert.equal(set.status, 200);
    assert.deepEqual(set.json, {
      trace_file: file,
      trace_level: ['OFF'],
      trace_rate: '7',
      trace_count: '-1',
      log_frequency: '0',
    });
    // The global settings and other models are unchanged; a global change shows through where the model has no value.
    assert.equal((await call(server, '/v2/trace/setting')).json.trace_rate, '1000');
    assert.equal((await call(server, '/v2/models/identity_fp32/trace/setting')).json.trace_rate, '1000');
    const global = await call(server, '/v2/trace/setting', { log_frequency: 5 });
    assert.equal(global.json.log_frequency, '5');
    const seen = await call(server, '/v2/models/simple/trace/setting');
    assert.equal(seen.json.log_frequency, '5');
    assert.equal(seen.json.trace_rate, '7');

    const cleared = await call(server, '/v2/models/simple/trace/setting', { trace_rate: null });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.json.trace_rate, '1000');
    assert.equal(cleared.json.trace_file, file, 'only the value given null is cleared');
    // An empty body clears every value of the model (Triton's rule); a global null restores the start value.
    assert.equal((await call(server, '/v2/models/simple/trace/setting', {})).json.trace_file, '');
    assert.equal((await call(server, '/v2/trace/setting', { log_frequency: null })).json.log_frequency, '0');
  });

  it('refuses a bad value with a 400 naming the setting, and changes nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [{ trace_rate: '0' }, /'trace_rate' must be an integer of 1 or more/],
      [{ trace_rate: 'often' }, /'trace_rate' must be an integer/],
      [{ trace_count: -2 }, /'trace_count' must be an integer of -1/],
      [{ log_frequency: 1.5 }, /'log_frequency' must be an integer of 0/],
      [{ trace_level: ['LOUD'] }, /'trace_level' must be a list of OFF, TIMESTAMPS, TENSORS/],
      [{ trace_level: ['OFF', 'TIMESTAMPS'] }, /'trace_level' OFF cannot be combined with TIMESTAMPS/],
      [{ trace_file: '/no/such/folder/trace.json' }, /'trace_file': the folder \/no\/such\/folder does not exist/],
      [{ trace_file: 3 }, /'trace_file' must be a string/],
      [{ trace_file: os.tmpdir() }, /'trace_file': '.*' is a folder; name a file in it/],
      [{ trace_colour: 'red' }, /unknown trace setting\(s\) 'trace_colour'/],
      [{ trace_level: ['TIMESTAMPS'] }, /would trace at TIMESTAMPS with no 'trace_file'/],
      [[1], /must be a JSON object/],
    ];
    for (const [body, message] of cases) {
      const res = await call(server, '/v2/trace/setting', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(String(res.json.error), message);
    }
    const model = await call(server, '/v2/models/simple/trace/setting', { trace_rate: 0 });
    assert.equal(model.status, 400);
    const unknown = await call(server, '/v2/models/no_such_model/trace/setting');
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.json.error), /unknown model 'no_such_model'/);
    const now = await call(server, '/v2/trace/setting');
    assert.deepEqual(now.json.trace_level, ['OFF']);
    assert.equal(now.json.trace_rate, '1000', 'the refused updates changed nothing');
  });

  it('traces exactly trace_count requests of the model, with timestamps in order', async () => {
    const file = path.join(dir, 'count.json');
    const set = await call(server, '/v2/models/simple/trace/setting', {
      trace_file: file,
      trace_level: ['TIMESTAMPS'],
      trace_rate: '1',
      trace_count: '3',
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    for (let i = 1; i <= 5; i++) await inferSimple(server, `count-${i}`);
    // Another model follows the global settings (OFF): not traced.
    await inferIdentity(server, 'other-model');
    assert.equal((await call(server, '/v2/models/simple/trace/setting')).json.trace_count, '0', 'no traces left');
    // Changing the settings writes the traces taken (log_frequency 0: into trace_file).
    assert.equal((await call(server, '/v2/models/simple/trace/setting', {})).status, 200);
    const traces = readTraces(file);
    assert.deepEqual(
      traces.map((t) => t.request_id),
      ['count-1', 'count-2', 'count-3'],
    );
    assert.equal(new Set(traces.map((t) => t.id)).size, 3, 'each trace has its own id');
    for (const t of traces) {
      assert.equal(t.model_name, 'simple');
      assert.equal(t.model_version, 1);
      assert.deepEqual(
        t.timestamps.map((s) => s.name),
        TIMESTAMP_ORDER,
      );
      const ns = t.timestamps.map((s) => s.ns);
      for (let i = 1; i < ns.length; i++)
        assert.ok((ns[i] ?? 0) >= (ns[i - 1] ?? 0), `${t.request_id}: ${ns.join(' ')}`);
      assert.ok((ns[6] ?? 0) > (ns[0] ?? 0), 'the request took time');
    }
  });

  it('traces every second request with trace_rate 2, into a file per log_frequency traces', async () => {
    const file = path.join(dir, 'rate.json');
    const set = await call(server, '/v2/trace/setting', {
      trace_file: file,
      trace_level: ['TIMESTAMPS'],
      trace_rate: '2',
      trace_count: '-1',
      log_frequency: '2',
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    for (let i = 1; i <= 6; i++) await inferSimple(server, `rate-${i}`);
    // The sixth request's trace is the third: the second file is not full yet; turning tracing off writes it.
    assert.equal((await call(server, '/v2/trace/setting', { trace_level: ['OFF'] })).status, 200);
    assert.deepEqual(
      readTraces(`${file}.0`).map((t) => t.request_id),
      ['rate-2', 'rate-4'],
    );
    assert.deepEqual(
      readTraces(`${file}.1`).map((t) => t.request_id),
      ['rate-6'],
    );
    assert.equal(existsSync(file), false, 'with log_frequency set, only the numbered files are written');
  });

  it('traces gRPC and WebSocket requests as REST ones', async () => {
    const file = path.join(dir, 'edges.json');
    const set = await call(server, '/v2/models/simple/trace/setting', {
      trace_file: file,
      trace_level: ['TIMESTAMPS'],
      trace_rate: '1',
      trace_count: '-1',
      log_frequency: '0',
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    const clients = connect(server);
    try {
      await unary(clients.inference, 'ModelInfer', simpleTypedRequest({ id: 'over-grpc' }));
    } finally {
      clients.close();
    }
    const socket = new WebSocket(streamUrl(server.url, 'simple'));
    const reply = new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(data.toString('utf8')));
      socket.once('error', reject);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(
      JSON.stringify({
        id: 'over-websocket',
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
        ],
      }),
    );
    assert.match(await reply, /"model_name":"simple"/);
    socket.close();
    await new Promise((resolve) => socket.once('close', resolve));
    assert.equal((await call(server, '/v2/models/simple/trace/setting', {})).status, 200);
    const traces = readTraces(file);
    assert.deepEqual(
      traces.map((t) => t.request_id),
      ['over-grpc', 'over-websocket'],
    );
    for (const t of traces)
      assert.deepEqual(
        t.timestamps.map((s) => s.name),
        TIMESTAMP_ORDER,
      );
  });

  it('writes no trace when the level is OFF', async () => {
    const file = path.join(dir, 'off.json');
    const set = await call(server, '/v2/trace/setting', {
      trace_file: file,
      trace_level: ['OFF'],
      trace_rate: 1,
      log_frequency: 0,
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    for (let i = 1; i <= 3; i++) await inferSimple(server, `off-${i}`);
    assert.equal((await call(server, '/v2/trace/setting', { trace_rate: 5 })).status, 200);
    assert.equal(existsSync(file), false);
    assert.equal(existsSync(`${file}.0`), false);
  });
});
