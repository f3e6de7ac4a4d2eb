import assert from 'node:assert/strict';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, removeRepository, startTestServer, type TestServer } from '../helpers/test-server.js';
import { greedyFixture, request } from './kjv-engine.js';
import { requireKind } from '../../src/model-kinds/serving-kinds.js';

describe('a task: text-generation model in the repository', () => {
  let repo: string;
  let server: TestServer;
  before(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'inferd-llm-'));
    await cp(path.join(EXAMPLES_DIR, 'kjv-tiny'), path.join(repo, 'kjv-tiny'), { recursive: true });
    await writeFile(
      path.join(repo, 'kjv-tiny', 'config.yaml'),
      'task: text-generation\ntext_generation:\n  max_running_sequences: 2\n  max_waiting_sequences: 0\n',
    );
    server = await startTestServer({ modelRepository: repo });
  });
  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  it('gets a generation engine with the configured limits and the model files', async () => {
    const engine = requireKind(server.repository.resolve('kjv-tiny'), 'completions').textGeneration;
    assert.ok(engine !== undefined);
    assert.equal(engine.contextLength, 256);
    assert.deepEqual(engine.tokenizer.eosTokenIds, [1]);
    // generation_config.json's sampling fields become the defaults.
    assert.equal(engine.defaults.temperature, 0.8);
    assert.equal(engine.defaults.topP, 0.95);
    const c = greedyFixture.prompts[0];
    assert.ok(c !== undefined);
    const stream = engine.generate(request(c.prompt_token_ids, { maxTokens: 4 }));
    const ids: number[] = [];
    let text = '';
    for await (const chunk of stream) {
      ids.push(...chunk.tokenIds);
      text += chunk.text;
    }
    assert.deepEqual(ids, c.greedy_token_ids.slice(0, ids.length));
    assert.equal(text, engine.tokenizer.decode(ids, { skipSpecialTokens: true }));
    // max_running_sequences 2 + max_waiting_sequences 0: a third sequence is refused.
    const ac = new AbortController();
    engine.generate(request(c.prompt_token_ids, { maxTokens: 200, ignoreEos: true }, ac.signal));
    engine.generate(request(c.prompt_token_ids, { maxTokens: 200, ignoreEos: true }, ac.signal));
    assert.throws(() => engine.generate(request(c.prompt_token_ids)), /sequences waiting already/);
    ac.abort();
  });

  it('answers a KServe v2 infer with 400 naming /v1/completions', async () => {
    const res = await fetch(`${server.url}/v2/models/kjv-tiny/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [] }),
    });
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 400);
    assert.match(body.error, /text-generation model: use POST \/v1\/completions/);
  });
});
