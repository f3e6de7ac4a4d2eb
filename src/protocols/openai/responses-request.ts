// The body of POST /v1/responses (OpenAI's "Create a model response") as a zod schema. Every object
// is strict: a field this server does not know is a 400 naming it, as OpenAI answers
// "Unrecognized request argument supplied". Hosted tools (web search, file search, code
// interpreter, ...) are refused by name before the schema runs: only function tools run here.

import { z } from 'zod';
import { invalidField } from './openai-error.js';
import { parseBody, parseJsonObject, paramPath } from './parse-body.js';
import { previewValue } from '../../util/bounded-json.js';

const nullish = <T extends z.ZodType>(schema: T) => schema.nullish();

const textPart = z.strictObject(
  {
    type: z.enum(['input_text', 'output_text'], {
      error: 'must be "input_text" or "output_text": images, files and audio are not supported by this server',
    }),
    text: z.string({ error: 'must be a string' }),
    annotations: z.array(z.unknown()).optional(),
    logprobs: z.array(z.unknown()).optional(),
  },
  {
    error:
      'must be a text part ({"type": "input_text", "text": "..."}); images, files and audio are not supported by this server',
  },
);

const messageItem = z.strictObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'system', 'developer', 'assistant'], {
    error: 'must be one of "user", "system", "developer" or "assistant"',
  }),
  content: z.union([z.string(), z.array(textPart)], {
    error: 'must be a string or a list of text parts ({"type": "input_text", "text": "..."})',
  }),
  id: z.string().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

const functionCallItem = z.strictObject({
  type: z.literal('function_call'),
  call_id: z.string({ error: 'must be a string' }).min(1),
  name: z.string({ error: 'must be a string' }).min(1),
  arguments: z.string({ error: 'must be a string of JSON' }),
  id: z.string().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

const functionCallOutputItem = z.strictObject({
  type: z.literal('function_call_output'),
  call_id: z.string({ error: 'must be a string' }).min(1),
  output: z.union([z.string(), z.array(textPart)], { error: 'must be a string or a list of text parts' }),
  id: z.string().optional(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).optional(),
});

const ITEM_TYPES = ['message', 'function_call', 'function_call_output'] as const;

const inputItem = z.discriminatedUnion('type', [messageItem, functionCallItem, functionCallOutputItem], {
  error: `must be an input item of type ${ITEM_TYPES.map((t) => `"${t}"`).join(', ')} (a message may leave "type" out)`,
});

export type InputItemBody = z.infer<typeof inputItem>;

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const functionTool = z.strictObject({
  type: z.literal('function'),
  name: z.string().regex(FUNCTION_NAME, { error: 'must be 1 to 64 letters, digits, underscores or dashes' }),
  description: nullish(z.string({ error: 'must be a string' })),
  parameters: nullish(z.record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' })),
  strict: nullish(z.boolean({ error: 'must be a boolean' })),
});

const textFormat = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('text') }),
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({
      type: z.literal('json_schema'),
      name: z.string().regex(FUNCTION_NAME, { error: 'must be 1 to 64 letters, digits, underscores or dashes' }),
      schema: z.record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' }),
      description: z.string().optional(),
      strict: nullish(z.boolean({ error: 'must be a boolean' })),
    }),
  ],
  {
    error:
      'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "name": ..., "schema": {...}, "strict": true}',
  },
);

const toolChoice = z.union(
  [z.enum(['auto', 'none', 'required']), z.strictObject({ type: z.literal('function'), name: z.string().min(1) })],
  { error: 'must be "auto", "none", "required" or {"type": "function", "name": "..."}' },
);

export const responseCreateSchema = z.strictObject({
  model: z.string({ error: 'must be a string naming a model' }).min(1),
  input: z.union(
    [z.string().min(1, { error: 'must not be empty' }), z.array(inputItem).min(1, { error: 'must not be empty' })],
    {
      error: 'must be a non-empty string or a non-empty list of input items',
    },
  ),
  instructions: nullish(z.string({ error: 'must be a string' })),
  max_output_tokens: nullish(
    z.number({ error: 'must be an integer of at least 1' }).int().gte(1).lte(Number.MAX_SAFE_INTEGER),
  ),
  temperature: nullish(z.number({ error: 'must be a number between 0 and 2' }).gte(0).lte(2)),
  top_p: nullish(z.number({ error: 'must be a number greater than 0 and at most 1' }).gt(0).lte(1)),
  stream: nullish(z.boolean({ error: 'must be a boolean' })),
  store: nullish(z.boolean({ error: 'must be a boolean' })),
  previous_response_id: nullish(z.string({ error: 'must be a string' }).min(1)),
  // OpenAI's bound: at most 16 pairs, keys up to 64 characters, values up to 512.
  metadata: nullish(
    z
      .record(z.string().max(64), z.string().max(512), {
        error: 'must map strings of up to 64 characters to strings of up to 512',
      })
      .refine((m) => Object.keys(m).length <= 16, { error: 'must have at most 16 keys' }),
  ),
  text: nullish(z.strictObject({ format: textFormat.optional() })),
  tools: nullish(z.array(functionTool, { error: 'must be a list of function tools' })),
  tool_choice: nullish(toolChoice),
  parallel_tool_calls: nullish(z.boolean({ error: 'must be a boolean' })),
  truncation: nullish(z.enum(['auto', 'disabled'], { error: 'must be "auto" or "disabled"' })),
  user: nullish(z.string({ error: 'must be a string' })),
  // Accepted as OpenAI's defaults only: they change nothing here.
  background: nullish(z.literal(false, { error: 'must be false: responses run while the request waits here' })),
  service_tier: nullish(z.enum(['auto', 'default'], { error: 'must be "auto" or "default"' })),
  include: nullish(z.array(z.never(), { error: 'must be empty: no extra output data is available here' })),
  prompt_cache_key: nullish(z.string({ error: 'must be a string' })),
  safety_identifier: nullish(z.string({ error: 'must be a string' })),
});

export type ResponseCreateBody = z.infer<typeof responseCreateSchema>;

/** OpenAI's hosted tool types: each is refused by name. */
function isFunctionTool(tool: unknown): boolean {
  return typeof tool === 'object' && tool !== null && (tool as { type?: unknown }).type === 'function';
}

function hostedToolName(tool: unknown): string {
  const type = typeof tool === 'object' && tool !== null ? (tool as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type : JSON.stringify(type ?? null);
}

function refuseHostedTools(json: Record<string, unknown>): void {
  const tools = json['tools'];
  if (Array.isArray(tools)) {
    tools.forEach((tool, i) => {
      if (!isFunctionTool(tool)) {
        throw invalidField(
          `tools[${i}]`,
          `The tool type '${hostedToolName(tool)}' is not supported: this server runs only function tools ({"type": "function", "name": ..., "parameters": {...}}); hosted tools such as web_search, file_search, code_interpreter, computer_use, image_generation and mcp are not available.`,
          'unsupported_value',
        );
      }
    });
  }
  const choice = json['tool_choice'];
  if (typeof choice === 'object' && choice !== null && !Array.isArray(choice) && !isFunctionTool(choice)) {
    throw invalidField(
      'tool_choice',
      `The tool choice '${hostedToolName(choice)}' is not supported: this server runs only function tools; use "auto", "none", "required" or {"type": "function", "name": "..."}.`,
      'unsupported_value',
    );
  }
}

/** OpenAI fields whose feature this server does not have, each refused with the reason. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  conversation: 'conversations are not stored here; chain responses with previous_response_id',
  prompt: 'stored prompt templates are not available here; send input and instructions',
  reasoning: 'the models served here have no reasoning settings',
  max_tool_calls: 'tool calls are bounded by tool_choice and parallel_tool_calls here',
  top_logprobs: 'log probabilities are available from /v1/chat/completions and /v1/completions',
  stream_options: 'the stream has no options here',
  context_management: 'context is managed with truncation here',
  prompt_cache_retention: 'the prefix cache is automatic and in memory here',
  moderation: 'no moderation runs here',
};

type Issue = z.core.$ZodIssue;

/**
 * The issue to report: inside a union (`input` is a string or a list of items), the one of the
 * branch that got furthest into the value, so a bad role names `input[0].role`, not `input`.
 */
function deepest(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first === undefined) continue;
    const inner = deepest(first);
    if (best === undefined || inner.path.length > best.path.length) best = inner;
  }
  if (best === undefined || best.path.length === 0) return issue;
  return { ...best, path: [...issue.path, ...best.path] };
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The checked body, or a 400 naming the first field that is unknown, unsupported or out of range. */
export function parseResponseCreate(rawBody: unknown): ResponseCreateBody {
  const json = parseJsonObject(rawBody);
  refuseHostedTools(json);
  for (const [field, why] of Object.entries(UNSUPPORTED)) {
    if (json[field] !== undefined && json[field] !== null) {
      throw invalidField(
        field,
        `The parameter '${field}' is not supported by this server: ${why}.`,
        'unsupported_parameter',
      );
    }
  }
  const result = responseCreateSchema.safeParse(json);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const issue = first === undefined ? undefined : deepest(first);
  if (issue === undefined || issue === first) {
    if (issue?.code === 'unrecognized_keys') {
      const param = paramPath([...issue.path, issue.keys[0] ?? '']);
      throw invalidField(param, `Unrecognized request argument supplied: ${param}`, 'unknown_parameter');
    }
    return parseBody(responseCreateSchema, json);
  }
  if (issue.code === 'unrecognized_keys') {
    const param = paramPath([...issue.path, issue.keys[0] ?? '']);
    throw invalidField(param, `Unrecognized request argument supplied: ${param}`, 'unknown_parameter');
  }
  const param = paramPath(issue.path);
  const value = valueAt(json, issue.path);
  if (value === undefined) {
    throw invalidField(param, `Missing required parameter: '${param}'.`, 'missing_required_parameter');
  }
  throw invalidField(
    param,
    `Invalid value for '${param}': ${issue.message} (got ${previewValue(value, 80)}).`,
    'invalid_value',
  );
}

/** The query of GET /v1/responses/{id}/input_items: OpenAI's cursor pagination. */
export const inputItemsQuerySchema = z.strictObject({
  limit: z.coerce
    .number({ error: 'must be an integer between 1 and 100' })
    .int({ error: 'must be an integer between 1 and 100' })
    .gte(1, { error: 'must be an integer between 1 and 100' })
    .lte(100, { error: 'must be an integer between 1 and 100' })
    .optional(),
  order: z.enum(['asc', 'desc'], { error: 'must be "asc" or "desc"' }).optional(),
  after: z.string().min(1).optional(),
  include: z.union([z.string(), z.array(z.string())]).optional(),
});

export type InputItemsQuery = z.infer<typeof inputItemsQuerySchema>;

export function parseInputItemsQuery(query: unknown): InputItemsQuery {
  const result = inputItemsQuerySchema.safeParse(query ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue?.code === 'unrecognized_keys') {
    const param = issue.keys[0] ?? '';
    throw invalidField(param, `Unrecognized query parameter supplied: ${param}`, 'unknown_parameter');
  }
  const param = paramPath(issue?.path ?? []);
  throw invalidField(param, `Invalid value for '${param}': ${issue?.message ?? 'invalid'}.`, 'invalid_value');
}
