// Fuzzing of the other parsers of client and operator input: OpenAI request bodies, multipart
// uploads, batch input files and model config files. Valid input parses; mutated and arbitrary
// input gives a value or a 4xx InferdError (config files: issues, never an exception).

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify as toYaml } from 'yaml';
import { scanInputFile } from '../../src/batch-api/batch-input.js';
import { multipartBoundary, parseMultipart } from '../../src/batch-api/multipart.js';
import { readModelConfig } from '../../src/config/model-config-file.js';
import { modelConfigSchema } from '../../src/config/model-config-schema.js';
import { parseBody } from '../../src/protocols/openai/parse-body.js';
import {
  chatCompletionSchema,
  completionSchema,
  detokenizeSchema,
  embeddingSchema,
  tokenizeSchema,
} from '../../src/protocols/openai/request-schemas.js';
import {
  CaseCounter,
  FUZZ_RUNS,
  hostileJson,
  mutatedBytes,
  mutatedJson,
  params,
  valueOr4xx,
  valueOr4xxAsync,
} from './fuzz-support.js';

const counter = new CaseCounter();
/** Cases of the properties that write a file per case: a tenth of the others. */
const FILE_RUNS = Math.max(20, Math.ceil(FUZZ_RUNS / 10));

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'inferd-fuzz-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// OpenAI bodies

const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant'), content: text });
const tokens = fc.array(fc.nat(300), { minLength: 1, maxLength: 8 });
const sampling = fc.record(
  {
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0.01, max: 1, noNaN: true }),
    max_tokens: fc.integer({ min: 1, max: 64 }),
    seed: fc.integer({ min: 0, max: 1000 }),
    stream: fc.boolean(),
    stop: fc.oneof(text, fc.array(text, { maxLength: 3 })),
  },
  { requiredKeys: [] },
);

const bodies = {
  chat: {
    schema: chatCompletionSchema,
    valid: fc
      .tuple(sampling, fc.array(message, { minLength: 1, maxLength: 3 }))
      .map(([s, messages]) => ({ model: 'kjv-tiny', ...s, messages })),
  },
  completion: {
    schema: completionSchema,
    valid: fc
      .tuple(sampling, fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }), tokens))
      .map(([s, prompt]) => ({ model: 'kjv-tiny', ...s, prompt })),
  },
  embedding: {
    schema: embeddingSchema,
    valid: fc.oneof(text, tokens).map((input) => ({ model: 'kjv-embed', input })),
  },
  tokenize: { schema: tokenizeSchema, valid: text.map((prompt) => ({ model: 'kjv-tiny', prompt })) },
  detokenize: { schema: detokenizeSchema, valid: tokens.map((t) => ({ model: 'kjv-tiny', tokens: t })) },
} as const;

/**
 * Cases per OpenAI schema under the large budget. Run after the chat property, the completion
 * property's 7,108th case exhausts the heap while fast-check generates it, before any inferd code
 * runs (the 7,107th, replayed alone through parseBody, takes 0.2 ms and no memory): a generator
 * problem of this suite, to be found; until then the large budget stops at 4,000 per schema.
 */
const OPENAI_RUNS_CAP = 4000;

describe('OpenAI request bodies', () => {
  for (const [name, { schema, valid }] of Object.entries(bodies)) {
    it(`${name}: parses every valid body and answers mutated ones with a value or a 4xx`, () => {
      const mutatedText = mutatedBytes(valid.map((b) => Buffer.from(JSON.stringify(b))));
      fc.assert(
        fc.property(valid, fc.oneof(mutatedJson(valid), hostileJson), mutatedText, (body, mutated, bytes) => {
          counter.add(`openai ${name}`);
          const parsed = valueOr4xx(() => parseBody(schema, Buffer.from(JSON.stringify(body))));
          assert.ok('value' in parsed, `a valid ${name} body parses`);
          valueOr4xx(() => parseBody(schema, JSON.stringify(mutated) ?? ''));
          valueOr4xx(() => parseBody(schema, mutated));
          valueOr4xx(() => parseBody(schema, bytes));
        }),
        params(Math.min(FUZZ_RUNS, OPENAI_RUNS_CAP)),
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Multipart uploads

const LIMITS = { maxParts: 8, maxHeaderBytes: 16 * 1024 };

const boundary = fc.stringMatching(/^[A-Za-z0-9'()+_,.\-/:=? ]{0,69}[A-Za-z0-9]$/);
const upload = fc
  .record({
    boundary,
    purpose: fc.constantFrom('batch', 'fine-tune', ''),
    filename: fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/["\r\n\\]/g, '_')),
    data: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ boundary: b, purpose, filename, data }) => ({
    boundary: b,
    body: Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n`),
      Buffer.from(
        `--${b}\r\nContent-Disposition: form-data; name="file"; filename="${filename}.jsonl"\r\n` +
          'Content-Type: application/jsonl\r\n\r\n',
      ),
      data,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]),
    data,
  }));

describe('multipart uploads', () => {
  it('parses every valid upload exactly', () => {
    fc.assert(
      fc.property(upload, ({ boundary: b, body, data }) => {
        counter.add('multipart valid');
        assert.equal(multipartBoundary(`multipart/form-data; boundary="${b}"`), b);
        const parts = parseMultipart(body, b, LIMITS);
        assert.deepEqual(
          parts.map((p) => p.name),
          ['purpose', 'file'],
        );
        assert.deepEqual(new Uint8Array(parts[1]?.data ?? []), data);
      }),
      params(),
    );
  });

  it('answers mutated uploads and Content-Types with a value or a 4xx', () => {
    const contentType = fc.oneof(
      boundary.map((b) => `multipart/form-data; boundary=${b}`),
      fc.string({ maxLength: 100 }),
      fc.constantFrom('multipart/form-data', 'multipart/form-data; boundary=""', 'text/plain; boundary=x'),
    );
    fc.assert(
      fc.property(
        upload,
        mutatedBytes(upload.map((u) => u.body)),
        fc.option(contentType, { nil: undefined }),
        (u, body, ct) => {
          counter.add('multipart mutated');
          valueOr4xx(() => multipartBoundary(ct));
          valueOr4xx(() => parseMultipart(body, u.boundary, LIMITS));
        },
      ),
      params(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Batch input files

const batchLine = fc
  .record({
    custom_id: fc.string({ minLength: 1, maxLength: 8 }),
    method: fc.constant('POST'),
    url: fc.constantFrom('/v1/chat/completions'),
    body: fc.constant({ model: 'kjv-tiny', messages: [{ role: 'user', content: 'hi' }] }),
  })
  .map((line) => line as unknown);

describe('batch input files', () => {
  it('counts each valid line and reports mutated ones as line errors, never throwing', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(batchLine, mutatedJson(batchLine)), { maxLength: 6 }),
        mutatedBytes(
          fc.array(batchLine, { maxLength: 3 }).map((ls) => Buffer.from(ls.map((l) => JSON.stringify(l)).join('\n'))),
        ),
        async (lines, bytes) => {
          counter.add('batch input');
          const file = path.join(dir, `batch-${n++}.jsonl`);
          await writeFile(file, lines.map((l) => JSON.stringify(l) ?? '').join('\n'));
          const outcome = await valueOr4xxAsync(() =>
            scanInputFile(file, '/v1/chat/completions', { maxLineBytes: 4096 }),
          );
          assert.ok('value' in outcome, 'a scan reports problems as line errors');
          const { lines: ok, errors } = outcome.value;
          assert.ok(ok.length + errors.filter((e) => e.line !== null).length <= lines.length);
          assert.ok(ok.length > 0 || errors.length > 0, 'an input without requests is reported');
          await writeFile(file, bytes);
          await valueOr4xxAsync(() => scanInputFile(file, '/v1/chat/completions', { maxLineBytes: 64 }));
          await rm(file);
        },
      ),
      params(FILE_RUNS),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Model config files

const validConfig = fc.record(
  {
    max_batch_size: fc.nat(64),
    input: fc.constant([{ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] }]),
    output: fc.constant([{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [-1] }]),
    dynamic_batching: fc.constant({ max_queue_delay_microseconds: 100 }),
  },
  { requiredKeys: [] },
);

describe('model config files', () => {
  it('the schema accepts valid configs and gives issues, never an exception, for any other', () => {
    fc.assert(
      fc.property(validConfig, fc.oneof(mutatedJson(validConfig), hostileJson), (valid, other) => {
        counter.add('model config schema');
        assert.ok(modelConfigSchema.safeParse(valid).success);
        const result = modelConfigSchema.safeParse(other);
        if (!result.success) assert.ok(result.error.issues.length > 0);
      }),
      params(),
    );
  });

  it('reading a YAML or JSON file gives a config or issues, never an exception', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutatedJson(validConfig), hostileJson),
        fc.boolean(),
        mutatedBytes(validConfig.map((c) => Buffer.from(toYaml(c)))),
        async (config, json, bytes) => {
          counter.add('model config file');
          const folder = path.join(dir, `model-${n++}`);
          const fileName = json ? 'config.json' : 'config.yaml';
          await mkdir(folder);
          for (const content of [
            json || config === undefined ? (JSON.stringify(config) ?? '') : toYaml(config),
            bytes,
          ]) {
            await writeFile(path.join(folder, fileName), content);
            const loaded = await readModelConfig({ name: 'm', dir: folder, configFiles: [fileName] });
            if (!loaded.ok) assert.ok(loaded.issues.length > 0 && loaded.issues.every((i) => i.reason !== ''));
          }
          await rm(folder, { recursive: true });
        },
      ),
      params(FILE_RUNS),
    );
  });
});

it('reports the cases run', (t) => {
  assert.ok(counter.total > 0);
  counter.report(t, 'api-bodies');
});
