// Speculative decoding configured in a model's config.yaml, through the official openai client
// against the real server: kjv-tiny served three times (plain, with prompt-lookup drafts, and with
// kjv-tiny named as its own draft model) gives the same greedy chats and completions, streamed and
// not, and /metrics counts the drafts under vLLM's names.

import assert from 'node:assert/strict';
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

async function kjvAs(name: string, extraConfig: string): Promise<ExampleFile[]> {
  const dir = path.join(EXAMPLES_DIR, 'kjv-tiny');
  const files: ExampleFile[] = [];
  for (const file of await readdir(path.join(dir, '1')))
    files.push({ path: `${name}/1/${file}`, bytes: await readFile(path.join(dir, '1', file)) });
  const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
  files.push({ path: `${name}/config.yaml`, bytes: `${config}\n${extraConfig}` });
  return files;
}

const MODELS = ['kjv-tiny', 'kjv-ngram', 'kjv-self-draft'] as const;
const PROMPTS = ['In the beginning God created', 'And the LORD spake unto Moses, saying,', 'Blessed are the'];

describe('speculative decoding through the OpenAI API', () => {
  let server: TestServer;
  let repo: string;
  let client: OpenAI;
  before(async () => {
    repo = await makeRepository([
      ...(await kjvAs('kjv-tiny', '')),
      ...(await kjvAs(
        'kjv-ngram',
        'text_generation:\n  speculative:\n    method: ngram\n    num_speculative_tokens: 3\n    prompt_lookup_min: 1\n    prompt_lookup_max: 3\n',
      )),
      // A model name beside it in the repository names the draft model.
      ...(await kjvAs(
        'kjv-self-draft',
        'text_generation:\n  speculative:\n    method: draft_model\n    draft_model: kjv-tiny\n',
      )),
    ]);
    server = await startTestServer({ modelRepository: repo, grpcPort: null });
    client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await server.close();
    await removeRepository(repo);
  });

  it('greedy completions are the same with and without speculation', async () => {
    for (const prompt of PROMPTS) {
      const texts = await Promise.all(
        MODELS.map(async (model) => {
          const r = await client.completions.create({ model, prompt, max_tokens: 40, temperature: 0 });
          return { text: r.choices[0]?.text, usage: r.usage?.completion_tokens, finish: r.choices[0]?.finish_reason };
        }),
      );
      assert.ok((texts[0]?.text ?? '').length > 0);
      assert.deepEqual(texts[1], texts[0], `ngram, prompt ${prompt}`);
      assert.deepEqual(texts[2], texts[0], `draft model, prompt ${prompt}`);
    }
  });

  it('streamed greedy chats are the same, with stop strings and max_tokens respected', async () => {
    const chat = async (model: string, content: string): Promise<string> => {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content }],
        max_tokens: 30,
        temperature: 0,
        stop: ['hath'],
        stream: true,
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      return text;
    };
    for (const content of PROMPTS) {
      const [plain, ngram, draft] = await Promise.all(MODELS.map((m) => chat(m, content)));
      assert.ok(!(plain ?? '').includes('hath'));
      assert.equal(ngram, plain, content);
      assert.equal(draft, plain, content);
    }
  });

  it('/metrics counts drafts and accepted tokens under vLLM names', async () => {
    const text = await (await fetch(server.url + '/metrics')).text();
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(series));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    assert.ok(value('vllm:spec_decode_num_drafts_total{model_name="kjv-ngram"}') > 0, 'drafts were counted');
    const selfDrafted = value('vllm:spec_decode_num_draft_tokens_total{model_name="kjv-self-draft"}');
    const selfAccepted = value('vllm:spec_decode_num_accepted_tokens_total{model_name="kjv-self-draft"}');
    // The model drafting for itself has its drafts accepted up to where a stop string or EOS ends
    // the sequence (the draft tokens after it are counted as drafted, not accepted).
    assert.ok(selfAccepted <= selfDrafted && selfAccepted >= 0.9 * selfDrafted, `${selfAccepted} of ${selfDrafted}`);
    assert.ok(value('vllm:spec_decode_num_accepted_tokens_total{model_name="kjv-ngram"}') > 0);
    assert.equal(
      value('vllm:spec_decode_num_drafts_total{model_name="kjv-tiny"}'),
      0,
      'no speculation unless configured',
    );
  });
});
