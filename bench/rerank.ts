// Rerank throughput: documents/s of POST /v1/rerank against the example cross-encoder
// (examples/models/bert-rerank), one request at a time with B documents each, against
// onnxruntime-node's session.run on the same model file with the same pairs (tokenized once,
// padded to the batch's longest pair, as a program calling the session itself would), opened with
// the options the server gives its instance. The server's copy of the model has no queue delay
// (one client sends one request at a time: waiting for company would only add the delay). The
// ratio is what the server path costs: HTTP, JSON, tokenizing, length buckets (a request's pairs
// of different buckets run as separate executions), the dynamic batcher and the worker thread.
// Prints a table and writes bench/results/rerank.json.
//
//   npm run bench:rerank            (RERANK_SECONDS=3 per measurement by default)

import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadTokenizer } from '../src/generation/tokenizer.js';
import { startServer } from '../src/server.js';
import { serverSessionOptions } from './lib/raw-session.js';
import { describeMachine } from './lib/machine.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples/models');
const MODEL = 'bert-rerank';
const SECONDS = Number(process.env['RERANK_SECONDS'] ?? 3);
const BATCHES = [1, 4, 16];
const CPU_CORES = 2;

const WORDS = (
  'the cat dog bird fish eats reads writes river city king queen school book story music game ' +
  'paris france london berlin capital country people love life day night water sun moon star'
).split(' ');
const QUERY = 'What is the capital of France?';

/** Documents of 6 to 20 words, the same every run. */
function documents(n: number): string[] {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, () =>
    Array.from({ length: 6 + Math.floor(next() * 15) }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' '),
  );
}

/** Runs `op` (which handles `perOp` documents) for SECONDS after a warm-up; documents per second. */
async function rate(op: (i: number) => Promise<void>, perOp: number): Promise<number> {
  const warmEnd = performance.now() + (SECONDS * 1000) / 10;
  for (let i = 0; performance.now() < warmEnd; i++) await op(i);
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < SECONDS * 1000) await op(ops++);
  return (ops * perOp) / ((performance.now() - start) / 1000);
}

const docs = documents(64);
const repository = mkdtempSync(path.join(os.tmpdir(), 'inferd-bench-rerank-'));
cpSync(path.join(EXAMPLES, MODEL), path.join(repository, MODEL), { recursive: true });
writeFileSync(
  path.join(repository, MODEL, 'config.yaml'),
  'task: rerank\nmax_batch_size: 16\ndynamic_batching:\n  max_queue_delay_microseconds: 0\nrerank:\n  max_tokens: 128\n',
);
const server = await startServer(
  {
    modelRepository: repository,
    modelControlMode: 'explicit',
    loadModels: [MODEL],
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: null,
    metricsPort: null,
    logLevel: 'warn',
    cpuCores: CPU_CORES,
  },
  {},
);
const { modelPath, options } = await serverSessionOptions(EXAMPLES, MODEL, CPU_CORES);
const session = await ort.InferenceSession.create(modelPath, options as ort.InferenceSession.SessionOptions);
const tokenizer = await loadTokenizer(path.join(EXAMPLES, MODEL, '1'));
const pairs = docs.map((d) => tokenizer.encodePair(QUERY, d));

/** The feeds of pairs [from, from + b): right-padded with [PAD] = 0 to the longest. */
function feeds(from: number, b: number): Record<string, ort.Tensor> {
  const rows = Array.from({ length: b }, (_, k) => pairs[(from + k) % pairs.length] ?? { ids: [], typeIds: [] });
  const length = Math.max(...rows.map((r) => r.ids.length));
  const ids = new BigInt64Array(b * length);
  const mask = new BigInt64Array(b * length);
  const types = new BigInt64Array(b * length);
  rows.forEach((r, i) =>
    r.ids.forEach((id, t) => {
      ids[i * length + t] = BigInt(id);
      mask[i * length + t] = 1n;
      types[i * length + t] = BigInt(r.typeIds[t] ?? 0);
    }),
  );
  const dims = [b, length];
  return {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', mask, dims),
    token_type_ids: new ort.Tensor('int64', types, dims),
  };
}

const results: { batch: number; inferdDocsPerSecond: number; sessionDocsPerSecond: number; ratio: number }[] = [];
try {
  for (const b of BATCHES) {
    const inferd = await rate(async (i) => {
      const res = await fetch(`${server.url}/v1/rerank`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          query: QUERY,
          documents: Array.from({ length: b }, (_, k) => docs[(i * b + k) % docs.length]),
          return_documents: false,
        }),
      });
      if (res.status !== 200) throw new Error(`rerank answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }, b);
    const direct = await rate(async (i) => {
      await session.run(feeds(i * b, b));
    }, b);
    results.push({ batch: b, inferdDocsPerSecond: inferd, sessionDocsPerSecond: direct, ratio: inferd / direct });
  }
} finally {
  await session.release();
  await server.close();
  rmSync(repository, { recursive: true, force: true });
}

const rows = [
  ['documents per request', 'inferd /v1/rerank docs/s', 'session.run docs/s', 'inferd / session'],
  ...results.map((r) => [
    String(r.batch),
    r.inferdDocsPerSecond.toFixed(0),
    r.sessionDocsPerSecond.toFixed(0),
    r.ratio.toFixed(2),
  ]),
];
const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  '));
const first = results[0];
const last = results[results.length - 1];
if (first !== undefined && last !== undefined)
  console.log(
    `inferd docs/s at ${last.batch} documents per request / at ${first.batch}: ${(last.inferdDocsPerSecond / first.inferdDocsPerSecond).toFixed(1)}×`,
  );
const out = path.join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  path.join(out, 'rerank.json'),
  JSON.stringify({ machine: describeMachine(ROOT), seconds: SECONDS, model: MODEL, results }, null, 2),
);
