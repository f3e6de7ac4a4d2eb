// The engine under an OutputConstraint, on kjv-tiny: the grammar decides the text and where it
// ends (stop strings, stop_token_ids, min_tokens and ignore_eos cannot push it out), max_tokens
// ends it with 'length', a constraint that cannot compile fails only its own sequence with a 400,
// and unconstrained sequences beside it decode as before.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { InferdError } from '../../src/errors/index.js';
import type { GenerationRequest, OutputConstraint, SamplingParams } from '../../src/generation/engine-types.js';
import type { GenerationEngine } from '../../src/generation/generation-engine.js';
import { loadTextGenerationEngine } from '../../src/generation/load-engine.js';
import { samplingParams } from './test-sampling.js';

const DIR = path.resolve('examples/models/kjv-tiny/1');
const EOS = 1;

function req(prompt: readonly number[], constraint: OutputConstraint | undefined, s: Partial<SamplingParams> = {}) {
  const sampling = samplingParams({ maxTokens: 120, ...s, ...(constraint === undefined ? {} : { constraint }) });
  const r: GenerationRequest = { requestId: 't', promptTokenIds: prompt, sampling, arrivalNs: process.hrtime.bigint() };
  return r;
}

async function run(engine: GenerationEngine, r: GenerationRequest) {
  const stream = engine.generate(r);
  let text = '';
  const ids: number[] = [];
  for await (const c of stream) {
    text += c.text;
    ids.push(...c.tokenIds);
  }
  return { text, ids, result: await stream.result };
}

describe('constrained decoding in the engine (kjv-tiny)', () => {
  let engine: GenerationEngine;
  let prompt: number[];

  before(async () => {
    engine = await loadTextGenerationEngine({
      modelName: 'kjv-tiny',
      dir: DIR,
      config: undefined,
      session: {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      },
      inline: true,
    });
    prompt = engine.tokenizer.encode('<|user|>\nWho begat Enos?\n<|assistant|>\n');
  });
  after(() => engine.close());

  it('greedy output under a JSON schema parses, validates and ends with stop, without an EOS token', async () => {
    const schema = {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 12 },
        age: { type: 'integer', minimum: 0, maximum: 999 },
        ok: { type: 'boolean' },
      },
      required: ['name', 'age', 'ok'],
    };
    const { text, ids, result } = await run(engine, req(prompt, { kind: 'json', schema }));
    const value: unknown = JSON.parse(text);
    assert.ok(new Ajv().validate(schema, value), text);
    assert.equal(result.finishReason, 'stop');
    assert.equal(ids.includes(EOS), false);
    assert.equal(result.completionTokens, ids.length);
  });

  it('a json constraint without schema gives an object', async () => {
    const { text, result } = await run(engine, req(prompt, { kind: 'json' }, { temperature: 1, seed: 7 }));
    if (result.finishReason === 'stop') {
      const value: unknown = JSON.parse(text);
      assert.equal(typeof value, 'object');
      assert.equal(Array.isArray(value), false);
    } else assert.match(text, /^\{/);
  });

  it('stop strings, stop_token_ids, min_tokens and ignore_eos do not let output leave the grammar', async () => {
    const choices = ['Seth begat Enos', 'Adam', 'Cain and Abel'];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const stopId = engine.tokenizer.encode(' Enos', { addSpecialTokens: false })[0] as number;
      const { text, result } = await run(
        engine,
        req(
          prompt,
          { kind: 'choice', choices },
          {
            temperature: 1.5,
            seed,
            stop: ['e', 'A'],
            stopTokenIds: [stopId],
            minTokens: 30,
            ignoreEos: true,
            logitBias: new Map([[EOS, 100]]),
          },
        ),
      );
      assert.ok(choices.includes(text), JSON.stringify(text));
      assert.equal(result.finishReason, 'stop');
    }
  });

  it('a regex constraint is matched whole', async () => {
    const { text, result } = await run(
      engine,
      req(prompt, { kind: 'regex', pattern: '[A-Z][a-z]{2,6} (begat|knew) [A-Z][a-z]{2,6}\\.' }),
    );
    assert.match(text, /^[A-Z][a-z]{2,6} (begat|knew) [A-Z][a-z]{2,6}\.$/);
    assert.equal(result.finishReason, 'stop');
  });

  it('max_tokens ends a constrained sequence with length, its text a prefix the grammar allows', async () => {
    const { text, result } = await run(
      engine,
      req(
        prompt,
        { kind: 'json', schema: { type: 'object', properties: { verse: { type: 'string' } }, required: ['verse'] } },
        { maxTokens: 4 },
      ),
    );
    assert.equal(result.finishReason, 'length');
    assert.equal(result.completionTokens, 4);
    assert.ok(text.startsWith('{"verse": "') || '{"verse": "'.startsWith(text), text);
  });

  it('a constraint that cannot compile fails its own sequence with a 400, and the engine serves on', async () => {
    await assert.rejects(engine.prepareConstraint({ kind: 'grammar', grammar: 'root ::= missing' }), (err: unknown) => {
      assert.ok(err instanceof InferdError && err.httpStatus === 400 && /"missing" is not defined/.test(err.message));
      return true;
    });
    const bad = engine.generate(req(prompt, { kind: 'grammar', grammar: 'root ::= "a" |' }));
    const free = run(engine, req(prompt, undefined, { maxTokens: 8 }));
    await assert.rejects(bad.result, (err: unknown) => err instanceof InferdError && err.httpStatus === 400);
    assert.equal((await free).result.completionTokens, 8);
    const again = await run(engine, req(prompt, { kind: 'choice', choices: ['Amen'] }));
    assert.equal(again.text, 'Amen');
  });

  it('unconstrained greedy tokens are the same with a constrained sequence in the batch', async () => {
    const alone = await run(engine, req(prompt, undefined, { maxTokens: 24 }));
    const [beside] = await Promise.all([
      run(engine, req(prompt, undefined, { maxTokens: 24 })),
      run(engine, req(prompt, { kind: 'json' }, { maxTokens: 24 })),
    ]);
    assert.deepEqual(beside.ids, alone.ids);
  });
});
