#!/usr/bin/env node
// Checks a running inferd serving examples/models from the outside, as a client would:
//   node scripts/container/check-server.mjs --http 127.0.0.1:8000 [--grpc 127.0.0.1:8001] [--openai]
// --http: wait for /v2/health/ready, then a KServe v2 REST infer on `simple`.
// --grpc: ServerReady and ModelInfer on `simple` over the project's protos (proto/).
// --openai: a chat completion on `kjv-tiny`.
// Prints one PASS or FAIL line per check; exits 1 if any failed.

/* global fetch, AbortSignal, setTimeout */

import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
// The server's own proto loading (its options decide how messages look); dist/ is built by npm ci.
import { loadInferenceProtos } from '../../dist/protocols/kserve-grpc/proto-definitions.js';

const { values } = parseArgs({
  options: {
    http: { type: 'string' },
    grpc: { type: 'string' },
    openai: { type: 'boolean', default: false },
    'ready-timeout': { type: 'string', default: '120' },
  },
});
if (values.http === undefined) {
  process.stderr.write(
    'usage: check-server.mjs --http HOST:PORT [--grpc HOST:PORT] [--openai] [--ready-timeout SECS]\n',
  );
  process.exit(2);
}
const base = `http://${values.http}`;
const INPUT0 = Array.from({ length: 16 }, (_, i) => i + 1);
const INPUT1 = Array.from({ length: 16 }, () => 1);
const SUM = INPUT0.map((x, i) => x + INPUT1[i]);
const DIFF = INPUT0.map((x, i) => x - INPUT1[i]);

let failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    process.stdout.write(`PASS ${name}${detail ? `: ${detail}` : ''}\n`);
  } catch (err) {
    failed++;
    process.stdout.write(`FAIL ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

function assertEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

// The server in the image listens on 0.0.0.0; the smoke test gives it a key (INFERD_API_KEYS) and
// this check the same one.
const KEY = process.env.INFERD_API_KEY;
const auth = KEY === undefined ? {} : { authorization: `Bearer ${KEY}` };

async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

await check('ready', async () => {
  const deadline = Date.now() + Number(values['ready-timeout']) * 1000;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(`${base}/v2/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return `${base}/v2/health/ready 200`;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? (err.cause?.code ?? err.message) : String(err);
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${values['ready-timeout']} s (${last})`);
    await new Promise((r) => setTimeout(r, 500));
  }
});
if (failed > 0) process.exit(1);

await check('REST v2 infer simple', async () => {
  const out = await postJson(`${base}/v2/models/simple/infer`, {
    id: 'smoke',
    inputs: [
      { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: INPUT0 },
      { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: INPUT1 },
    ],
  });
  const byName = Object.fromEntries(out.outputs.map((o) => [o.name, o.data]));
  assertEqual(byName.OUTPUT0, SUM, 'OUTPUT0');
  assertEqual(byName.OUTPUT1, DIFF, 'OUTPUT1');
  return 'OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1';
});

function grpcMetadata() {
  const metadata = new grpc.Metadata();
  if (KEY !== undefined) metadata.set('authorization', `Bearer ${KEY}`);
  return metadata;
}

if (values.grpc !== undefined) {
  const client = new (loadInferenceProtos().inference)(values.grpc, grpc.credentials.createInsecure());
  const unary = (method, request) =>
    new Promise((resolve, reject) =>
      client[method](request, grpcMetadata(), { deadline: Date.now() + 30_000 }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  await check('gRPC ServerReady', async () => {
    const res = await unary('ServerReady', {});
    assertEqual(res.ready, true, 'ready');
    return `${values.grpc} ready`;
  });
  await check('gRPC ModelInfer simple', async () => {
    const res = await unary('ModelInfer', {
      model_name: 'simple',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], contents: { int_contents: INPUT0 } },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], contents: { int_contents: INPUT1 } },
      ],
    });
    const values = res.outputs.map((o, i) => {
      const raw = res.raw_output_contents[i];
      const ints = raw
        ? Array.from(new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)))
        : o.contents?.int_contents;
      return [o.name, ints];
    });
    const byName = Object.fromEntries(values);
    assertEqual(byName.OUTPUT0, SUM, 'OUTPUT0');
    assertEqual(byName.OUTPUT1, DIFF, 'OUTPUT1');
    return 'OUTPUT0 and OUTPUT1 as over REST';
  });
  client.close();
}

if (values.openai) {
  await check('OpenAI chat completion kjv-tiny', async () => {
    const out = await postJson(`${base}/v1/chat/completions`, {
      model: 'kjv-tiny',
      messages: [{ role: 'user', content: 'In the beginning' }],
      max_tokens: 8,
    });
    const text = out.choices?.[0]?.message?.content;
    if (typeof text !== 'string' || text.length === 0) throw new Error(`no message content in ${JSON.stringify(out)}`);
    if (!(out.usage?.completion_tokens > 0)) throw new Error(`no completion tokens in ${JSON.stringify(out.usage)}`);
    return `${out.usage.completion_tokens} tokens: ${JSON.stringify(text)}`;
  });
}

process.exit(failed > 0 ? 1 : 0);
