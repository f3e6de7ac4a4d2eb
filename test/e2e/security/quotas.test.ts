// Per-key quotas against the real server, on a clock the test moves (no sleeps): a key limited to
// N requests/s gets N ±10% over 10 s while another key is unaffected; concurrency is held for the
// life of a gRPC stream; a tokens-per-minute key is refused once spent and recovers; tensor bytes
// per minute on v2; usage per key id in /v2/usage and the metrics.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { bearer, writeKeyFile } from '../../helpers/api-keys.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';
import { connect, simpleTypedRequest } from '../grpc/grpc-client.js';

const N = 20;
const SIMPLE_BODY = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
  ],
});

describe('per-key quotas', () => {
  let server: TestServer;
  let dir: string;
  let keys: Record<string, string>;
  let clock = Date.parse('2027-01-01T00:00:00Z');

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'inferd-quota-'));
    keys = writeKeyFile(path.join(dir, 'keys.yaml'), [
      { id: 'limited', scopes: ['infer', 'read'], quota: { requests_per_second: N } },
      { id: 'neighbour', scopes: ['infer', 'read'], quota: { requests_per_second: N } },
      { id: 'one-at-a-time', scopes: ['infer'], quota: { concurrent_requests: 1 } },
      { id: 'tokens', scopes: ['infer'], quota: { tokens_per_minute: 40 } },
      { id: 'bytes', scopes: ['infer'], quota: { tensor_bytes_per_minute: 4 * SIMPLE_BODY.length } },
      { id: 'ops', scopes: ['read', 'metrics'] },
    ]);
    server = await startTestServer(
      {
        modelRepository: EXAMPLES_DIR,
        modelControlMode: 'explicit',
        loadModels: ['simple', 'kjv-tiny'],
        apiKeysFile: path.join(dir, 'keys.yaml'),
        batchDir: path.join(dir, 'batches'),
      },
      { now: () => clock },
    );
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const infer = (key: string): Promise<Response> =>
    fetch(`${server.url}/v2/models/simple/infer`, {
      method: 'POST',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      body: SIMPLE_BODY,
    });

  it(`gives a key limited to ${N} requests/s ${N} ±10% per second over 10 s; its neighbour is unaffected`, async () => {
    const limited = keys['limited'] ?? '';
    // Spend the burst first, so what follows measures the sustained rate.
    let burst = 0;
    for (;;) {
      const res = await infer(limited);
      await res.arrayBuffer();
      if (res.status === 429) break;
      burst++;
    }
    assert.equal(burst, N, 'the burst is one second of quota');
    let admitted = 0;
    let refused = 0;
    let neighbourRefused = 0;
    let last: Response | undefined;
    // 10 simulated seconds in 50 ms steps; at each step the key tries until it is refused.
    for (let step = 0; step < 200; step++) {
      clock += 50;
      for (let tries = 0; tries < 5; tries++) {
        const res = await infer(limited);
        await res.arrayBuffer();
        if (res.status === 200) admitted++;
        else {
          assert.equal(res.status, 429);
          refused++;
          last = res;
          break;
        }
      }
      const n = await infer(keys['neighbour'] ?? '');
      await n.arrayBuffer();
      if (n.status !== 200) neighbourRefused++;
    }
    assert.ok(Math.abs(admitted - 10 * N) <= N, `${admitted} admitted in 10 s, want ${10 * N} ±10%`);
    assert.ok(refused > 0);
    assert.equal(neighbourRefused, 0, 'the other key is not slowed by this one');
    assert.ok(last !== undefined);
    assert.equal(last.headers.get('retry-after'), '1');
    assert.equal(last.headers.get('x-ratelimit-limit'), String(N));
    assert.equal(last.headers.get('x-ratelimit-remaining'), '0');
    assert.match(last.headers.get('x-ratelimit-reset') ?? '', /^\d+$/);
  });

  it('holds a concurrency slot for the life of a gRPC stream: RESOURCE_EXHAUSTED with retry-after, then free', async () => {
    const clients = connect(server);
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${keys['one-at-a-time']}`);
    const stream = (
      clients.inference as unknown as {
        ModelStreamInfer(m: grpc.Metadata): grpc.ClientDuplexStream<object, object>;
      }
    ).ModelStreamInfer(metadata);
    const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.write(simpleTypedRequest());
    await first; // the stream is admitted and running
    const refused = await callWith(clients.inference, keys['one-at-a-time'] ?? '');
    assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(refused.details, /over its quota of 1 concurrent requests/);
    assert.deepEqual(refused.metadata.get('retry-after'), ['1']);
    const ended = new Promise<void>((resolve) => stream.once('status', () => resolve()));
    stream.end();
    await ended;
    assert.equal((await callWith(clients.inference, keys['one-at-a-time'] ?? '')).code, grpc.status.OK);
    clients.close();
  });

  it('refuses a tokens-per-minute key once spent, 400 for a prompt over the whole quota, and recovers', async () => {
    const complete = (prompt: string): Promise<Response> =>
      fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { ...bearer(keys['tokens'] ?? ''), 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'kjv-tiny', prompt, max_tokens: 6, temperature: 0 }),
      });
    let ok = 0;
    let refusal: Response | undefined;
    for (let i = 0; i < 20 && refusal === undefined; i++) {
      const res = await complete('In the beginning');
      if (res.status === 200) {
        const body = (await res.json()) as { usage: { total_tokens: number } };
        assert.ok(body.usage.total_tokens > 0);
        assert.match(res.headers.get('x-ratelimit-limit-tokens') ?? '', /^40$/);
        ok++;
      } else refusal = res;
    }
    assert.ok(ok >= 1 && ok <= 4, `${ok} completions fit 40 tokens`);
    assert.ok(refusal !== undefined);
    assert.equal(refusal.status, 429);
    const error = ((await refusal.json()) as { error: { type: string; message: string } }).error;
    assert.equal(error.type, 'rate_limit_error');
    assert.match(error.message, /over its quota of 40 tokens per minute/);
    assert.ok(Number(refusal.headers.get('retry-after')) >= 1);
    const tooLong = await complete('In the beginning '.repeat(20));
    assert.equal(tooLong.status, 400);
    assert.match(await tooLong.text(), /exceed the key's quota of 40 tokens per minute/);
    clock += 60_000;
    const recovered = await complete('In the beginning');
    assert.equal(recovered.status, 200, await recovered.clone().text());
  });

  it('refuses v2 tensor bytes over the per-minute quota from the Content-Length, before reading the body', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await infer(keys['bytes'] ?? '');
      statuses.push(res.status);
      if (res.status === 429) assert.match(await res.text(), /tensor bytes per minute/);
      else await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    clock += 60_000;
    assert.equal((await infer(keys['bytes'] ?? '')).status, 200);
  });

  it('reports usage per key id (never the key) in /v2/usage and the metrics', async () => {
    const res = await fetch(`${server.url}/v2/usage`, { headers: bearer(keys['ops'] ?? '') });
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const key of Object.values(keys)) assert.ok(!text.includes(key), 'no key in the usage');
    const usage = (JSON.parse(text) as { keys: { keyId: string; admitted: number; refused: Record<string, number> }[] })
      .keys;
    const limited = usage.find((u) => u.keyId === 'limited');
    assert.ok(limited !== undefined && limited.admitted >= 10 * N && (limited.refused['requests'] ?? 0) > 0);
    const tokens = usage.find((u) => u.keyId === 'tokens') as unknown as {
      promptTokens: number;
      completionTokens: number;
    };
    assert.ok(tokens.promptTokens > 0 && tokens.completionTokens > 0);
    const metrics = await (await fetch(`${server.url}/metrics`, { headers: bearer(keys['ops'] ?? '') })).text();
    assert.match(metrics, /inferd_key_quota_refusals_total\{key_id="limited",reason="requests"\} [1-9]/);
    assert.match(metrics, /inferd_key_completion_tokens_total\{key_id="tokens"\} [1-9]/);
    assert.match(metrics, /inferd_key_tensor_bytes_total\{key_id="bytes"\} [1-9]/);
  });
});

function callWith(
  client: grpc.Client,
  key: string,
): Promise<{ code: number; details: string; metadata: grpc.Metadata }> {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  const fn = (
    client as unknown as Record<
      string,
      (r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall
    >
  )['ModelInfer'];
  assert.ok(fn !== undefined);
  return new Promise((resolve) => {
    fn.call(client, simpleTypedRequest(), metadata, (err) =>
      resolve(
        err === null
          ? { code: grpc.status.OK, details: '', metadata: new grpc.Metadata() }
          : { code: err.code, details: err.details, metadata: err.metadata },
      ),
    );
  });
}
