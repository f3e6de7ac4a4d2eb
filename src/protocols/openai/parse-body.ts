// Reads an OpenAI request body: the bytes as JSON, then the endpoint's zod schema. The first issue
// becomes a 400 invalid_request_error whose `param` is the field's path (e.g. `messages[0].role`)
// and whose message names the field, says what it accepts and echoes what was sent.

import type { z } from 'zod';
import { invalidField } from './openai-error.js';
import { MAX_JSON_DEPTH, jsonTextDepthExceeds, previewValue } from '../../util/bounded-json.js';

/** `['messages', 0, 'role']` → `messages[0].role`, OpenAI's way of naming a nested field. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describe(value: unknown): string {
  return previewValue(value, 80);
}

/** The body's JSON, or a 400 when it is not a JSON object. */
export function parseJsonObject(body: unknown): Record<string, unknown> {
  let value: unknown = body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') throw invalidField(null, 'We could not parse the JSON body of your request: it is empty.');
    if (jsonTextDepthExceeds(text))
      throw invalidField(
        null,
        `The JSON body of your request nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the most accepted.`,
      );
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw invalidField(
        null,
        `We could not parse the JSON body of your request: ${(err as Error).message}. The body must be a JSON object.`,
      );
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidField(null, 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/** The body checked against `schema`, or a 400 naming the first offending field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const json = parseJsonObject(body);
  const result = schema.safeParse(json, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw invalidField(null, 'Invalid request body.');
  const param = paramPath(issue.path);
  // JSON has no undefined: an issue whose input is undefined is a field left out.
  if (issue.input === undefined) {
    throw invalidField(param, `Missing required parameter: '${param}'.`, 'missing_required_parameter');
  }
  const got = 'input' in issue ? ` (got ${describe(issue.input)})` : '';
  throw invalidField(param, `Invalid value for '${param}': ${issue.message}${got}.`, 'invalid_value');
}
