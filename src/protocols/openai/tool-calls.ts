// Tool calls, from the definitions a client sends to the calls it gets back, in functions every
// OpenAI-shaped endpoint can share (chat completions here; the Responses API maps its function
// tools onto the same ones):
// - planToolUse: the checks across fields (tool_choice naming a defined function, names unique);
// - templateTools: the tools as a Hugging Face chat template takes them;
// - toolConstraint: the structural tag (xgrammar's format) that makes the model write valid calls
//   when it must call, and valid calls whenever it starts one under "auto";
// - splitToolCalls / ToolCallDeltas: the generated text as content plus OpenAI `tool_calls`,
//   whole or as streamed deltas, in the model's format (tool-call-format.ts).

import { randomBytes } from 'node:crypto';
import type { OutputConstraint } from '../../generation/engine-types.js';
import { hermesToolCalls } from './hermes-tool-calls.js';
import { invalidField } from './openai-error.js';
import type { ParsedToolCall, ToolCallEvent, ToolCallFormat, ToolCallStream } from './tool-call-format.js';

/** A function the model may call. */
export interface FunctionTool {
  readonly name: string;
  readonly description?: string;
  /** The JSON Schema of the arguments object. */
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly strict?: boolean;
}

/** OpenAI's tool_choice: never, the model's choice, at least one call, or a call of this function. */
export type ToolChoice = 'none' | 'auto' | 'required' | { readonly name: string };

/** The tools of one request, checked, with the model's format. */
export interface ToolUse {
  readonly tools: readonly FunctionTool[];
  readonly choice: ToolChoice;
  /** More than one call in one answer (OpenAI's parallel_tool_calls, true by default). */
  readonly parallel: boolean;
  readonly format: ToolCallFormat;
}

/** A call as OpenAI's chat API returns it. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

const FORMATS: ReadonlyMap<string, ToolCallFormat> = new Map([[hermesToolCalls.name, hermesToolCalls]]);

/** The format names a model config's `text_generation.tool_call_parser` may give. */
export const TOOL_CALL_FORMAT_NAMES: readonly string[] = [...FORMATS.keys()];

/** The model's format by its config name (the config schema admits only the names above). */
export function toolCallFormat(name: string): ToolCallFormat {
  const format = FORMATS.get(name);
  if (format === undefined) {
    throw invalidField(
      'tools',
      `This model's tool_call_parser '${name}' is unknown; the known formats are ${TOOL_CALL_FORMAT_NAMES.join(', ')}.`,
    );
  }
  return format;
}

/** Chat's `tools` ({type: "function", function: {...}}) as function definitions. */
export function chatFunctionTools(
  tools: readonly {
    readonly function: {
      readonly name: string;
      readonly description?: string | null | undefined;
      readonly parameters?: Record<string, unknown> | null | undefined;
      readonly strict?: boolean | null | undefined;
    };
  }[],
): FunctionTool[] {
  return tools.map(({ function: f }) => ({
    name: f.name,
    ...(f.description == null ? {} : { description: f.description }),
    ...(f.parameters == null ? {} : { parameters: f.parameters }),
    ...(f.strict == null ? {} : { strict: f.strict }),
  }));
}

/**
 * The request's tool use, or undefined when it has no tools. Names must be unique and a named
 * tool_choice must name one of them; tool_choice without tools may only be "none" (OpenAI's rule).
 */
export function planToolUse(
  tools: readonly FunctionTool[] | undefined,
  choice: ToolChoice | undefined,
  parallel: boolean | undefined,
  format: ToolCallFormat,
): ToolUse | undefined {
  if (tools === undefined || tools.length === 0) {
    if (choice !== undefined && choice !== 'none') {
      throw invalidField(
        'tool_choice',
        "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      );
    }
    return undefined;
  }
  const seen = new Set<string>();
  tools.forEach((tool, i) => {
    if (seen.has(tool.name)) {
      throw invalidField(
        `tools[${i}].function.name`,
        `Invalid value for 'tools[${i}].function.name': the function name '${tool.name}' is defined twice; names must be unique.`,
      );
    }
    seen.add(tool.name);
  });
  if (typeof choice === 'object' && !seen.has(choice.name)) {
    throw invalidField(
      'tool_choice',
      `Invalid value for 'tool_choice': no function named '${choice.name}' is in 'tools' (they are ${[...seen].map((n) => `'${n}'`).join(', ')}).`,
    );
  }
  return { tools, choice: choice ?? 'auto', parallel: parallel ?? true, format };
}

/** The tools as Hugging Face chat templates take them (transformers' `tools` argument). */
export function templateTools(tools: readonly FunctionTool[]): Record<string, unknown>[] {
  return tools.map((t) => ({
    type: 'function',
    function: {
      name: t.name,
      ...(t.description === undefined ? {} : { description: t.description }),
      parameters: argumentsSchema(t),
    },
  }));
}

/** The schema the arguments must meet: always a JSON object; no parameters means no arguments. */
function argumentsSchema(tool: FunctionTool): Record<string, unknown> {
  if (tool.parameters === undefined) return { type: 'object', properties: {}, additionalProperties: false };
  return tool.parameters['type'] === undefined ? { type: 'object', ...tool.parameters } : { ...tool.parameters };
}

/**
 * What the output must match (xgrammar's structural tag): with "required" or a named function,
 * only calls (one, or several with parallel calls); with "auto", free text in which every call
 * started is a valid call; with "none", nothing.
 */
export function toolConstraint(use: ToolUse): OutputConstraint | undefined {
  if (use.choice === 'none') return undefined;
  const named = use.choice;
  const callable = typeof named === 'object' ? use.tools.filter((t) => t.name === named.name) : use.tools;
  const tags = callable.map((tool) => {
    const markup = use.format.markup(tool.name);
    return {
      type: 'tag',
      begin: markup.begin,
      content: { type: 'json_schema', json_schema: argumentsSchema(tool) },
      end: markup.end,
    };
  });
  const format =
    use.choice === 'auto'
      ? {
          type: 'triggered_tags',
          triggers: [use.format.trigger],
          tags,
          at_least_one: false,
          stop_after_first: !use.parallel,
        }
      : {
          type: 'tags_with_separator',
          tags,
          separator: use.format.separator,
          at_least_one: true,
          stop_after_first: !use.parallel,
        };
  return { kind: 'structural_tag', tag: { type: 'structural_tag', format } };
}

/** A new call id, as OpenAI writes them. */
export function toolCallId(): string {
  return `call_${randomBytes(12).toString('hex')}`;
}

function chatToolCall(call: ParsedToolCall): ChatToolCall {
  return { id: toolCallId(), type: 'function', function: { name: call.name, arguments: call.arguments } };
}

/**
 * A whole generated text as the message's content and calls. Without tool use (or with "none")
 * the text is all content; with calls, content is null when no text is left outside them.
 */
export function splitToolCalls(
  use: ToolUse | undefined,
  text: string,
): { content: string | null; toolCalls: ChatToolCall[] } {
  if (use === undefined || use.choice === 'none') return { content: text, toolCalls: [] };
  const parsed = use.format.parse(text);
  const toolCalls = parsed.calls.map(chatToolCall);
  return { content: toolCalls.length > 0 && parsed.content === '' ? null : parsed.content, toolCalls };
}

/** One streamed delta of a chat message: content, or a piece of one call (OpenAI's chunk shape). */
export type ChatMessageDelta =
  | { content: string }
  | {
      tool_calls: [
        | { index: number; id: string; type: 'function'; function: { name: string; arguments: string } }
        | { index: number; function: { arguments: string } },
      ];
    };

/** Turns streamed text into chat deltas: content as it is final, each call's name and id, then its arguments in pieces. */
export class ToolCallDeltas {
  private readonly stream: ToolCallStream | undefined;
  private calls = 0;

  constructor(use: ToolUse | undefined) {
    this.stream = use === undefined || use.choice === 'none' ? undefined : use.format.stream();
  }

  /** How many calls were streamed so far. */
  get callCount(): number {
    return this.calls;
  }

  push(text: string): ChatMessageDelta[] {
    if (this.stream === undefined) return text === '' ? [] : [{ content: text }];
    return this.stream.push(text).map((e) => this.delta(e));
  }

  finish(): ChatMessageDelta[] {
    return this.stream === undefined ? [] : this.stream.finish().map((e) => this.delta(e));
  }

  private delta(event: ToolCallEvent): ChatMessageDelta {
    switch (event.type) {
      case 'content':
        return { content: event.text };
      case 'call':
        this.calls++;
        return {
          tool_calls: [
            { index: event.index, id: toolCallId(), type: 'function', function: { name: event.name, arguments: '' } },
          ],
        };
      case 'arguments':
        return { tool_calls: [{ index: event.index, function: { arguments: event.text } }] };
    }
  }
}
