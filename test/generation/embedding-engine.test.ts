// The embedding engine of a `task: embedding` model (examples/models/kjv-embed): vectors equal the
// PyTorch reference, inputs beyond max_tokens are refused, and concurrent requests of one length
// bucket share executions in the dynamic batcher.

import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InferdError } from '../../src/errors/index.js';
import { bucketFor } from '../../src/generation/embedding-engine.js';
import type { EmbeddingEngine } from '../../src/generation/engine-types.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelRepository } from '../../src/repository/model-repository.js';
import type { ModelVersion } from '../../src/model-kinds/model-version.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

interface EmbedFixture {
  sentences: { text: string; ids: number[]; embedding: number[] }[];
}
const fixture = JSON.parse(
  readFileSync(path.join(import.meta.dirname, '../fixtures/llm/kjv-embed.json'), 'utf8'),
) as EmbedFixture;

async function load(repo: string, name: string): Promise<{ repository: ModelRepository; mv: ModelVersion }> {
  const repository = new ModelRepository({
    path: repo,
    controlMode: 'explicit',
    loadModels: [name],
    pollSeconds: 60,
    cpuCores: 2,
    metrics: new Metrics(),
    logger: createLogger('silent'),
  });
  await repository.start();
  return { repository, mv: repository.resolve(name) };
}

function engineOf(mv: ModelVersion): EmbeddingEngine {
  assert.ok(mv.kind === 'embedding', 'a task: embedding model gets an embedding engine');
  return mv.embedding;
}

function maxDifference(a: Float32Array, b: readonly number[]): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  a.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - (b[i] ?? NaN)))));
  return worst;
}

const isBadRequest = (pattern: RegExp) => (err: unknown) =>
  err instanceof InferdError && err.httpStatus === 400 && pattern.test(err.message);

describe('kjv-embed embeddings', () => {
  let repository: ModelRepository;
  let engine: EmbeddingEngine;
  before(async () => {
    const loaded = await load(EXAMPLES_DIR, 'kjv-embed');
    repository = loaded.repository;
    engine = engineOf(loaded.mv);
  });
  after(() => repository.close());

  it('reports its dimensions and context length from the model and its config', () => {
    assert.equal(engine.modelName, 'kjv-embed');
    assert.equal(engine.dimensions, fixture.sentences[0]?.embedding.length);
    assert.equal(engine.contextLength, 128);
  });

  it('gives the PyTorch vectors for texts and for the same token ids', async () => {
    const texts = fixture.sentences.map((s) => s.text);
    const { embeddings, promptTokens } = await engine.embed(texts, { requestId: 'texts' });
    assert.equal(embeddings.length, texts.length);
    assert.equal(
      promptTokens,
      fixture.sentences.reduce((n, s) => n + s.ids.length, 0),
    );
    fixture.sentences.forEach((s, i) => {
      const v = embeddings[i];
      assert.ok(v !== undefined);
      assert.ok(maxDifference(v, s.embedding) < 1e-4, `${s.text}: ${maxDifference(v, s.embedding)}`);
      let norm = 0;
      for (const x of v) norm += x * x;
      assert.ok(Math.abs(norm - 1) < 1e-5, 'unit length');
    });
    const byIds = await engine.embed(
      fixture.sentences.map((s) => s.ids),
      { requestId: 'ids' },
    );
    fixture.sentences.forEach((s, i) =>
      assert.ok(maxDifference(byIds.embeddings[i] ?? new Float32Array(), s.embedding) < 1e-4),
    );
  });

  it('gives a text the same vector alone as beside longer texts (padding is masked out)', async () => {
    const short = 'Jesus wept.';
    const long = 'And it came to pass, '.repeat(8);
    assert.notEqual(
      bucketFor(engine.tokenizer.encode(short).length, 128),
      bucketFor(engine.tokenizer.encode(long).length, 128),
    );
    const alone = (await engine.embed([short], { requestId: 'a' })).embeddings[0];
    const mixed = (await engine.embed([long, short], { requestId: 'b' })).embeddings[1];
    assert.ok(alone !== undefined && mixed !== undefined);
    assert.ok(maxDifference(alone, [...mixed]) < 1e-5);
  });

  it('refuses inputs beyond max_tokens, empty inputs and unknown token ids with a 400', async () => {
    const long = 'And the LORD said unto Moses, '.repeat(30);
    const n = engine.tokenizer.encode(long).length;
    assert.ok(n > 128);
    await assert.rejects(
      engine.embed(['short', long], { requestId: 'long' }),
      isBadRequest(new RegExp(`maximum context length is 128 tokens. However, input\\[1\\] is ${n} tokens long`)),
    );
    await assert.rejects(engine.embed([], { requestId: 'none' }), isBadRequest(/must not be empty/));
    await assert.rejects(engine.embed([[]], { requestId: 'empty' }), isBadRequest(/input\[0\] is an empty list/));
    await assert.rejects(engine.embed([[5, 99999]], { requestId: 'oov' }), isBadRequest(/token id 99999/));
  });
});

describe('embedding batching', () => {
  let dir = '';
  let repository: ModelRepository;
  let mv: ModelVersion;
  before(async () => {
    // kjv-embed with a long queue delay and a preferred batch of 8, so the test does not race a timer.
    dir = await mkdtemp(path.join(tmpdir(), 'inferd-embed-'));
    const source = path.join(EXAMPLES_DIR, 'kjv-embed', '1');
    await mkdir(path.join(dir, 'embed', '1'), { recursive: true });
    for (const f of await readdir(source)) await copyFile(path.join(source, f), path.join(dir, 'embed', '1', f));
    await writeFile(
      path.join(dir, 'embed', 'config.yaml'),
      [
        'task: embedding',
        'max_batch_size: 8',
        'dynamic_batching: {max_queue_delay_microseconds: 5000000, preferred_batch_size: [8]}',
        'embedding: {pooling: mean, normalize: true, max_tokens: 64}',
      ].join('\n'),
    );
    ({ repository, mv } = await load(dir, 'embed'));
  });
  after(async () => {
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs eight concurrent one-text requests of one length bucket as one execution', async () => {
    const engine = engineOf(mv);
    const sameBucket = fixture.sentences.filter((s) => s.ids.length > 8 && s.ids.length <= 16);
    const texts = sameBucket
      .map((s) => s.text)
      .concat([
        'And God saw the light, that it was good.',
        'The grace of our Lord Jesus Christ be with you all.',
        'Remember the sabbath day, to keep it holy.',
        'Honour thy father and thy mother.',
      ]);
    assert.equal(texts.length, 8);
    assert.ok(texts.every((t) => bucketFor(engine.tokenizer.encode(t).length, 64) === 16));
    const before = mv.stats.executionCount;
    const results = await Promise.all(texts.map((t, i) => engine.embed([t], { requestId: `r${i}` })));
    assert.equal(mv.stats.executionCount - before, 1);
    // Batched rows come back to their own requests.
    sameBucket.forEach((s, i) =>
      assert.ok(maxDifference(results[i]?.embeddings[0] ?? new Float32Array(), s.embedding) < 1e-4),
    );
  });

  it('splits one request of more texts than max_batch_size into several executions', async () => {
    const engine = engineOf(mv);
    const texts = Array.from({ length: 16 }, (_, i) => `And the ${i} day.`);
    const before = mv.stats.executionCount;
    const { embeddings } = await engine.embed(texts, { requestId: 'many' });
    assert.equal(embeddings.length, 16);
    assert.ok(embeddings.every((v) => v.length === engine.dimensions));
    assert.equal(mv.stats.executionCount - before, 2);
  });
});

describe('task: embedding models that cannot serve embeddings', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferd-embed-bad-'));
    // The encoder without its tokenizer files, and a tensor model that is no encoder.
    await mkdir(path.join(dir, 'no_tokenizer', '1'), { recursive: true });
    await copyFile(
      path.join(EXAMPLES_DIR, 'kjv-embed', '1', 'model.onnx'),
      path.join(dir, 'no_tokenizer', '1', 'model.onnx'),
    );
    await writeFile(path.join(dir, 'no_tokenizer', 'config.yaml'), 'task: embedding\nmax_batch_size: 4\n');
    await mkdir(path.join(dir, 'not_encoder', '1'), { recursive: true });
    await copyFile(
      path.join(EXAMPLES_DIR, 'simple', '1', 'model.onnx'),
      path.join(dir, 'not_encoder', '1', 'model.onnx'),
    );
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      await copyFile(path.join(EXAMPLES_DIR, 'kjv-embed', '1', f), path.join(dir, 'not_encoder', '1', f));
    await writeFile(path.join(dir, 'not_encoder', 'config.yaml'), 'task: embedding\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [name, reason] of [
    ['no_tokenizer', /tokenizer\.json/],
    ['not_encoder', /cannot serve embeddings: it has no input 'input_ids'/],
  ] as const) {
    it(`${name} is not loaded, and the reason says why`, async () => {
      const repository = new ModelRepository({
        path: dir,
        controlMode: 'explicit',
        loadModels: [name],
        pollSeconds: 60,
        cpuCores: 2,
        metrics: new Metrics(),
        logger: createLogger('silent'),
      });
      try {
        await repository.start();
        assert.equal(repository.isReady(name), false);
        const row = (await repository.index(false)).find((r) => r.name === name);
        assert.equal(row?.state, 'UNAVAILABLE');
        assert.match(row?.reason ?? '', reason);
      } finally {
        await repository.close();
      }
    });
  }
});

describe('bucketFor', () => {
  it('pads to powers of two from 8, capped at the context length', () => {
    assert.deepEqual(
      [1, 8, 9, 16, 17, 100, 128].map((n) => bucketFor(n, 128)),
      [8, 8, 16, 16, 32, 128, 128],
    );
    assert.equal(bucketFor(70, 100), 100);
  });
});
