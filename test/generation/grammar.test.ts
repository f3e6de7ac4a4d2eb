// The grammar module over kjv-tiny's byte-level BPE vocabulary: masks allow exactly the tokens that
// keep the text inside the grammar, a complete grammar allows only EOS, refusals are 400s naming
// the reason (and the module goes on compiling after the library aborted), and random sampling
// under a random small JSON schema always ends in text that parses and validates.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { InferdError } from '../../src/errors/index.js';
import type { OutputConstraint } from '../../src/generation/engine-types.js';
import { unenforcedKeyword } from '../../src/generation/constraint-checks.js';
import { ConstraintCompiler, choiceGrammar } from '../../src/generation/grammar.js';
import { grammarVocabulary } from '../../src/generation/grammar-vocabulary.js';
import { allowsOnly, applyTokenMask } from '../../src/generation/token-mask.js';
import { loadTokenizer, type HfTokenizer } from '../../src/generation/tokenizer.js';
import { SeededRandom } from '../../src/generation/sampler.js';

const MODEL = path.resolve('examples/models/kjv-tiny/1');
const EOS = 1;
const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);

function allowed(mask: Int32Array, vocab: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < vocab; i++) if (((mask[i >> 5] as number) >>> (i & 31)) & 1) ids.push(i);
  return ids;
}

describe('grammar module on kjv-tiny', () => {
  let tok: HfTokenizer;
  let compiler: ConstraintCompiler;
  /** Each token's text alone; special tokens ''. */
  let pieces: string[];

  before(async () => {
    tok = await loadTokenizer(MODEL);
    compiler = new ConstraintCompiler({
      vocabulary: grammarVocabulary(tok.tokenizerJson),
      vocabSize: tok.vocabSize,
      stopTokenIds: tok.eosTokenIds,
    });
    pieces = [];
    for (let i = 0; i < tok.vocabSize; i++) pieces.push(tok.decode([i]));
  });
  after(() => compiler.close());

  it('reads the vocabulary as byte-level with special tokens blanked', () => {
    const v = grammarVocabulary(tok.tokenizerJson);
    assert.equal(v.vocabType, 'byte_level');
    assert.equal(v.prependSpace, false);
    assert.equal(v.tokens.length, 1536);
    assert.equal(v.tokens[EOS], '');
    assert.equal(v.tokens[4], '');
  });

  it('allows exactly the tokens that begin one of the choices', async () => {
    const choices = ['yes', 'no', 'maybe so'];
    const m = await compiler.matcher({ kind: 'choice', choices });
    const expected = pieces
      .map((p, id) => ({ p, id }))
      .filter(({ p, id }) => id !== EOS && p !== '' && choices.some((c) => c.startsWith(p)))
      .map(({ id }) => id);
    assert.ok(expected.length >= 3);
    assert.deepEqual(allowed(await m.mask(), tok.vocabSize), expected);
    m.dispose();
  });

  it('allows only EOS once the text is complete, and accepting it terminates', async () => {
    const m = await compiler.matcher({ kind: 'regex', pattern: '[0-9]{2}-(ab|cd)' });
    for (const id of tok.encode('12-ab', { addSpecialTokens: false })) {
      assert.equal(allowsOnly(await m.mask(), new Set([EOS])), false);
      assert.equal(m.accept(id), true, `token ${id}`);
    }
    const last = await m.mask();
    assert.deepEqual(allowed(last, tok.vocabSize), [EOS]);
    assert.equal(allowsOnly(last, new Set([EOS])), true);
    assert.equal(m.isTerminated(), false);
    assert.equal(m.accept(EOS), true);
    assert.equal(m.isTerminated(), true);
    m.dispose();
  });

  it("writes a structural tag's JSON schema without free whitespace, as json constraints are", async () => {
    const tag = {
      type: 'structural_tag',
      format: {
        type: 'tag',
        begin: 'call:',
        content: {
          type: 'json_schema',
          json_schema: {
            type: 'object',
            properties: { city: { type: 'string', enum: ['Paris'] } },
            required: ['city'],
            additionalProperties: false,
          },
        },
        end: ';',
      },
    };
    const m = await compiler.matcher({ kind: 'structural_tag', tag });
    for (const id of tok.encode('call:{', { addSpecialTokens: false })) assert.equal(m.accept(id), true);
    // A small model left free to write whitespace here writes newlines until its tokens run out.
    const next = allowed(await m.mask(), tok.vocabSize).map((id) => pieces[id] ?? '');
    assert.ok(next.length > 0);
    assert.deepEqual(
      next.filter((p) => !p.startsWith('"')),
      [],
    );
    for (const id of tok.encode('"city": "Paris"};', { addSpecialTokens: false })) assert.equal(m.accept(id), true);
    assert.deepEqual(allowed(await m.mask(), tok.vocabSize), [EOS]);
    m.dispose();
  });

  it('refuses a token outside the grammar and stays where it was', async () => {
    const m = await compiler.matcher({ kind: 'choice', choices: ['yes'] });
    const before = allowed(await m.mask(), tok.vocabSize);
    const no = tok.encode('no', { addSpecialTokens: false })[0] as number;
    assert.equal(m.accept(no), false);
    assert.deepEqual(allowed(await m.mask(), tok.vocabSize), before);
    m.dispose();
  });

  it('a structural tag leaves text free until its trigger, then holds the tagged region to its schema', async () => {
    const tag = {
      type: 'structural_tag',
      format: {
        type: 'triggered_tags',
        triggers: ['<call>'],
        tags: [
          {
            type: 'tag',
            begin: '<call>',
            content: { type: 'json_schema', json_schema: { type: 'object', properties: { n: { type: 'integer' } } } },
            end: '</call>',
          },
        ],
      },
    };
    const m = await compiler.matcher({ kind: 'structural_tag', tag });
    const free = allowed(await m.mask(), tok.vocabSize);
    assert.ok(free.length > 1000, `free text allows most tokens (${free.length})`);
    assert.ok(free.includes(EOS));
    for (const id of tok.encode('And God <call>', { addSpecialTokens: false })) assert.equal(m.accept(id), true);
    // The tag's JSON has no free whitespace, as top-level JSON: only `{` may open it.
    const inside = allowed(await m.mask(), tok.vocabSize).map((id) => pieces[id] as string);
    assert.deepEqual(inside, ['{']);
    for (const id of tok.encode('{"n": 12}</call>', { addSpecialTokens: false })) assert.equal(m.accept(id), true);
    m.dispose();
  });

  it('refuses a structural tag whose JSON schema uses a keyword xgrammar would not enforce', async () => {
    const tag = {
      type: 'structural_tag',
      format: { type: 'tag', begin: '<a>', content: { type: 'json_schema', json_schema: { not: {} } }, end: '</a>' },
    };
    await assert.rejects(compiler.prepare({ kind: 'structural_tag', tag }), /structural tag uses 'not'/);
  });

  it('writes choices as JSON-escaped literals, so quotes and newlines match themselves', async () => {
    assert.equal(choiceGrammar(['a"b', 'x\ny']), 'root ::= "a\\"b" | "x\\ny"');
    const m = await compiler.matcher({ kind: 'choice', choices: ['a"b', 'x\ny'] });
    for (const id of tok.encode('x\ny', { addSpecialTokens: false })) assert.equal(m.accept(id), true);
    assert.deepEqual(allowed(await m.mask(), tok.vocabSize), [EOS]);
    m.dispose();
  });

  const refusals: [string, OutputConstraint, RegExp][] = [
    ['an unterminated regex class', { kind: 'regex', pattern: '[0-9' }, /regular expression is not valid/],
    ['a regex lookahead', { kind: 'regex', pattern: '(?=a)b' }, /regular expression cannot be compiled: .*Lookahead/],
    ['an EBNF rule never defined', { kind: 'grammar', grammar: 'root ::= foo' }, /grammar cannot be compiled: .*"foo"/],
    ['an EBNF grammar without root', { kind: 'grammar', grammar: 'rot ::= "a"' }, /"root" is not found/],
    [
      'a schema type that is not a string',
      { kind: 'json', schema: { type: 5 } },
      /JSON schema cannot be compiled: Type should be a string/,
    ],
    ['an unknown schema type', { kind: 'json', schema: { type: 'foo' } }, /Unsupported type "foo"/],
    [
      'an allOf of several schemas (left unenforced by xgrammar)',
      { kind: 'json', schema: { allOf: [{ type: 'object' }, { required: ['a'] }] } },
      /allOf/,
    ],
    ['no choices', { kind: 'choice', choices: [] }, /choices are empty/],
    [
      'a keyword xgrammar would not enforce, naming where it is',
      { kind: 'json', schema: { type: 'object', properties: { age: { type: 'integer', multipleOf: 3 } } } },
      /uses 'multipleOf' \(at properties\.age\.multipleOf\)/,
    ],
    [
      'a not inside an anyOf',
      { kind: 'json', schema: { anyOf: [{ type: 'string' }, { type: 'integer', not: { const: 3 } }] } },
      /at anyOf\[1\]\.not/,
    ],
  ];
  for (const [what, constraint, message] of refusals) {
    it(`refuses ${what} with a 400 naming the reason`, async () => {
      await assert.rejects(compiler.prepare(constraint), (err: unknown) => {
        assert.ok(err instanceof InferdError);
        assert.equal(err.httpStatus, 400);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  it('goes on compiling after many refusals that abort the WebAssembly instance; matchers made before go on', async () => {
    const before = await compiler.matcher({ kind: 'choice', choices: ['Amen'] });
    for (let i = 0; i < 12; i++) {
      await assert.rejects(compiler.prepare({ kind: 'grammar', grammar: `root ::= "a${i}" | ` }), /Expect element/);
    }
    for (const id of tok.encode('Amen', { addSpecialTokens: false })) assert.equal(before.accept(id), true);
    assert.deepEqual(allowed(await before.mask(), tok.vocabSize), [EOS]);
    before.dispose();
    const m = await compiler.matcher({
      kind: 'json',
      schema: { type: 'object', properties: { a: { type: 'integer' } } },
    });
    assert.ok(allowed(await m.mask(), tok.vocabSize).length > 0);
    m.dispose();
  });

  it('good constraints queued behind ones that abort still compile', async () => {
    const jobs = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0
        ? compiler.prepare({ kind: 'grammar', grammar: `root ::= "b${i}" | ` }).then(
            () => 'compiled',
            (err: unknown) => (err instanceof InferdError && err.httpStatus === 400 ? 'refused' : String(err)),
          )
        : compiler.prepare({ kind: 'choice', choices: [`word${i}`] }).then(
            () => 'compiled',
            (err: unknown) => String(err),
          ),
    );
    assert.deepEqual(
      await Promise.all(jobs),
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? 'refused' : 'compiled')),
    );
  });

  it('takes property names that spell a keyword for names, not keywords', () => {
    const schema = { type: 'object', properties: { not: { type: 'string' }, if: { enum: ['a'] } }, uniqueItems: false };
    assert.equal(unenforcedKeyword(schema), undefined);
    assert.equal(unenforcedKeyword({ items: { uniqueItems: true } }), 'items.uniqueItems');
  });

  it('masks logits: disallowed rows and rows past the mask become -Infinity', () => {
    const logits = new Float32Array(70).fill(1);
    const mask = new Int32Array([0b101, -1]); // tokens 0, 2 and 32..63
    applyTokenMask(logits, mask);
    const finite = [...logits.keys()].filter((i) => logits[i] === 1);
    assert.deepEqual(finite, [0, 2, ...Array.from({ length: 32 }, (_, i) => 32 + i)]);
  });

  it('random sampling under a random small JSON schema always parses and validates', async () => {
    const ajv = new Ajv({ strict: false });
    const leaf = fc.oneof(
      fc.constant({ type: 'string' }),
      fc.constant({ type: 'integer' }),
      fc.constant({ type: 'boolean' }),
      fc.constant({ type: 'number' }),
      fc.constant({ enum: ['red', 'green', 7] }),
      fc.constant({ type: 'array', items: { type: 'integer' } }),
      fc.constant({ type: 'string', maxLength: 3 }),
    );
    const objectSchema = (value: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> =>
      fc
        .dictionary(fc.constantFrom('a', 'b', 'name', 'x y'), value, { minKeys: 1, maxKeys: 3 })
        .chain((properties) =>
          fc.subarray(Object.keys(properties)).map((required) => ({ type: 'object', properties, required })),
        );
    const schemaArb = objectSchema(fc.oneof(leaf, objectSchema(leaf)));
    await fc.assert(
      fc.asyncProperty(schemaArb, fc.integer({ min: 1, max: 2 ** 31 }), async (schema, seed) => {
        const m = await compiler.matcher({ kind: 'json', schema });
        const rng = new SeededRandom(seed);
        const ids: number[] = [];
        try {
          for (let step = 0; step < 400; step++) {
            const options = allowed(await m.mask(), tok.vocabSize);
            if (options.length === 1 && options[0] === EOS) break;
            // Half the time a token that closes something, or the text would wander for long.
            const closing = options.filter((id) => /["}\],]/.test(pieces[id] as string));
            const pool = closing.length > 0 && rng.next() < 0.5 ? closing : options;
            const id = pool[Math.floor(rng.next() * pool.length)] as number;
            if (id === EOS) break;
            assert.equal(m.accept(id), true);
            ids.push(id);
          }
        } finally {
          m.dispose();
        }
        const text = tok.decode(ids);
        const value: unknown = JSON.parse(text);
        assert.ok(ajv.validate(schema, value), `${text} against ${JSON.stringify(schema)}: ${ajv.errorsText()}`);
      }),
      { numRuns: FUZZ_RUNS, seed: 20261206 },
    );
  });
});
