// Where a draft model is found (a path from the model's folder, a model beside it, a folder's
// highest version) and what makes one refused: a missing folder, a tokenizer or vocabulary that
// differs from the model's; each refusal names the setting and the reason.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadSpeculative, resolveDraftModelFile } from '../../src/generation/load-speculative.js';
import { EXAMPLES_DIR, makeRepository, removeRepository } from '../helpers/repository-files.js';

const SESSION = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

describe('loading a draft model', () => {
  let repo: string;
  before(async () => {
    const onnx = await readFile(path.join(EXAMPLES_DIR, 'kjv-tiny/1/model.onnx'));
    const tokenizer = await readFile(path.join(EXAMPLES_DIR, 'kjv-tiny/1/tokenizer.json'), 'utf8');
    const other = JSON.parse(tokenizer) as { added_tokens: { content: string }[] };
    (other.added_tokens[0] as { content: string }).content = '<|start|>';
    repo = await makeRepository([
      { path: 'target/1/model.onnx', bytes: onnx },
      { path: 'target/1/tokenizer.json', bytes: tokenizer },
      { path: 'drafts/small/model.onnx', bytes: onnx },
      { path: 'drafts/small/tokenizer.json', bytes: tokenizer },
      { path: 'kjv-draft/1/model.onnx', bytes: onnx },
      { path: 'kjv-draft/3/model.onnx', bytes: onnx },
      { path: 'kjv-draft/3/tokenizer.json', bytes: tokenizer },
      { path: 'alien/model.onnx', bytes: onnx },
      { path: 'alien/tokenizer.json', bytes: JSON.stringify(other) },
    ]);
  });
  after(() => removeRepository(repo));

  const target = (): string => path.join(repo, 'target/1');

  it('finds a path from the model folder, a model beside it, and its highest version', async () => {
    assert.equal(await resolveDraftModelFile(target(), '../drafts/small'), path.join(repo, 'drafts/small/model.onnx'));
    assert.equal(await resolveDraftModelFile(target(), 'kjv-draft'), path.join(repo, 'kjv-draft/3/model.onnx'));
    assert.equal(
      await resolveDraftModelFile(target(), '../drafts/small/model.onnx'),
      path.join(repo, 'drafts/small/model.onnx'),
    );
  });

  it('refuses a draft model that is not there', async () => {
    await assert.rejects(
      resolveDraftModelFile(target(), 'nowhere'),
      /speculative\.draft_model 'nowhere': no such file or folder/,
    );
    await assert.rejects(resolveDraftModelFile(target(), '../drafts'), /holds no model\.onnx/);
  });

  it('refuses a draft with another tokenizer', async () => {
    const config = {
      method: 'draft_model',
      draft_model: 'alien',
      num_speculative_tokens: 4,
      prompt_lookup_min: 2,
      prompt_lookup_max: 4,
    } as const;
    await assert.rejects(
      loadSpeculative(config, { modelName: 'target', dir: target(), vocabSize: 1536, session: SESSION, inline: true }),
      /its tokenizer\.json differs from the model's; a draft must share the tokenizer/,
    );
  });

  it('refuses a draft whose logits have another vocabulary size', async () => {
    const config = {
      method: 'draft_model',
      draft_model: 'kjv-draft',
      num_speculative_tokens: 4,
      prompt_lookup_min: 2,
      prompt_lookup_max: 4,
    } as const;
    await assert.rejects(
      loadSpeculative(config, { modelName: 'target', dir: target(), vocabSize: 2000, session: SESSION, inline: true }),
      /its logits have 1536 entries, the model's 2000; a draft must share the vocabulary/,
    );
  });

  it('opens a draft that shares the tokenizer, with the configured limits', async () => {
    const config = {
      method: 'draft_model',
      draft_model: 'kjv-draft',
      num_speculative_tokens: 3,
      prompt_lookup_min: 2,
      prompt_lookup_max: 4,
      disable_by_batch_size: 6,
    } as const;
    const spec = await loadSpeculative(config, {
      modelName: 'target',
      dir: target(),
      vocabSize: 1536,
      session: SESSION,
      inline: false,
    });
    assert.ok(spec !== undefined);
    try {
      assert.equal(spec.numSpeculativeTokens, 3);
      assert.equal(spec.disableByBatchSize, 6);
      const [draft] = await spec.drafter.propose([
        { seq: 1, tokens: [0, 1139, 264, 801, 270, 1230, 391, 285, 559, 288], k: 3 },
      ]);
      // kjv-tiny's greedy continuation of the fixture's first prompt.
      assert.deepEqual(draft, [16, 5, 16]);
    } finally {
      await spec.drafter.close();
    }
  });
});
