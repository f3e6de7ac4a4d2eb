// BERT-family encoders over HTTP against their PyTorch references (tools/llm/bert.py writes both:
// the embedding exports in test/fixtures/encoders, the cross-encoder in examples/models/bert-rerank):
// the official openai client's embeddings.create gives PyTorch's CLS-pooled (pooling read from
// sentence-transformers' own files) and mean-pooled vectors, with token_type_ids fed, and the
// RoBERTa variant's; /v1/rerank, /rerank (Jina and TEI shapes) and /score give the cross-encoder's
// scores, sorted where the API sorts; concurrent requests share one execution (the model's
// statistics say so); bad bodies and wrong model kinds are 400s naming the field.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ExampleFile } from '../../../tools/examples/example-models.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

const FIXTURES = path.join(import.meta.dirname, '../../fixtures/encoders');

interface Reference {
  texts: string[];
  token_ids: number[][];
  embeddings: Record<string, number[][]>;
  query: string;
  documents: string[];
  pair_token_ids: number[][];
  logits: number[];
  scores: number[];
}
const reference = JSON.parse(readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8')) as Reference;

/** Every file of a fixture model folder, under `as`; `config` replaces its config.yaml when given. */
async function modelFiles(name: string, as = name, config?: string): Promise<ExampleFile[]> {
  const files: ExampleFile[] = [];
  const root = name === 'bert-rerank' ? EXAMPLES_DIR : FIXTURES;
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(root, name, rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) await walk(child);
      else files.push({ path: `${as}/${child}`, bytes: await readFile(path.join(root, name, child)) });
    }
  };
  await walk('');
  if (config === undefined) return files;
  return [...files.filter((f) => f.path !== `${as}/config.yaml`), { path: `${as}/config.yaml`, bytes: config }];
}

/** Dispatched only once 4 rows are queued (or after 10 s, which fails the test): batching without timing. */
const WAIT_FOR_FOUR = `max_batch_size: 4
dynamic_batching:
  max_queue_delay_microseconds: 10000000
  preferred_batch_size: [4]
`;

let repo: string;
let server: TestServer;
let client: OpenAI;

async function post(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(server.url + url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function stats(model: string): Promise<{ execution_count: number; inference_count: number }> {
  const res = await fetch(`${server.url}/v2/models/${model}/stats`);
  const body = (await res.json()) as { model_stats: { execution_count: number; inference_count: number }[] };
  const s = body.model_stats[0];
  assert.ok(s !== undefined);
  return s;
}

function assertClose(actual: readonly number[], expected: readonly number[], what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((x, i) => {
    const want = expected[i] ?? NaN;
    assert.ok(Math.abs(x - want) <= tolerance, `${what}[${i}]: ${x} is not within ${tolerance} of ${want}`);
  });
}

before(async () => {
  repo = await makeRepository([
    ...(await modelFiles('bert-embed-cls')),
    ...(await modelFiles('bert-embed-mean')),
    ...(await modelFiles('roberta-embed')),
    ...(await modelFiles('bert-rerank')),
    ...(await modelFiles('bert-embed-cls', 'embed-batched', `task: embedding\n${WAIT_FOR_FOUR}`)),
    ...(await modelFiles(
      'bert-rerank',
      'rerank-batched',
      `task: rerank\nrerank:\n  max_tokens: 128\n${WAIT_FOR_FOUR}`,
    )),
  ]);
  server = await startTestServer({ modelRepository: repo, grpcPort: null });
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'x', maxRetries: 0 });
});
after(async () => {
  await server.close();
  await removeRepository(repo);
});

describe('BERT-family embeddings through the openai client', () => {
  for (const model of ['bert-embed-cls', 'bert-embed-mean', 'roberta-embed']) {
    it(`${model} embeds equal to PyTorch`, async () => {
      const answer = await client.embeddings.create({ model, input: reference.texts, encoding_format: 'float' });
      const expected = reference.embeddings[model] ?? [];
      assert.equal(answer.data.length, expected.length);
      answer.data.forEach((d, i) => assertClose(d.embedding, expected[i] ?? [], `${model} text ${i}`));
      const tokens = reference.token_ids.reduce((n, ids) => n + ids.length, 0);
      assert.equal(answer.usage.prompt_tokens, tokens, 'the tokenizer gives the reference token ids');
    });
  }

  it('pools and normalises as sentence-transformers files say when config.yaml does not', async () => {
    const answer = await client.embeddings.create({ model: 'bert-embed-cls', input: 'The cat eats fish.' });
    const vector = answer.data[0]?.embedding ?? [];
    // modules.json has a Normalize module: unit length; bert-embed-mean (no such file, normalize: false) is not.
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5);
    const config = (await (await fetch(`${server.url}/v2/models/bert-embed-cls/config`)).json()) as {
      embedding: unknown;
    };
    assert.deepEqual(
      config.embedding,
      { pooling: 'cls', normalize: true, max_tokens: 128 },
      'what the model runs with',
    );
    const mean = await client.embeddings.create({ model: 'bert-embed-mean', input: 'The cat eats fish.' });
    assert.ok(Math.abs(Math.hypot(...(mean.data[0]?.embedding ?? [])) - 1) > 1e-2);
  });

  it('batches concurrent requests into one execution', async () => {
    const before = await stats('embed-batched');
    // Texts 1 and 2 fall in one length bucket (16 tokens), so their rows can share an execution.
    const picks = [1, 2, 1, 2];
    const answers = await Promise.all(
      picks.map((i) => client.embeddings.create({ model: 'embed-batched', input: reference.texts[i] ?? '' })),
    );
    const after = await stats('embed-batched');
    assert.equal(after.execution_count - before.execution_count, 1, 'four requests, one execution');
    assert.equal(after.inference_count - before.inference_count, 4);
    answers.forEach((a, k) =>
      assertClose(
        a.data[0]?.embedding ?? [],
        reference.embeddings['bert-embed-cls']?.[picks[k] ?? 0] ?? [],
        `request ${k}`,
      ),
    );
  });
});

interface RerankAnswer {
  id: string;
  model: string;
  usage: { total_tokens: number };
  results: { index: number; relevance_score: number; document?: { text: string } }[];
}

describe('rerank and score with a cross-encoder', () => {
  const byScore = reference.scores
    .map((_, i) => i)
    .sort((a, b) => (reference.scores[b] ?? 0) - (reference.scores[a] ?? 0));

  it('POST /v1/rerank returns PyTorch scores, best first, with the documents', async () => {
    const documents = reference.documents.map((text, i) => (i % 2 === 0 ? text : { text }));
    const { status, json } = await post('/v1/rerank', { model: 'bert-rerank', query: reference.query, documents });
    assert.equal(status, 200);
    const answer = json as RerankAnswer;
    assert.match(answer.id, /^rerank-/);
    assert.equal(answer.model, 'bert-rerank');
    assert.deepEqual(
      answer.results.map((r) => r.index),
      byScore,
    );
    for (const r of answer.results) {
      assertClose([r.relevance_score], [reference.scores[r.index] ?? NaN], `document ${r.index}`);
      assert.equal(r.document?.text, reference.documents[r.index]);
    }
    assert.equal(
      answer.usage.total_tokens,
      reference.pair_token_ids.reduce((n, ids) => n + ids.length, 0),
    );
  });

  it('POST /rerank keeps top_n and leaves the documents out when asked', async () => {
    const { status, json } = await post('/rerank', {
      model: 'bert-rerank',
      query: reference.query,
      documents: reference.documents,
      top_n: 2,
      return_documents: false,
    });
    assert.equal(status, 200);
    const answer = json as RerankAnswer;
    assert.deepEqual(
      answer.results.map((r) => r.index),
      byScore.slice(0, 2),
    );
    assert.ok(answer.results.every((r) => r.document === undefined));
  });

  it("POST /rerank with `texts` answers in TEI's shape, raw logits when asked", async () => {
    const { status, json } = await post('/rerank', {
      model: 'bert-rerank',
      query: reference.query,
      texts: reference.documents,
      raw_scores: true,
      return_text: true,
    });
    assert.equal(status, 200);
    const answer = json as { index: number; score: number; text: string }[];
    assert.deepEqual(
      answer.map((r) => r.index),
      byScore,
    );
    for (const r of answer) {
      assertClose([r.score], [reference.logits[r.index] ?? NaN], `text ${r.index}`);
      assert.equal(r.text, reference.documents[r.index]);
    }
  });

  it('POST /v1/score and /score give the scores in pair order', async () => {
    const one = await post('/v1/score', { model: 'bert-rerank', text_1: reference.query, text_2: reference.documents });
    assert.equal(one.status, 200);
    const answer = one.json as { object: string; data: { index: number; object: string; score: number }[] };
    assert.equal(answer.object, 'list');
    assert.deepEqual(
      answer.data.map((d) => [d.index, d.object]),
      reference.documents.map((_, i) => [i, 'score']),
    );
    assertClose(
      answer.data.map((d) => d.score),
      reference.scores,
      'scores',
    );
    // Lists of the same length are scored in pairs.
    const pairs = await post('/score', {
      model: 'bert-rerank',
      text_1: [reference.query, reference.query],
      text_2: [reference.documents[3], reference.documents[0]],
    });
    assert.equal(pairs.status, 200);
    assertClose(
      (pairs.json as typeof answer).data.map((d) => d.score),
      [reference.scores[3] ?? NaN, reference.scores[0] ?? NaN],
      'paired scores',
    );
  });

  it('batches the pairs of concurrent requests into one execution', async () => {
    const before = await stats('rerank-batched');
    // Documents 0, 2 and 3 make pairs of one length bucket (32 tokens).
    const halves = [
      [0, 2],
      [3, 0],
    ];
    const answers = await Promise.all(
      halves.map((picks) =>
        post('/v1/rerank', {
          model: 'rerank-batched',
          query: reference.query,
          documents: picks.map((i) => reference.documents[i]),
        }),
      ),
    );
    const after = await stats('rerank-batched');
    assert.equal(after.execution_count - before.execution_count, 1, 'two requests of two pairs, one execution');
    assert.equal(after.inference_count - before.inference_count, 4);
    answers.forEach((a, h) => {
      for (const r of (a.json as RerankAnswer).results) {
        const document = halves[h]?.[r.index] ?? 0;
        assertClose([r.relevance_score], [reference.scores[document] ?? NaN], `request ${h} document ${document}`);
      }
    });
  });

  it('refuses a pair over max_tokens naming the document, and truncates it when asked', async () => {
    const long = 'the cat eats fish '.repeat(40);
    const refused = await post('/v1/rerank', {
      model: 'bert-rerank',
      query: reference.query,
      documents: ['Paris', long],
    });
    assert.equal(refused.status, 400);
    const error = (refused.json as { error: { param: string; code: string; message: string } }).error;
    assert.equal(error.param, 'documents[1]');
    assert.equal(error.code, 'context_length_exceeded');
    assert.match(error.message, /128 tokens/);
    const truncated = await post('/rerank', {
      model: 'bert-rerank',
      query: reference.query,
      texts: ['Paris', long],
      truncate: true,
    });
    assert.equal(truncated.status, 200);
    assert.equal((truncated.json as unknown[]).length, 2);
  });
});

describe('bad rerank and score requests', () => {
  const cases: [string, string, unknown, string | null, RegExp][] = [
    ['/v1/rerank', 'no query', { model: 'bert-rerank', documents: ['a'] }, 'query', /Missing required parameter/],
    ['/v1/rerank', 'no documents', { model: 'bert-rerank', query: 'q', documents: [] }, 'documents', /at least one/],
    [
      '/v1/rerank',
      'a number as a document',
      { model: 'bert-rerank', query: 'q', documents: [3] },
      'documents[0]',
      /string or a \{text\}/,
    ],
    [
      '/v1/rerank',
      'a negative top_n',
      { model: 'bert-rerank', query: 'q', documents: ['a'], top_n: -1 },
      'top_n',
      /at least 0/,
    ],
    [
      '/rerank',
      'TEI texts that are not strings',
      { model: 'bert-rerank', query: 'q', texts: [{}] },
      'texts[0]',
      /string/,
    ],
    [
      '/v1/score',
      'lists of different lengths',
      { model: 'bert-rerank', text_1: ['a', 'b'], text_2: ['c'] },
      'text_2',
      /same length/,
    ],
    ['/score', 'no text_2', { model: 'bert-rerank', text_1: 'a' }, 'text_2', /Missing required parameter/],
    ['/v1/rerank', 'no model', { query: 'q', documents: ['a'] }, 'model', /Missing required parameter/],
    [
      '/v1/rerank',
      'an embedding model',
      { model: 'bert-embed-cls', query: 'q', documents: ['a'] },
      'model',
      /embedding model: use \/v1\/embeddings/,
    ],
    [
      '/v1/score',
      'an embedding model',
      { model: 'bert-embed-cls', text_1: 'q', text_2: 'a' },
      'model',
      /does not support rerank/,
    ],
    [
      '/v1/embeddings',
      'a reranker',
      { model: 'bert-rerank', input: 'a' },
      'model',
      /reranker: use \/v1\/rerank or \/v1\/score/,
    ],
  ];
  for (const [url, what, body, param, message] of cases) {
    it(`${url} with ${what} is a 400 naming ${param}`, async () => {
      const { status, json } = await post(url, body);
      assert.equal(status, 400);
      const error = (json as { error: { param: string | null; message: string; type: string } }).error;
      assert.equal(error.param, param);
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, message);
    });
  }

  it('lists rerankers in /v1/models, and the server keeps serving', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('bert-rerank') && ids.includes('bert-embed-cls'), ids.join(', '));
    const model = (await client.models.retrieve('bert-rerank')) as unknown as { max_model_len: number };
    assert.equal(model.max_model_len, 128);
    const config = (await (await fetch(`${server.url}/v2/models/bert-rerank/config`)).json()) as {
      task: string;
      rerank: unknown;
      runtime: { endpoints: string[] };
    };
    assert.equal(config.task, 'rerank');
    assert.deepEqual(config.rerank, { activation: 'sigmoid', max_tokens: 128 });
    assert.ok(
      config.runtime.endpoints.some((e) => e.startsWith('POST /v1/rerank')),
      config.runtime.endpoints.join(),
    );
  });
});
