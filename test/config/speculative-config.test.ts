// text_generation.speculative: vLLM's speculative_config names, off when absent, defaults filled
// in, and the mistakes a user makes refused with the field named.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';

function parse(speculative: unknown) {
  return modelConfigSchema.safeParse({ task: 'text-generation', text_generation: { speculative } });
}

function issues(speculative: unknown): string[] {
  const r = parse(speculative);
  assert.equal(r.success, false);
  return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
}

describe('text_generation.speculative', () => {
  it('is off when absent', () => {
    const r = modelConfigSchema.parse({ task: 'text-generation', text_generation: {} });
    assert.equal(r.text_generation?.speculative, undefined);
  });

  it('fills in the defaults for ngram', () => {
    const r = parse({ method: 'ngram' });
    assert.ok(r.success);
    assert.deepEqual(r.data.text_generation?.speculative, {
      method: 'ngram',
      num_speculative_tokens: 4,
      prompt_lookup_min: 2,
      prompt_lookup_max: 4,
    });
  });

  it('takes a draft model and a batch size that turns it off', () => {
    const r = parse({ method: 'draft_model', draft_model: '../kjv-draft', disable_by_batch_size: 8 });
    assert.ok(r.success);
    assert.equal(r.data.text_generation?.speculative?.draft_model, '../kjv-draft');
    assert.equal(r.data.text_generation?.speculative?.disable_by_batch_size, 8);
  });

  it('refuses prompt_lookup_min above prompt_lookup_max', () => {
    assert.deepEqual(issues({ method: 'ngram', prompt_lookup_min: 5, prompt_lookup_max: 3 }), [
      'text_generation.speculative.prompt_lookup_min: prompt_lookup_min must not exceed prompt_lookup_max',
    ]);
  });

  it('refuses draft_model missing with method draft_model, and given with ngram', () => {
    const want = [
      'text_generation.speculative.draft_model: draft_model is required with method draft_model, and only with it',
    ];
    assert.deepEqual(issues({ method: 'draft_model' }), want);
    assert.deepEqual(issues({ method: 'ngram', draft_model: 'x' }), want);
  });

  it('refuses an unknown method, a zero token count and an unknown key', () => {
    assert.ok(issues({ method: 'eagle' }).some((m) => m.startsWith('text_generation.speculative.method')));
    assert.ok(
      issues({ method: 'ngram', num_speculative_tokens: 0 }).some((m) =>
        m.startsWith('text_generation.speculative.num_speculative_tokens'),
      ),
    );
    assert.ok(issues({ method: 'ngram', lookahead: 3 }).some((m) => m.includes('lookahead')));
  });
});
