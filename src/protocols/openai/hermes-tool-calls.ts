// The Hermes tool-call format (NousResearch's Hermes 2 Pro, Qwen 2.5 and 3, and the bundled
// kjv-tiny): each call is `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>`, calls made
// at once are separated by a newline, and text outside the calls is the message's content.
//
// Both readings below give the same result however the text is split: the content is the text
// outside the calls with the whitespace next to a call dropped, and a call's arguments are the
// JSON text after `"arguments":` up to the object's closing brace (the wrapper's `}` and the
// whitespace around it removed). A block that is not a call (no name, not JSON) stays content.

import type {
  CallMarkup,
  ParsedToolCall,
  ParsedToolOutput,
  ToolCallEvent,
  ToolCallFormat,
  ToolCallStream,
} from './tool-call-format.js';

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

/** `{"name": "<name>", "arguments": ` followed by the first character of the arguments. */
const NAME_PREFIX = /^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*(?=\S)/;

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

function endBeforeSpace(text: string, end: number): number {
  let e = end;
  while (e > 0 && isSpace(text[e - 1])) e--;
  return e;
}

/** The arguments text of a call's body after the name: the wrapper's closing brace and the whitespace around it removed. */
function argumentsText(rest: string): string {
  let e = endBeforeSpace(rest, rest.length);
  if (rest[e - 1] === '}') e = endBeforeSpace(rest, e - 1);
  return rest.slice(0, e);
}

/** How much of a call's arguments so far cannot change: up to the last brace that may be the wrapper's, or markup that may close the call. */
function settledArgumentsEnd(rest: string): number {
  let e = rest.length;
  for (let k = Math.min(CLOSE.length - 1, e); k > 0; k--) {
    if (rest.endsWith(CLOSE.slice(0, k))) {
      e -= k;
      break;
    }
  }
  e = endBeforeSpace(rest, e);
  if (rest[e - 1] === '}') e = endBeforeSpace(rest, e - 1);
  return e;
}

function decodeName(raw: string): string | undefined {
  try {
    const name: unknown = JSON.parse(`"${raw}"`);
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The call written in a block's body, read as JSON when it does not start with the name. */
function callOfBody(body: string): ParsedToolCall | undefined {
  const prefix = NAME_PREFIX.exec(body);
  if (prefix?.[1] !== undefined) {
    const name = decodeName(prefix[1]);
    if (name !== undefined) return { name, arguments: argumentsText(body.slice(prefix[0].length)) };
  }
  return wholeJsonCall(body);
}

function wholeJsonCall(body: string): ParsedToolCall | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { name, arguments: args } = value as { name?: unknown; arguments?: unknown };
  if (typeof name !== 'string') return undefined;
  return { name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
}

/** The longest end of `text` that could be the start of `marker`. */
function heldMarkerStart(text: string, marker: string): number {
  for (let k = Math.min(marker.length - 1, text.length); k > 0; k--) {
    if (text.endsWith(marker.slice(0, k))) return k;
  }
  return 0;
}

function trimStartSpace(text: string): string {
  let s = 0;
  while (s < text.length && isSpace(text[s])) s++;
  return text.slice(s);
}

function parse(text: string): ParsedToolOutput {
  const calls: ParsedToolCall[] = [];
  let content = '';
  let pos = 0;
  let afterCall = false;
  const addContent = (segment: string, beforeCall: boolean): void => {
    let s = afterCall ? trimStartSpace(segment) : segment;
    if (beforeCall) s = s.slice(0, endBeforeSpace(s, s.length));
    content += s;
  };
  for (;;) {
    const open = text.indexOf(OPEN, pos);
    if (open < 0) {
      addContent(text.slice(pos), false);
      break;
    }
    const close = text.indexOf(CLOSE, open + OPEN.length);
    const blockEnd = close < 0 ? text.length : close + CLOSE.length;
    const call = callOfBody(text.slice(open + OPEN.length, close < 0 ? text.length : close));
    if (call === undefined) {
      addContent(text.slice(pos, blockEnd), false);
      afterCall = false;
    } else {
      addContent(text.slice(pos, open), true);
      calls.push(call);
      afterCall = true;
    }
    if (close < 0) break;
    pos = blockEnd;
  }
  return { content, calls };
}

class HermesStream implements ToolCallStream {
  private inCall = false;
  /** Text mode: the end that may still open a call. Call mode: the block's body so far. */
  private buffer = '';
  /** Whitespace after content, shown only if more content follows. */
  private pendingSpace = '';
  /** Whitespace before the block being read, shown if the block is not a call. */
  private spaceBeforeBlock = '';
  private afterCall = false;
  private calls = 0;
  /** In a call whose name is known: where its arguments start in the body, and how much was sent. */
  private argumentsStart: number | undefined;
  private argumentsSent = 0;

  push(text: string): ToolCallEvent[] {
    const events: ToolCallEvent[] = [];
    this.buffer += text;
    for (;;) {
      if (!this.inCall) {
        const open = this.buffer.indexOf(OPEN);
        if (open < 0) {
          const held = heldMarkerStart(this.buffer, OPEN);
          this.content(this.buffer.slice(0, this.buffer.length - held), events);
          this.buffer = this.buffer.slice(this.buffer.length - held);
          return events;
        }
        this.content(this.buffer.slice(0, open), events);
        this.inCall = true;
        this.spaceBeforeBlock = this.pendingSpace;
        this.pendingSpace = '';
        this.buffer = this.buffer.slice(open + OPEN.length);
        this.argumentsStart = undefined;
        this.argumentsSent = 0;
      }
      const close = this.buffer.indexOf(CLOSE);
      if (close < 0) {
        this.readCallSoFar(events);
        return events;
      }
      const rest = this.buffer.slice(close + CLOSE.length);
      this.endBlock(this.buffer.slice(0, close), CLOSE, events);
      this.buffer = rest;
    }
  }

  finish(): ToolCallEvent[] {
    const events: ToolCallEvent[] = [];
    if (this.inCall) this.endBlock(this.buffer, '', events);
    else this.content(this.buffer, events);
    this.buffer = '';
    if (this.pendingSpace !== '') events.push({ type: 'content', text: this.pendingSpace });
    this.pendingSpace = '';
    return events;
  }

  private content(text: string, events: ToolCallEvent[]): void {
    let s = text;
    if (this.afterCall) {
      s = trimStartSpace(s);
      if (s === '') return;
      this.afterCall = false;
    }
    const all = this.pendingSpace + s;
    const end = endBeforeSpace(all, all.length);
    this.pendingSpace = all.slice(end);
    if (end > 0) events.push({ type: 'content', text: all.slice(0, end) });
  }

  /** In an open block: the call's name once it is written, then the arguments that cannot change. */
  private readCallSoFar(events: ToolCallEvent[]): void {
    if (this.argumentsStart === undefined) {
      const prefix = NAME_PREFIX.exec(this.buffer);
      const name = prefix?.[1] === undefined ? undefined : decodeName(prefix[1]);
      if (prefix === null || name === undefined) return;
      this.argumentsStart = prefix[0].length;
      events.push({ type: 'call', index: this.calls, name });
    }
    const rest = this.buffer.slice(this.argumentsStart);
    this.sendArguments(rest.slice(0, settledArgumentsEnd(rest)), events);
  }

  private sendArguments(settled: string, events: ToolCallEvent[]): void {
    if (settled.length > this.argumentsSent) {
      events.push({ type: 'arguments', index: this.calls, text: settled.slice(this.argumentsSent) });
      this.argumentsSent = settled.length;
    }
  }

  private endBlock(body: string, close: string, events: ToolCallEvent[]): void {
    this.inCall = false;
    if (this.argumentsStart !== undefined) {
      this.sendArguments(argumentsText(body.slice(this.argumentsStart)), events);
    } else {
      const call = callOfBody(body);
      if (call === undefined) {
        const space = this.spaceBeforeBlock;
        this.spaceBeforeBlock = '';
        this.content(space + OPEN + body + close, events);
        return;
      }
      events.push({ type: 'call', index: this.calls, name: call.name });
      if (call.arguments !== '') events.push({ type: 'arguments', index: this.calls, text: call.arguments });
    }
    this.calls++;
    this.spaceBeforeBlock = '';
    this.argumentsStart = undefined;
    this.afterCall = true;
  }
}

export const hermesToolCalls: ToolCallFormat = {
  name: 'hermes',
  parse,
  stream: () => new HermesStream(),
  markup: (functionName: string): CallMarkup => ({
    begin: `${OPEN}\n{"name": ${JSON.stringify(functionName)}, "arguments": `,
    end: `}\n${CLOSE}`,
  }),
  trigger: OPEN,
  separator: '\n',
};
