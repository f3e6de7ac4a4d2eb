// Turns one sequence's generated token ids into final text, incrementally: a token whose bytes end
// mid UTF-8 character (byte-level BPE) yields no text until the character completes, and text that
// could be the start of a stop string is held back until it is ruled out. A stop string is never
// emitted; the text before it is. (The offsets scheme is TGI's and vLLM's `detokenize_incrementally`:
// decode a short window of previous tokens with the new ones and keep what the new ones add.)

import type { TextTokenizer } from './engine-types.js';

const REPLACEMENT = '\uFFFD';

/** Decodes token ids one step at a time, never splitting a UTF-8 character. */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  /** Start of the window decoded for context (spaces and merges depend on the previous token). */
  private prefixOffset = 0;
  /** Tokens before this index have produced their text already. */
  private readOffset = 0;

  constructor(private readonly tokenizer: Pick<TextTokenizer, 'decode'>) {}

  /** Appends tokens; returns the text they complete ('' while a character is still partial). */
  push(tokenIds: readonly number[]): string {
    for (const t of tokenIds) this.ids.push(t);
    const window = this.ids.slice(this.prefixOffset);
    const prefixText = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const fullText = this.decode(window);
    if (fullText.length > prefixText.length && !fullText.endsWith(REPLACEMENT)) {
      const text = fullText.startsWith(prefixText) ? fullText.slice(prefixText.length) : fullText;
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return text;
    }
    return '';
  }

  /** Text of tokens still pending at the end (a dangling partial character decodes as U+FFFD). */
  flush(): string {
    if (this.readOffset >= this.ids.length) return '';
    const prefixText = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const fullText = this.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return fullText.startsWith(prefixText) ? fullText.slice(prefixText.length) : fullText;
  }

  private decode(ids: readonly number[]): string {
    return ids.length === 0 ? '' : this.tokenizer.decode(ids, { skipSpecialTokens: true });
  }
}

export interface StopCheck {
  /** Text that is final now. */
  readonly text: string;
  /** The stop string found, if any; generation ends and nothing after it is emitted. */
  readonly stop?: string;
}

/** Holds back text that may begin a stop string; finds the first stop string to complete. */
export class StopStringMatcher {
  private pending = '';
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.longest = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Adds text; returns what is now final and, if a stop string completed, which one. */
  push(text: string): StopCheck {
    if (this.stops.length === 0) return { text };
    this.pending += text;
    // The stop that completes first in the stream wins (generation would have ended there), and
    // among those ending together the one starting earliest.
    let at = -1;
    let end = Infinity;
    let which: string | undefined;
    for (const s of this.stops) {
      if (s.length === 0) continue;
      const i = this.pending.indexOf(s);
      if (i >= 0 && (i + s.length < end || (i + s.length === end && i < at))) {
        at = i;
        end = i + s.length;
        which = s;
      }
    }
    if (which !== undefined) {
      const out = this.pending.slice(0, at);
      this.pending = '';
      return { text: out, stop: which };
    }
    const hold = this.heldLength();
    const out = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text: out };
  }

  /** The held-back text, released when generation ends without a stop string. */
  flush(): string {
    const out = this.pending;
    this.pending = '';
    return out;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
  private heldLength(): number {
    const max = Math.min(this.pending.length, this.longest - 1);
    for (let len = max; len > 0; len--) {
      const tail = this.pending.slice(this.pending.length - len);
      if (this.stops.some((s) => s.length > len && s.startsWith(tail))) return len;
    }
    return 0;
  }
}
