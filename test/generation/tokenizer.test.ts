// The Node tokenizer (tokenizer.json through @huggingface/tokenizers) encodes exactly as the Python
// BPE of tools/llm/bpe.py that trained it, and renders the chat template as the recipe trained on.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InferdError } from '../../src/errors/index.js';
import { loadTokenizer, type HfTokenizer } from '../../src/generation/tokenizer.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODEL = path.join(ROOT, 'examples/models/kjv-tiny/1');

interface TokenizerFixture {
  samples: { text: string; ids: number[]; ids_without_special: number[] }[];
  chat: { messages: { role: string; content: string }[]; prompt: string; ids: number[] };
}
const fixture = JSON.parse(
  readFileSync(path.join(ROOT, 'test/fixtures/llm/kjv-tokenizer.json'), 'utf8'),
) as TokenizerFixture;

describe('kjv-tiny tokenizer', () => {
  let tok: HfTokenizer;
  before(async () => {
    tok = await loadTokenizer(MODEL);
  });

  it('encodes every fixture text exactly as the Python tokenizer, with and without <|bos|>', () => {
    assert.ok(fixture.samples.length >= 5);
    for (const s of fixture.samples) {
      assert.deepEqual(tok.encode(s.text), s.ids, s.text);
      assert.deepEqual(tok.encode(s.text, { addSpecialTokens: false }), s.ids_without_special, s.text);
    }
  });

  it('decodes back to the text (special tokens skipped unless asked for)', () => {
    for (const s of fixture.samples) {
      if (s.text.includes('<|')) continue;
      assert.equal(tok.decode(s.ids), s.text);
    }
    const marked = fixture.samples.find((s) => s.text.includes('<|user|>'));
    assert.ok(marked !== undefined);
    assert.equal(tok.decode(marked.ids_without_special, { skipSpecialTokens: false }), marked.text);
    assert.equal(tok.decode(marked.ids_without_special), marked.text.replace(/<\|[a-z]+\|>/g, ''));
  });

  it('renders the chat template as the recipe trained on, ending with the assistant marker', () => {
    const prompt = tok.applyChatTemplate(fixture.chat.messages);
    assert.equal(prompt, fixture.chat.prompt);
    assert.ok(prompt.endsWith('<|assistant|>\n'));
    assert.deepEqual(tok.encode(prompt), fixture.chat.ids);
  });

  it('reads EOS ids, BOS and the vocabulary size from the model folder', () => {
    assert.deepEqual(tok.eosTokenIds, [tok.tokenId('<|eos|>')]);
    assert.equal(tok.eosTokenIds[0], 1);
    assert.equal(tok.bosToken, '<|bos|>');
    assert.equal(tok.encode('x')[0], tok.tokenId('<|bos|>'));
    assert.equal(tok.vocabSize, 1536);
  });
});

describe('tokenizer loading', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'inferd-tokenizer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a folder without tokenizer.json, naming the file', async () => {
    await assert.rejects(
      loadTokenizer(dir),
      (err: unknown) =>
        err instanceof InferdError && err.code === 'INF_ERR_MODEL_LOAD' && err.message.includes('tokenizer.json'),
    );
  });

  it('without a chat template, a chat is refused with a 400 that points to completions', async () => {
    await writeFile(path.join(dir, 'tokenizer.json'), readFileSync(path.join(MODEL, 'tokenizer.json')));
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|eos|>' }));
    const tok = await loadTokenizer(dir);
    assert.equal(tok.hasChatTemplate, false);
    assert.deepEqual(tok.eosTokenIds, [1]);
    assert.throws(
      () => tok.applyChatTemplate([{ role: 'user', content: 'hi' }]),
      (err: unknown) => err instanceof InferdError && err.httpStatus === 400 && /\/v1\/completions/.test(err.message),
    );
  });
});
