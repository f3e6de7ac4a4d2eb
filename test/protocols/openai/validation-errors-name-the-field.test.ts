// Every invalid field of chat, completions and embeddings bodies is a 400 invalid_request_error in
// OpenAI's body that names the field, before anything reaches the engine.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeApi, type FakeEngine } from './fake-engine.js';

let url: string;
let engine: FakeEngine;
let close: () => Promise<void>;

before(async () => {
  const api = await startFakeApi();
  url = api.url;
  engine = api.engine;
  close = () => api.app.close();
});
after(() => close());

async function post(
  path: string,
  body: unknown,
): Promise<{ status: number; body: { error: Record<string, unknown> } }> {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
}

const chat = { model: 'fake-gen', messages: [{ role: 'user', content: 'Hi' }] };
const cmpl = { model: 'fake-gen', prompt: 'In the' };

/** [endpoint, body, param, message fragment] */
const cases: [string, Record<string, unknown>, string | null, string][] = [
  ['/v1/chat/completions', { messages: chat.messages }, 'model', "Missing required parameter: 'model'"],
  ['/v1/chat/completions', { model: 'fake-gen' }, 'messages', "Missing required parameter: 'messages'"],
  ['/v1/chat/completions', { ...chat, messages: [] }, 'messages', 'must be a non-empty list of messages'],
  [
    '/v1/chat/completions',
    { ...chat, messages: [{ role: 'function', content: 'x' }] },
    'messages[0].role',
    'must be one of',
  ],
  [
    '/v1/chat/completions',
    { ...chat, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] },
    'messages[0].content',
    'images and audio are not supported',
  ],
  ['/v1/chat/completions', { ...chat, temperature: 2.5 }, 'temperature', 'must be a number between 0 and 2 (got 2.5)'],
  ['/v1/chat/completions', { ...chat, temperature: 'hot' }, 'temperature', 'must be a number between 0 and 2'],
  ['/v1/chat/completions', { ...chat, top_p: 0 }, 'top_p', 'greater than 0 and at most 1'],
  ['/v1/chat/completions', { ...chat, top_p: 1.5 }, 'top_p', 'greater than 0 and at most 1'],
  ['/v1/chat/completions', { ...chat, n: 0 }, 'n', 'between 1 and 128'],
  ['/v1/chat/completions', { ...chat, n: 129 }, 'n', 'between 1 and 128'],
  ['/v1/chat/completions', { ...chat, n: 1.5 }, 'n', 'between 1 and 128'],
  ['/v1/chat/completions', { ...chat, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', 'at most 4 strings'],
  ['/v1/chat/completions', { ...chat, stop: 7 }, 'stop', 'a string or a list of at most 4 strings'],
  ['/v1/chat/completions', { ...chat, seed: 1.5 }, 'seed', 'must be an integer'],
  ['/v1/chat/completions', { ...chat, frequency_penalty: -3 }, 'frequency_penalty', 'between -2 and 2'],
  ['/v1/chat/completions', { ...chat, presence_penalty: 2.1 }, 'presence_penalty', 'between -2 and 2'],
  ['/v1/chat/completions', { ...chat, logit_bias: { abc: 1 } }, 'logit_bias.abc', 'must map token ids'],
  ['/v1/chat/completions', { ...chat, logit_bias: { '5': 101 } }, 'logit_bias.5', 'between -100 and 100'],
  ['/v1/chat/completions', { ...chat, logit_bias: { '999': 1 } }, 'logit_bias', 'token id 999 is out of range'],
  ['/v1/chat/completions', { ...chat, logprobs: true, top_logprobs: 21 }, 'top_logprobs', 'between 0 and 20'],
  ['/v1/chat/completions', { ...chat, top_logprobs: 2 }, 'top_logprobs', '`logprobs` must be set to true'],
  ['/v1/chat/completions', { ...chat, max_tokens: 0 }, 'max_tokens', 'at least 1'],
  ['/v1/chat/completions', { ...chat, max_completion_tokens: -1 }, 'max_completion_tokens', 'at least 1'],
  [
    '/v1/chat/completions',
    { ...chat, response_format: { type: 'json_schema', json_schema: { name: 'x y', schema: {} } } },
    'response_format.json_schema.name',
    'letters, digits',
  ],
  [
    '/v1/chat/completions',
    { ...chat, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: [1] } } },
    'response_format.json_schema.schema',
    'must be a JSON schema',
  ],
  ['/v1/chat/completions', { ...chat, response_format: { type: 'xml' } }, 'response_format.type', 'json_object'],
  ['/v1/completions', { ...cmpl, guided_choice: [] }, 'guided_choice', 'non-empty list'],
  [
    '/v1/completions',
    { ...cmpl, guided_regex: 'a+', guided_choice: ['a'] },
    'guided_choice',
    "'guided_regex' and 'guided_choice' were both set",
  ],
  [
    '/v1/chat/completions',
    { ...chat, response_format: { type: 'json_object' }, structured_outputs: { regex: 'a' } },
    'structured_outputs.regex',
    'Only one way of constraining output',
  ],
  ['/v1/completions', { ...cmpl, guided_json: '{"type": ' }, 'guided_json', 'not valid JSON'],
  [
    '/v1/chat/completions',
    { ...chat, stream_options: { include_usage: true } },
    'stream_options',
    'only be defined when `stream=true`',
  ],
  ['/v1/chat/completions', { ...chat, stream: 'yes' }, 'stream', 'must be a boolean'],
  ['/v1/chat/completions', { ...chat, user: 5 }, 'user', 'must be a string'],
  [
    '/v1/chat/completions',
    { ...chat, tools: [{ type: 'function', function: { name: 'f g' } }] },
    'tools[0].function.name',
    'letter, digit, underscore or dash',
  ],
  ['/v1/chat/completions', { ...chat, top_k: -2 }, 'top_k', '-1 or 0 for off'],
  ['/v1/chat/completions', { ...chat, min_p: 1.2 }, 'min_p', 'between 0 and 1'],
  ['/v1/chat/completions', { ...chat, repetition_penalty: 0 }, 'repetition_penalty', 'greater than 0'],
  ['/v1/chat/completions', { ...chat, min_tokens: 10, max_tokens: 5 }, 'min_tokens', 'more than the completion'],
  ['/v1/chat/completions', { ...chat, ignore_eos: 1 }, 'ignore_eos', 'must be a boolean'],
  ['/v1/chat/completions', { ...chat, stop_token_ids: [1, -1] }, 'stop_token_ids[1]', 'list of token ids'],
  ['/v1/chat/completions', { ...chat, stop_token_ids: [300] }, 'stop_token_ids', 'token id 300 is out of range'],
  ['/v1/completions', { model: 'fake-gen' }, 'prompt', "Missing required parameter: 'prompt'"],
  ['/v1/completions', { ...cmpl, prompt: [] }, 'prompt', 'must be a string, a list of strings'],
  ['/v1/completions', { ...cmpl, prompt: '' }, 'prompt', 'must not be empty'],
  ['/v1/embeddings', { model: 'fake-embed', input: ['a', ''] }, 'input[1]', 'must not be empty'],
  // Counted before any input is tokenized (the empty last one is never looked at).
  [
    '/v1/embeddings',
    { model: 'fake-embed', input: [...new Array<string>(2048).fill('a'), ''] },
    'input',
    'at most 2048 inputs',
  ],
  ['/v1/embeddings', { model: 'fake-embed', input: 'x'.repeat(40) }, 'input', 'maximum context length is 32 tokens'],
  ['/v1/completions', { ...cmpl, prompt: [[72, 105], [999]] }, 'prompt[1]', 'token id 999 is out of range'],
  ['/v1/completions', { ...cmpl, logprobs: 6 }, 'logprobs', 'between 0 and 5'],
  ['/v1/completions', { ...cmpl, suffix: 'end' }, 'suffix', 'suffix is not supported'],
  ['/v1/completions', { ...cmpl, best_of: 3, n: 2 }, 'best_of', 'must equal n (2)'],
  ['/v1/completions', { ...cmpl, echo: true, logprobs: 1 }, 'logprobs', 'cannot be combined with echo'],
  ['/v1/completions', { ...cmpl, stream_options: { include_usage: true } }, 'stream_options', 'only be defined'],
  ['/v1/embeddings', { model: 'fake-embed' }, 'input', "Missing required parameter: 'input'"],
  [
    '/v1/embeddings',
    { model: 'fake-embed', input: 'x', encoding_format: 'int8' },
    'encoding_format',
    '"float" or "base64"',
  ],
  ['/v1/embeddings', { model: 'fake-embed', input: 'x', dimensions: 2 }, 'dimensions', 'have 4 dimensions'],
];

describe('invalid fields are 400 invalid_request_error naming the field', () => {
  for (const [path, body, param, fragment] of cases) {
    const field = param ?? '(body)';
    test(`${path} ${field}: ${fragment}`, async () => {
      const before = engine.requests.length;
      const res = await post(path, body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.type, 'invalid_request_error');
      assert.equal(res.body.error.param, param);
      assert.ok(
        String(res.body.error.message).includes(fragment),
        `message ${JSON.stringify(res.body.error.message)} lacks ${JSON.stringify(fragment)}`,
      );
      assert.equal(engine.requests.length, before, 'nothing reached the engine');
    });
  }
});

test('a body that is not JSON is a 400 without a param', async () => {
  const res = await post('/v1/chat/completions', '{"model":');
  assert.equal(res.status, 400);
  assert.equal(res.body.error.type, 'invalid_request_error');
  assert.equal(res.body.error.param, null);
  assert.match(String(res.body.error.message), /could not parse the JSON body/);
});

test('prompt plus max_tokens over the context length gives OpenAI’s message', async () => {
  const res = await post('/v1/completions', { ...cmpl, max_tokens: 60 });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'context_length_exceeded');
  assert.equal(res.body.error.param, 'prompt');
  // 'In the' is 6 characters plus the BOS token.
  assert.equal(
    res.body.error.message,
    "This model's maximum context length is 64 tokens. However, you requested 67 tokens (7 in the prompt, 60 in the completion). Please reduce the length of the prompt or completion.",
  );
});

test('chat messages over the context length without max_tokens', async () => {
  const res = await post('/v1/chat/completions', { ...chat, messages: [{ role: 'user', content: 'x'.repeat(80) }] });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'context_length_exceeded');
  assert.match(
    String(res.body.error.message),
    /^This model's maximum context length is 64 tokens\. However, your request has 97 input tokens\./,
  );
});

test('an unknown model is a 404 model_not_found', async () => {
  const res = await post('/v1/chat/completions', { ...chat, model: 'nope' });
  assert.equal(res.status, 404);
  assert.deepEqual(res.body.error, {
    message: "The model 'nope' does not exist.",
    type: 'not_found_error',
    param: 'model',
    code: 'model_not_found',
  });
});

test('a tensor model named in /v1 is a 400 naming its v2 endpoint; a wrong-kind model names the right endpoint', async () => {
  const tensor = await post('/v1/completions', { ...cmpl, model: 'tensor' });
  assert.equal(tensor.status, 400);
  assert.equal(tensor.body.error.param, 'model');
  assert.match(String(tensor.body.error.message), /POST \/v2\/models\/tensor\/infer/);
  const embed = await post('/v1/chat/completions', { ...chat, model: 'fake-embed' });
  assert.equal(embed.status, 400);
  assert.match(String(embed.body.error.message), /use \/v1\/embeddings/);
  const gen = await post('/v1/embeddings', { model: 'fake-gen', input: 'x' });
  assert.equal(gen.status, 400);
  assert.match(String(gen.body.error.message), /use \/v1\/chat\/completions or \/v1\/completions/);
});
