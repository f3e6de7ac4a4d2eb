// Structured output at the OpenAI edge: OpenAI's `response_format` (json_object, json_schema) and
// the forms vLLM users send (`guided_json`, `guided_regex`, `guided_choice`, `guided_grammar`, and
// the newer `structured_outputs: {json, regex, choice, grammar}`), turned into the engine's one
// OutputConstraint. At most one may be given; the engine compiles it before the response starts,
// so a schema, regex or grammar it cannot enforce is a 400 naming the field.

import { z } from 'zod';
import { InferdError } from '../../errors/index.js';
import type { OutputConstraint, TextGenerationEngine } from '../../generation/engine-types.js';
import { invalidField } from './openai-error.js';

const SCHEMA_OBJECT = 'must be a JSON schema (an object)';
const jsonSchemaObject = z.record(z.string(), z.unknown(), { error: SCHEMA_OBJECT });
/** vLLM takes a schema as an object or as its JSON text. */
const jsonSchemaOrText = z.union([jsonSchemaObject, z.string()], { error: `${SCHEMA_OBJECT} or its JSON text` });
const regex = z.string({ error: 'must be a regular expression (a string)' }).min(1);
const choice = z
  .array(z.string().min(1), { error: 'must be a non-empty list of non-empty strings' })
  .min(1, { error: 'must be a non-empty list of non-empty strings' });
const grammar = z.string({ error: 'must be a grammar in EBNF (a string) with a root rule' }).min(1);

const responseFormat = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object(
        {
          name: z
            .string({ error: 'must be a string of letters, digits, _ and - (at most 64)' })
            .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be a string of letters, digits, _ and - (at most 64)' }),
          description: z.string({ error: 'must be a string' }).nullish(),
          schema: jsonSchemaObject.nullish(),
          strict: z.boolean({ error: 'must be a boolean' }).nullish(),
        },
        { error: 'must be an object with "name" and "schema"' },
      ),
    }),
  ],
  { error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}' },
);

/** The request fields that constrain output, for the chat and completions schemas. */
export const structuredOutputFields = {
  response_format: responseFormat.nullish(),
  guided_json: jsonSchemaOrText.nullish(),
  guided_regex: regex.nullish(),
  guided_choice: choice.nullish(),
  guided_grammar: grammar.nullish(),
  structured_outputs: z
    .object(
      {
        json: jsonSchemaOrText.nullish(),
        regex: regex.nullish(),
        choice: choice.nullish(),
        grammar: grammar.nullish(),
      },
      { error: 'must be an object with one of "json", "regex", "choice" or "grammar"' },
    )
    .nullish(),
};

type StructuredOutputFields = {
  readonly [K in keyof typeof structuredOutputFields]?: z.infer<(typeof structuredOutputFields)[K]>;
};

/** A constraint and the request field it came from (the `param` of its errors). */
export interface RequestedConstraint {
  readonly constraint: OutputConstraint;
  readonly param: string;
}

function schemaOf(value: Record<string, unknown> | string, param: string): Record<string, unknown> {
  if (typeof value !== 'string') return value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw invalidField(param, `Invalid value for '${param}': the schema is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw invalidField(param, `Invalid value for '${param}': ${SCHEMA_OBJECT}.`);
  return parsed as Record<string, unknown>;
}

/** The one constraint the request asks for, or undefined for free text; two at once are a 400. */
export function requestedConstraint(body: StructuredOutputFields): RequestedConstraint | undefined {
  const found: RequestedConstraint[] = [];
  const format = body.response_format;
  if (format?.type === 'json_object') found.push({ constraint: { kind: 'json' }, param: 'response_format' });
  if (format?.type === 'json_schema') {
    const schema = format.json_schema.schema;
    found.push({
      constraint: schema == null ? { kind: 'json' } : { kind: 'json', schema },
      param: 'response_format.json_schema.schema',
    });
  }
  const add = (
    param: string,
    value: { json?: unknown; regex?: string | null; choice?: string[] | null; grammar?: string | null },
  ): void => {
    if (value.json != null)
      found.push({
        constraint: { kind: 'json', schema: schemaOf(value.json as Record<string, unknown> | string, `${param}json`) },
        param: `${param}json`,
      });
    if (value.regex != null)
      found.push({ constraint: { kind: 'regex', pattern: value.regex }, param: `${param}regex` });
    if (value.choice != null)
      found.push({ constraint: { kind: 'choice', choices: value.choice }, param: `${param}choice` });
    if (value.grammar != null)
      found.push({ constraint: { kind: 'grammar', grammar: value.grammar }, param: `${param}grammar` });
  };
  add('guided_', {
    json: body.guided_json,
    regex: body.guided_regex ?? null,
    choice: body.guided_choice ?? null,
    grammar: body.guided_grammar ?? null,
  });
  if (body.structured_outputs != null) add('structured_outputs.', body.structured_outputs);
  if (found.length > 1) {
    const names = found.map((f) => `'${f.param}'`).join(' and ');
    throw invalidField(
      (found[1] as RequestedConstraint).param,
      `Only one way of constraining output may be given, but ${names} were both set.`,
    );
  }
  return found[0];
}

/** Compiles the constraint on the engine; a refusal is a 400 whose `param` is the field it came from. */
export async function prepareConstraint(
  engine: TextGenerationEngine,
  requested: RequestedConstraint | undefined,
): Promise<void> {
  if (requested === undefined) return;
  try {
    await engine.prepareConstraint(requested.constraint);
  } catch (err) {
    if (err instanceof InferdError && err.httpStatus === 400)
      throw invalidField(requested.param, `Invalid value for '${requested.param}': ${err.message}`);
    throw err;
  }
}
