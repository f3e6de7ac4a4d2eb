// The JSON regions of a structural tag (tool calls' arguments) are compiled like the json
// constraint, without free whitespace: between JSON tokens only the separators `", "` and `": "`
// fit, so a small model cannot fill its budget with blanks inside a call.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConstraintCompiler, grammarVocabulary } from '../../src/generation/grammar.js';
import { loadTokenizer, type HfTokenizer } from '../../src/generation/tokenizer.js';

let tok: HfTokenizer;
let compiler: ConstraintCompiler;
let pieces: string[];

before(async () => {
  tok = await loadTokenizer(path.resolve('examples/models/kjv-tiny/1'));
  compiler = new ConstraintCompiler({
    vocabulary: grammarVocabulary(tok.tokenizerJson),
    vocabSize: tok.vocabSize,
    stopTokenIds: tok.eosTokenIds,
  });
  pieces = [];
  for (let i = 0; i < tok.vocabSize; i++) pieces.push(tok.decode([i]));
});
after(() => compiler.close());

function allowed(mask: Int32Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < tok.vocabSize; i++)
    if (((mask[i >> 5] as number) >>> (i & 31)) & 1) out.push(pieces[i] as string);
  return out;
}

test('inside a tagged JSON region no token of blanks alone is allowed', async () => {
  const tag = {
    type: 'structural_tag',
    format: {
      type: 'tags_with_separator',
      separator: '\n',
      at_least_one: true,
      tags: [
        {
          type: 'tag',
          begin: '<call>',
          content: {
            type: 'json_schema',
            json_schema: { type: 'object', properties: { n: { type: 'integer' }, s: { type: 'string' } } },
          },
          end: '</call>',
        },
      ],
    },
  };
  // After `<call>{` and after a complete member, a blank is what a model could loop on.
  for (const [text, next] of [
    ['<call>{', ['"', '}']],
    ['<call>{"n": 1', [',', '}']],
  ] as const) {
    const fresh = await compiler.matcher({ kind: 'structural_tag', tag });
    for (const id of tok.encode(text, { addSpecialTokens: false })) assert.equal(fresh.accept(id), true, text);
    const options = allowed(await fresh.mask());
    assert.ok(options.length > 0, text);
    assert.ok(
      !options.some((p) => /^\s+$/.test(p)),
      `${text}: ${JSON.stringify(options.filter((p) => /^\s+$/.test(p)))}`,
    );
    assert.ok(
      options.every((p) => next.some((n) => p.startsWith(n) || n.startsWith(p)) || /^[0-9]/.test(p)),
      `${text}: ${JSON.stringify(options.slice(0, 20))}`,
    );
    fresh.dispose();
  }
});
