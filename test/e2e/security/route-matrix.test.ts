// Every route of every protocol × {no key, wrong key, a key without the scope, the right key}: the
// HTTP routes are read from the live server's route table (not from a list kept here), the RPCs
// from the gRPC service definitions, so a route or RPC added later without an access declaration,
// or with one this matrix cannot satisfy, fails here.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { ROUTE_ACCESS } from '../../../src/protocols/common/route-access.js';
import { RPC_ACCESS } from '../../../src/protocols/kserve-grpc/grpc-access.js';
import { loadFeedbackProto } from '../../../src/protocols/kserve-grpc/feedback-service.js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';
import { scopeFor, type ApiGroup } from '../../../src/security/scopes.js';
import { bearer, writeKeyFile } from '../../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { simpleTypedRequest } from '../grpc/grpc-client.js';

const SIMPLE_BODY = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
});

interface Call {
  readonly method: string;
  readonly url: string;
  readonly body?: string | FormData;
  readonly json?: boolean;
}

/** The ids made on the way: a file (and a spare to delete), a batch, a stored response (and a spare). */
interface MadeIds {
  file: string;
  spareFile: string;
  batch: string;
  response: string;
  spareResponse: string;
}

/** A concrete request for a route pattern; `ids` holds what was made on the way. */
function requestFor(route: string, ids: MadeIds): Call {
  const [method = '', pattern = ''] = route.split(' ');
  const url = pattern
    .replace(':model', 'simple')
    .replace('/v2/experiments/:name', '/v2/experiments/matrix_experiment')
    .replace(':version', '1')
    .replace('/v1/models/:id', '/v1/models/kjv-tiny')
    .replace(/\/v1\/files\/:id/, method === 'DELETE' ? `/v1/files/${ids.spareFile}` : `/v1/files/${ids.file}`)
    .replace('/v1/batches/:id', `/v1/batches/${ids.batch}`)
    .replace('/v1/responses/:id', `/v1/responses/${method === 'DELETE' ? ids.spareResponse : ids.response}`);
  switch (route) {
    case 'POST /v2/models/:model/infer':
    case 'POST /v2/models/:model/versions/:version/infer':
      return { method, url, body: SIMPLE_BODY, json: true };
    case 'POST /v2/repository/models/:model/load':
    case 'POST /v2/repository/models/:model/unload':
      return { method, url: url.replace('/simple/', '/identity_int8/') };
    case 'POST /v1/chat/completions':
      return {
        method,
        url,
        body: JSON.stringify({ model: 'kjv-tiny', messages: [{ role: 'user', content: 'In' }], max_tokens: 2 }),
        json: true,
      };
    case 'POST /v1/completions':
      return { method, url, body: JSON.stringify({ model: 'kjv-tiny', prompt: 'In the', max_tokens: 2 }), json: true };
    case 'POST /v1/responses':
      return {
        method,
        url,
        body: JSON.stringify({ model: 'kjv-tiny', input: 'In', max_output_tokens: 2 }),
        json: true,
      };
    case 'POST /v1/embeddings':
      return { method, url, body: JSON.stringify({ model: 'kjv-embed', input: 'light' }), json: true };
    case 'POST /v1/rerank':
    case 'POST /rerank':
      return { method, url, body: JSON.stringify({ model: 'bert-rerank', query: 'a', documents: ['b'] }), json: true };
    case 'POST /v1/score':
    case 'POST /score':
      return { method, url, body: JSON.stringify({ model: 'bert-rerank', text_1: 'a', text_2: 'b' }), json: true };
    case 'POST /tokenize':
      return { method, url, body: JSON.stringify({ model: 'kjv-tiny', prompt: 'In the' }), json: true };
    case 'POST /detokenize':
      return { method, url, body: JSON.stringify({ model: 'kjv-tiny', tokens: [1, 2] }), json: true };
    case 'PUT /v2/experiments/:name':
      return { method, url, body: JSON.stringify({ variants: [{ model: 'simple', weight: 1 }] }), json: true };
    case 'POST /v2/trace/setting':
    case 'POST /v2/models/:model/trace/setting':
      // A value the setting already has: the matrix changes nothing the other routes see.
      return { method, url, body: JSON.stringify({ trace_rate: '1000' }), json: true };
    case 'POST /v2/feedback':
      // The list form answers 200 with a result per item, an unknown id included.
      return { method, url, body: JSON.stringify({ feedback: [{ id: 'never-issued', label: 0 }] }), json: true };
    case 'POST /v1/files':
      return { method, url, body: batchFile() };
    case 'POST /v1/batches':
      return {
        method,
        url,
        body: JSON.stringify({ input_file_id: ids.file, endpoint: '/v2/infer', completion_window: '24h' }),
        json: true,
      };
    default:
      return { method, url };
  }
}

function batchFile(lines = 1): FormData {
  const form = new FormData();
  form.append('purpose', 'batch');
  const body: unknown = JSON.parse(SIMPLE_BODY);
  const text = Array.from(
    { length: lines },
    (_, i) => `${JSON.stringify({ custom_id: `r${i}`, method: 'POST', url: '/v2/models/simple/infer', body })}\n`,
  ).join('');
  form.append('file', new Blob([text]), 'requests.jsonl');
  return form;
}

async function send(server: TestServer, call: Call, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${server.url}${call.url}`, {
    method: call.method,
    headers: { ...headers, ...(call.json === true ? { 'content-type': 'application/json' } : {}) },
    ...(call.body === undefined ? {} : { body: call.body }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The key holding exactly the group's scope, and one holding another scope only. */
const KEYS = [
  { id: 'health', scopes: ['health'] },
  { id: 'read', scopes: ['read'] },
  { id: 'infer', scopes: ['infer'] },
  { id: 'metrics', scopes: ['metrics'] },
  { id: 'admin-repository', scopes: ['admin:repository'] },
  { id: 'admin-batch', scopes: ['admin:batch'] },
  { id: 'admin-logging', scopes: ['admin:logging'] },
];
const outsider = (group: ApiGroup): string => (group === 'inference' ? 'read' : 'infer');
const WRONG = bearer('inferd_this-key-was-never-issued-000000000000000000');

describe('every route × {no key, wrong key, key without the scope, right key}', () => {
  let server: TestServer;
  let dir: string;
  let keys: Record<string, string>;
  const routes: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-matrix-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), KEYS);
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['simple', 'kjv-tiny', 'kjv-embed', 'bert-rerank'],
      apiKeysFile: path.join(dir, 'keys.yaml'),
      batchDir: path.join(dir, 'batches'),
      metricsPort: 0,
      // The matrix makes more failed attempts than a client should; the limiter has its own test.
      authFailuresPerMinute: 0,
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walks the live route table: every route has a declared group, every declaration a route', () => {
    const live = new Set<string>();
    for (const r of server.routes) {
      if (r.method === 'HEAD') continue; // fastify's automatic HEAD of each GET: the GET's access
      assert.ok(r.access.group.length > 0, `${r.method} ${r.url}`);
      live.add(`${r.method} ${r.url}`);
    }
    assert.deepEqual([...live].sort(), Object.keys(ROUTE_ACCESS).sort());
    routes.push(...live);
    assert.ok(routes.length >= 40, `${routes.length} routes`);
  });

  it('answers each HTTP route 401 / 401 / 403 / 2xx (health routes: open, wrong key 401)', async () => {
    // State the later routes need: an uploaded file (and a spare to delete), a batch.
    const upload = async (lines = 1): Promise<string> => {
      const res = await fetch(`${server.url}/v1/files`, {
        method: 'POST',
        headers: bearer(keys['admin-batch'] ?? ''),
        body: batchFile(lines),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { id: string }).id;
    };
    const file = await upload();
    const spareFile = await upload();
    // A batch long enough to be still running when its cancel route is called.
    const longFile = await upload(20_000);
    const makeBatch = async (input: string): Promise<string> => {
      const made = await fetch(`${server.url}/v1/batches`, {
        method: 'POST',
        headers: { ...bearer(keys['admin-batch'] ?? ''), 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id: input, endpoint: '/v2/infer', completion_window: '24h' }),
      });
      assert.equal(made.status, 200);
      return ((await made.json()) as { id: string }).id;
    };
    // Stored responses belong to the key that made them: the infer key reads and deletes its own.
    const makeResponse = async (): Promise<string> => {
      const made = await fetch(`${server.url}/v1/responses`, {
        method: 'POST',
        headers: { ...bearer(keys['infer'] ?? ''), 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'kjv-tiny', input: 'In', max_output_tokens: 2 }),
      });
      assert.equal(made.status, 200);
      return ((await made.json()) as { id: string }).id;
    };
    const ids: MadeIds = {
      file,
      spareFile,
      batch: await makeBatch(file),
      response: await makeResponse(),
      spareResponse: await makeResponse(),
    };

    const failures: string[] = [];
    // Unload after load, delete last: the order of the table is the order here, but a few moves.
    const ordered = [...routes].sort((a, b) => rank(a) - rank(b));
    for (const route of ordered) {
      if (route.endsWith('/infer/stream')) continue; // WebSocket: its own test below
      const access = ROUTE_ACCESS[route];
      assert.ok(access !== undefined);
      const group = access.group as ApiGroup;
      if (route.endsWith('/cancel')) ids.batch = await makeBatch(longFile);
      const call = (): Call => requestFor(route, ids);
      const open = group === 'health';
      const got = {
        none: await send(server, call(), {}),
        wrong: await send(server, call(), WRONG),
        outsider: await send(server, call(), bearer(keys[outsider(group)] ?? '')),
        right: await send(server, call(), bearer(keys[idOf(group)] ?? '')),
      };
      const want = { none: open ? 2 : 401, wrong: 401, outsider: open ? 2 : 403, right: 2 };
      for (const [column, status] of Object.entries(got)) {
        const expected = want[column as keyof typeof want];
        const ok = expected === 2 ? status >= 200 && status < 300 : status === expected;
        if (!ok) failures.push(`${route} with ${column}: ${status}, expected ${expected === 2 ? '2xx' : expected}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('guards the WebSocket stream at the upgrade: 401 without a key, open with an infer key', async () => {
    const url = `${server.url.replace('http', 'ws')}/v2/models/simple/infer/stream`;
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url);
      // Listening for the refusal makes the test own the request: end it, or it stays open.
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.on('open', () => reject(new Error('opened without a key')));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 401);
    const forbidden = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: bearer(keys['read'] ?? '') });
      // Listening for the refusal makes the test own the request: end it, or it stays open.
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.on('open', () => reject(new Error('opened with a read key')));
      ws.on('error', () => undefined);
    });
    assert.equal(forbidden, 403);
    const reply = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: bearer(keys['infer'] ?? '') });
      ws.on('open', () => ws.send(SIMPLE_BODY));
      ws.on('message', (data: Buffer) => {
        resolve(data.toString('utf8'));
        ws.close();
      });
      ws.on('error', reject);
    });
    assert.match(reply, /"model_name":"simple"/);
  });

  it('guards the separate metrics port with the metrics scope', async () => {
    const url = `http://127.0.0.1:${server.metricsPort}/metrics`;
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await fetch(url, { headers: WRONG })).status, 401);
    assert.equal((await fetch(url, { headers: bearer(keys['infer'] ?? '') })).status, 403);
    const ok = await fetch(url, { headers: bearer(keys['metrics'] ?? '') });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /inferd_key_requests_total\{key_id="metrics",outcome="admitted"\}/);
  });

  it('answers every RPC of every gRPC service UNAUTHENTICATED / UNAUTHENTICATED / PERMISSION_DENIED / OK', async () => {
    const protos = loadInferenceProtos();
    const address = `127.0.0.1:${server.grpcPort}`;
    const clients = {
      inference: new protos.inference(address, grpc.credentials.createInsecure()),
      health: new protos.health(address, grpc.credentials.createInsecure()),
      feedback: new (loadFeedbackProto())(address, grpc.credentials.createInsecure()),
    };
    const services = [
      { client: clients.inference, service: protos.inference.service },
      { client: clients.health, service: protos.health.service },
      { client: clients.feedback, service: loadFeedbackProto().service },
    ];
    const failures: string[] = [];
    let count = 0;
    for (const { client, service } of services)
      for (const [name, method] of Object.entries(service).sort(([a], [b]) => rpcRank(a) - rpcRank(b))) {
        const group = RPC_ACCESS[method.path];
        assert.ok(group !== undefined, `${method.path} is declared`);
        count++;
        const request = rpcRequest(name);
        const run = (headers: Record<string, string>): Promise<number> =>
          callRpc(client, name, method.requestStream, method.responseStream, request, headers);
        const open = group === 'health';
        const got = {
          none: await run({}),
          wrong: await run(WRONG),
          outsider: await run(bearer(keys[outsider(group)] ?? '')),
          right: await run(bearer(keys[idOf(group)] ?? '')),
        };
        const U = grpc.status.UNAUTHENTICATED;
        const D = grpc.status.PERMISSION_DENIED;
        const want = { none: open ? 0 : U, wrong: U, outsider: open ? 0 : D, right: 0 };
        for (const [column, code] of Object.entries(got))
          if (code !== want[column as keyof typeof want])
            failures.push(
              `${method.path} with ${column}: ${grpc.status[code]}, expected ${grpc.status[want[column as keyof typeof want]]}`,
            );
      }
    clients.inference.close();
    clients.health.close();
    clients.feedback.close();
    assert.equal(count, Object.keys(RPC_ACCESS).length, 'every declared RPC is served');
    assert.deepEqual(failures, []);
  });
});

function idOf(group: ApiGroup): string {
  const scope = scopeFor(group);
  return scope.replace(':', '-');
}

/** Loads before unloads, deletes last; everything else in table order. */
function rank(route: string): number {
  if (route.includes('/unload')) return 2;
  if (route.startsWith('DELETE')) return 3;
  if (route.includes('/cancel')) return 2;
  return 1;
}

function rpcRank(name: string): number {
  if (name === 'RepositoryModelUnload') return 2;
  return 1;
}

function rpcRequest(name: string): Record<string, unknown> {
  switch (name) {
    case 'ModelInfer':
    case 'ModelStreamInfer':
      return simpleTypedRequest();
    case 'ModelReady':
    case 'ModelMetadata':
    case 'ModelConfig':
    case 'ModelStatistics':
      return { name: 'simple' };
    case 'RepositoryModelLoad':
    case 'RepositoryModelUnload':
      return { model_name: 'identity_int8' };
    case 'SendFeedback':
      // The list form answers OK with a result per item, an unknown id included.
      return { items: [{ id: 'never-issued', label_json: '0' }] };
    default:
      return {};
  }
}

type Invoke = (...args: unknown[]) => grpc.ClientUnaryCall & grpc.ClientReadableStream<unknown>;

/** Calls an RPC of either shape and resolves its final status code (0 = OK). */
function callRpc(
  client: grpc.Client,
  name: string,
  requestStream: boolean,
  responseStream: boolean,
  request: Record<string, unknown>,
  headers: Record<string, string>,
): Promise<number> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const fn = (client as unknown as Record<string, Invoke>)[name];
  assert.ok(fn !== undefined, name);
  return new Promise((resolve) => {
    if (!requestStream && !responseStream) {
      fn.call(client, request, metadata, (err: grpc.ServiceError | null) => resolve(err === null ? 0 : err.code));
      return;
    }
    const call = requestStream ? fn.call(client, metadata) : fn.call(client, request, metadata);
    let settled = false;
    const done = (code: number): void => {
      if (settled) return;
      settled = true;
      resolve(code);
    };
    call.on('data', () => {
      // One answer is enough: the call was let through.
      done(0);
      call.cancel();
    });
    call.on('error', (err: grpc.ServiceError) => done(err.code));
    call.on('status', (s: grpc.StatusObject) => done(s.code));
    if (requestStream) {
      const duplex = call as unknown as grpc.ClientDuplexStream<unknown, unknown>;
      duplex.write(request);
      duplex.end();
    }
  });
}
