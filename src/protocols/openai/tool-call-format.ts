// How a model writes tool calls in its text. Each format (Hermes' `<tool_call>` JSON today; Llama
// 3's or Mistral's `[TOOL_CALLS]` could be added beside it) says three things: how to split a
// whole generated text into content and calls, how to do the same piece by piece while streaming,
// and which markup a call is written in, so that a structural-tag constraint can make the model
// write valid calls. A model picks its format by name (config.yaml `text_generation.tool_call_parser`);
// tool-calls.ts holds the formats by name.

/** One call as the model wrote it: the function's name and its arguments as JSON text. */
export interface ParsedToolCall {
  readonly name: string;
  readonly arguments: string;
}

/** A generated text split into what the user reads and the calls. */
export interface ParsedToolOutput {
  /** The text outside the calls ('' when there is none). */
  readonly content: string;
  readonly calls: readonly ParsedToolCall[];
}

/**
 * What a streamed piece of text turned out to be: content to show, the start of a call (its
 * name known), or a further piece of a call's arguments. Concatenated, a call's `arguments`
 * pieces are its whole arguments text, as `parse` gives it.
 */
export type ToolCallEvent =
  | { readonly type: 'content'; readonly text: string }
  | { readonly type: 'call'; readonly index: number; readonly name: string }
  | { readonly type: 'arguments'; readonly index: number; readonly text: string };

/** Splits text fed piece by piece; markup that might still become a call is held back. */
export interface ToolCallStream {
  push(text: string): ToolCallEvent[];
  /** The end of the text: releases what was held back. */
  finish(): ToolCallEvent[];
}

/** The markup around one call of a named function, as a structural tag sees it. */
export interface CallMarkup {
  /** Text that opens the call, up to where the arguments' JSON object starts. */
  readonly begin: string;
  /** Text that closes the call after the arguments' JSON object. */
  readonly end: string;
}

export interface ToolCallFormat {
  readonly name: string;
  parse(text: string): ParsedToolOutput;
  stream(): ToolCallStream;
  markup(functionName: string): CallMarkup;
  /** The text every call starts with: free text runs until it appears. */
  readonly trigger: string;
  /** What goes between two calls made at once. */
  readonly separator: string;
}
