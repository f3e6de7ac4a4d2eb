// An experiment is a name clients call like a model: it splits traffic by weight, keeps a routing
// key on one variant, says in every answer which variant served it, and counts per variant.

import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { connect, output, readInt32, SIMPLE_SUM, simpleTypedRequest, unary } from '../grpc/grpc-client.js';
import { after, before, describe, it } from 'node:test';
import {
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

const body = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    ...extra,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) },
    ],
  });

describe('experiments route among variants', () => {
  let repo: string;
  let server: TestServer;

  before(async () => {
    repo = await makeRepository([
      ...(await simpleVariant('model_a')),
      ...(await simpleVariant('model_b')),
      {
        path: 'ab/experiment.yaml',
        bytes: [
          'description: half and half',
          'variants:',
          '  - { name: a, model: model_a, weight: 50 }',
          '  - { name: b, model: model_b, weight: 50 }',
          'sticky: { header: x-user-id }',
        ].join('\n'),
      },
    ]);
    server = await startTestServer({ modelRepository: repo });
  });

  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  const infer = async (headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${server.url}/v2/models/ab/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body(extra),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const json = (await res.json()) as { model_name: string; outputs: { name: string; data: number[] }[] };
    return { variant: res.headers.get('x-inferd-variant'), json };
  };

  it('splits 50/50 within statistical tolerance and names the variant in every answer', async () => {
    const n = 400;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const { variant, json } = await infer();
      assert.ok(variant === 'a' || variant === 'b', `variant header ${variant}`);
      assert.equal(json.model_name, variant === 'a' ? 'model_a' : 'model_b');
      assert.deepEqual(
        json.outputs.find((o) => o.name === 'OUTPUT0')?.data,
        Array.from({ length: 16 }, (_, j) => j + 1),
      );
      counts.set(variant, (counts.get(variant) ?? 0) + 1);
    }
    // Binomial(400, 0.5): σ = 10; 4.5σ leaves a false failure once in about 150,000 runs.
    const a = counts.get('a') ?? 0;
    assert.ok(Math.abs(a - n / 2) <= 45, `a got ${a} of ${n}`);
    const status = (await (await fetch(`${server.url}/v2/experiments/ab`)).json()) as {
      variants: { name: string; requests: number; weight: number }[];
      sample_ratio: { mismatch: boolean };
    };
    assert.equal(status.sample_ratio.mismatch, false);
    assert.deepEqual(
      status.variants.map((v) => [v.name, v.requests, v.weight]),
      [
        ['a', a, 0.5],
        ['b', n - a, 0.5],
      ],
    );
  });

  it('splits keys by their hash: 1,000 distinct keys land within tolerance of the weights', async () => {
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 1000; i++) {
      const { variant } = await infer({ 'x-user-id': `user-${i}` });
      counts[variant as 'a' | 'b']++;
    }
    // σ = 15.8; the assignment is a pure function of the keys, so this cannot flake.
    assert.ok(Math.abs(counts.a - 500) <= 70, JSON.stringify(counts));
  });

  it('keeps a routing key on one variant, from the header or the routing_key parameter', async () => {
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const first = (await infer({ 'x-user-id': user })).variant;
      for (let i = 0; i < 20; i++) assert.equal((await infer({ 'x-user-id': user })).variant, first);
      // The parameter gives the same assignment as the header.
      for (let i = 0; i < 5; i++) assert.equal((await infer({}, { parameters: { routing_key: user } })).variant, first);
    }
  });

  it('exposes per-variant metrics and answers metadata and readiness under the experiment name', async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /inferd_experiment_requests_total\{experiment="ab",variant="a",outcome="ok"\} \d+/);
    assert.match(metrics, /inferd_experiment_variant_weight\{experiment="ab",variant="b"\} 0\.5/);
    const meta = (await (await fetch(`${server.url}/v2/models/ab`)).json()) as { name: string; inputs: unknown[] };
    assert.equal(meta.name, 'ab');
    assert.equal(meta.inputs.length, 2);
    assert.equal((await fetch(`${server.url}/v2/models/ab/ready`)).status, 200);
  });

  it('routes gRPC calls too: the routing_key parameter keeps the variant, named in the response parameters', async () => {
    const clients = connect(server);
    try {
      for (const user of ['alice', 'bob', 'carol']) {
        const rest = (await infer({ 'x-user-id': user })).variant;
        for (let i = 0; i < 5; i++) {
          const response = await unary(
            clients.inference,
            'ModelInfer',
            simpleTypedRequest({ model_name: 'ab', parameters: { routing_key: { string_param: user } } }),
          );
          const parameters = response.parameters as Record<string, { string_param?: string }>;
          assert.equal(parameters.variant?.string_param, rest);
          assert.equal(response.model_name, rest === 'a' ? 'model_a' : 'model_b');
          assert.deepEqual(readInt32(output(response, 'OUTPUT0').raw), SIMPLE_SUM);
        }
      }
    } finally {
      clients.close();
    }
  });

  it('keeps a WebSocket stream on the variant chosen at the upgrade, named in the 101', async () => {
    const rest = (await infer({ 'x-user-id': 'dana' })).variant;
    const socket = new WebSocket(`${server.url.replace('http', 'ws')}/v2/models/ab/infer/stream`, {
      headers: { 'x-user-id': 'dana' },
    });
    const upgraded = new Promise<string | undefined>((resolve, reject) => {
      socket.once('upgrade', (res) => resolve(res.headers['x-inferd-variant'] as string | undefined));
      socket.once('error', reject);
    });
    assert.equal(await upgraded, rest);
    const replies: { model_name: string }[] = [];
    const three = new Promise<void>((resolve) => {
      socket.on('message', (data: Buffer) => {
        replies.push(JSON.parse(data.toString('utf8')) as { model_name: string });
        if (replies.length === 3) resolve();
      });
    });
    for (let i = 0; i < 3; i++) socket.send(body());
    await three;
    socket.close();
    assert.deepEqual(
      replies.map((r) => r.model_name),
      Array.from({ length: 3 }, () => (rest === 'a' ? 'model_a' : 'model_b')),
    );
  });

  it('refuses a version in the call, naming why', async () => {
    const res = await fetch(`${server.url}/v2/models/ab/versions/1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /'ab' is an experiment: .*without a version/);
  });
});
