// docs/openai.md's examples work as pasted: the "Try it" shell block, the openai-package script and
// the structured output example run against a real server on the example models (port rewritten).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');

describe('docs/openai.md examples', () => {
  let server: TestServer;
  let section: string;

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['kjv-tiny', 'kjv-embed'],
      logLevel: 'warn',
      grpcPort: null,
    });
    const doc = await readFile(path.join(ROOT, 'docs/openai.md'), 'utf8');
    section = doc
      .slice(doc.indexOf('## Try it'), doc.indexOf('## Endpoints'))
      .replaceAll('localhost:8000', `127.0.0.1:${server.httpPort}`);
  });
  after(() => server.close());

  it('the curl session answers a chat, a completion, a stream, tokenize and the model list', async () => {
    const script = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').join('\n');
    assert.ok(script.includes('/v1/chat/completions'), 'the section has its shell block');
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 60_000 });
    assert.match(
      stdout,
      /"object":"chat\.completion","created":\d+,"model":"kjv-tiny","choices":\[\{"index":0,"message":\{"role":"assistant","content":"/,
    );
    assert.match(stdout, /"object":"text_completion".*"logprobs":\{"tokens":\[/);
    assert.match(
      stdout,
      /data: \{"id":"chatcmpl-[0-9a-f]+","object":"chat\.completion\.chunk".*"delta":\{"role":"assistant","content":""\}/,
    );
    assert.match(stdout, /"choices":\[\],"system_fingerprint":null,"usage":\{"prompt_tokens":\d+/);
    assert.match(stdout, /data: \[DONE\]/);
    assert.match(stdout, /\{"object":"list","data":\[\{"object":"embedding","index":0,"embedding":\[-?\d/);
    assert.match(stdout, /\{"count":\d+,"max_model_len":256,"tokens":\[/);
    assert.match(stdout, /\{"object":"list","data":\[\{"id":"kjv-tiny","object":"model"/);
  });

  it('the structured output example answers JSON that follows its schema, and one of the choices', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/openai.md'), 'utf8');
    const part = doc
      .slice(doc.indexOf('## Structured output'), doc.indexOf('## Responses'))
      .replaceAll('localhost:8000', `127.0.0.1:${server.httpPort}`);
    const script = /```sh\n([\s\S]*?)```/.exec(part)?.[1];
    assert.ok(script !== undefined, 'the section has its shell block');
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 60_000 });
    const [chat, completion] = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { choices: { message?: { content: string }; text?: string }[] });
    const person = JSON.parse(chat?.choices[0]?.message?.content ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(person).sort(), ['age', 'name']);
    assert.equal(typeof person['name'], 'string');
    assert.ok(Number.isInteger(person['age']));
    assert.ok(['Enos', 'Cainan', 'Mahalaleel'].includes(completion?.choices[0]?.text ?? ''));
  });

  it('the openai package script prints a completion and streams one', async () => {
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code !== undefined, 'the section has its js block');
    const dir = path.join(ROOT, '.tmp');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `openai-docs-${process.pid}.mjs`);
    await writeFile(file, code);
    try {
      const { stdout } = await run(process.execPath, [file], { cwd: ROOT, timeout: 60_000 });
      assert.match(stdout, /prompt_tokens: \d+/);
      assert.ok(stdout.length > 40, stdout);
    } finally {
      await rm(file, { force: true });
    }
  });
});
