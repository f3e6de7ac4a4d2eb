// The tool fields of a chat request as the OpenAI API reference defines them: function tools
// (`{"type": "function", "function": {name, description, parameters, strict}}`), `tool_choice`,
// and the messages of a tool-call round trip (an assistant message carrying `tool_calls`, its
// content then optional; a `tool` message answering one call by `tool_call_id`).

import { z } from 'zod';

/** OpenAI's rule for function names. */
export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const text = (what: string) => z.string({ error: `must be ${what}` });

/** The arguments of a call are one JSON object, so a schema that says otherwise cannot be met. */
const parameters = z
  .record(z.string(), z.unknown(), { error: 'must be a JSON Schema object, such as {"type": "object", ...}' })
  .superRefine((schema, ctx) => {
    const type = schema['type'];
    if (type !== undefined && type !== 'object') {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        input: type,
        message: 'must be "object": a function takes its arguments as one JSON object',
      });
    }
  });

export const toolDefinition = z.object(
  {
    type: z.literal('function', {
      error: 'must be "function": only function tools are supported here (not hosted or custom tools)',
    }),
    function: z.object(
      {
        name: text('a string').regex(FUNCTION_NAME, {
          error: 'must be 1 to 64 characters, each a letter, digit, underscore or dash',
        }),
        description: text('a string').nullish(),
        parameters: parameters.nullish(),
        strict: z.boolean({ error: 'must be a boolean' }).nullish(),
      },
      { error: 'must be an object with "name", and optionally "description", "parameters" and "strict"' },
    ),
  },
  { error: 'must be an object such as {"type": "function", "function": {"name": "..."}}' },
);

export const toolChoice = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
  ],
  { error: 'must be "none", "auto", "required" or {"type": "function", "function": {"name": "..."}}' },
);

/** A call the assistant made earlier in the conversation, as the client sends it back. */
export const messageToolCall = z.object(
  {
    id: text('a string'),
    type: z.literal('function', { error: 'must be "function"' }),
    function: z.object(
      { name: text('a string'), arguments: text('a string of JSON') },
      { error: 'must be an object with "name" and "arguments"' },
    ),
  },
  { error: 'must be an object with "id", "type" and "function"' },
);

interface MessageFields {
  readonly role: string;
  readonly content?: unknown;
  readonly tool_calls?: readonly unknown[] | null | undefined;
  readonly tool_call_id?: string | null | undefined;
}

/** What depends on a message's role: content, `tool_calls` only from the assistant, `tool_call_id` on tool messages. */
export function checkMessageFields(m: MessageFields, ctx: z.RefinementCtx): void {
  const calls = m.tool_calls?.length ?? 0;
  if (m.content == null && !(m.role === 'assistant' && calls > 0)) {
    ctx.addIssue({
      code: 'custom',
      path: ['content'],
      input: m.content,
      message:
        m.role === 'assistant'
          ? 'must be given unless the assistant message has tool_calls'
          : 'must be a string or a list of text parts',
    });
  }
  if (m.tool_calls != null && m.role !== 'assistant') {
    ctx.addIssue({
      code: 'custom',
      path: ['tool_calls'],
      input: m.tool_calls,
      message: `is only allowed in assistant messages, not in a "${m.role}" message`,
    });
  }
  if (m.role === 'tool' && m.tool_call_id == null) {
    ctx.addIssue({
      code: 'custom',
      path: ['tool_call_id'],
      input: m.tool_call_id,
      message: 'must name the call this tool message answers',
    });
  }
}
