import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IncrementalDecoder, StopStringMatcher } from '../../src/generation/stop-strings.js';

/** A byte-level tokenizer: token id = one UTF-8 byte; 256 = a special token (EOS). */
const byteTokenizer = {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string {
    const bytes = ids.filter((i) => i < 256 || options?.skipSpecialTokens !== true);
    return new TextDecoder().decode(Uint8Array.from(bytes.map((i) => (i < 256 ? i : 63))));
  },
};
const bytesOf = (s: string): number[] => [...new TextEncoder().encode(s)];

function stream(text: string, stops: string[]): { pieces: string[]; stop: string | undefined; rest: string } {
  const m = new StopStringMatcher(stops);
  const pieces: string[] = [];
  for (const ch of text) {
    const r = m.push(ch);
    pieces.push(r.text);
    if (r.stop !== undefined) return { pieces, stop: r.stop, rest: '' };
  }
  return { pieces, stop: undefined, rest: m.flush() };
}

describe('incremental decoding', () => {
  it('never emits half a UTF-8 character', () => {
    const d = new IncrementalDecoder(byteTokenizer);
    const out = bytesOf('a€b').map((b) => d.push([b]));
    // '€' is three bytes: nothing until the third arrives.
    assert.deepEqual(out, ['a', '', '', '€', 'b']);
    assert.equal(d.flush(), '');
  });

  it('flushes a dangling partial character at the end as U+FFFD', () => {
    const d = new IncrementalDecoder(byteTokenizer);
    assert.equal(d.push([0xe2, 0x82]), '');
    assert.equal(d.flush(), '\uFFFD');
  });

  it('skips special tokens', () => {
    const d = new IncrementalDecoder(byteTokenizer);
    assert.equal(d.push(bytesOf('hi')), 'hi');
    assert.equal(d.push([256]), '');
    assert.equal(d.flush(), '');
  });
});

describe('stop strings', () => {
  it('holds back a possible start until ruled out, then releases it', () => {
    const { pieces, stop, rest } = stream('say END? no: ENd', ['END.']);
    assert.equal(stop, undefined);
    assert.equal(pieces.join('') + rest, 'say END? no: ENd');
    // 'E', 'N', 'D' were held until '?' ruled the stop out.
    assert.deepEqual(pieces.slice(4, 8), ['', '', '', 'END?']);
  });

  it('never emits the stop string nor anything after it', () => {
    const { pieces, stop } = stream('one\n\ntwo', ['\n\n']);
    assert.equal(stop, '\n\n');
    assert.equal(pieces.join(''), 'one');
  });

  it('finds a stop split across tokens', () => {
    const m = new StopStringMatcher(['stop here']);
    assert.deepEqual(m.push('we st'), { text: 'we ' });
    assert.deepEqual(m.push('op h'), { text: '' });
    assert.deepEqual(m.push('ere and more'), { text: '', stop: 'stop here' });
  });

  it('with overlapping candidates, the stop that completes first wins', () => {
    const m = new StopStringMatcher(['abcd', 'bc']);
    assert.deepEqual(m.push('xab'), { text: 'x' });
    assert.deepEqual(m.push('cd'), { text: 'a', stop: 'bc' });
    const m2 = new StopStringMatcher(['aab']);
    // 'aaab': the held 'aa' restarts one character later.
    assert.deepEqual(m2.push('aa'), { text: '' });
    assert.deepEqual(m2.push('a'), { text: 'a' });
    assert.deepEqual(m2.push('b'), { text: '', stop: 'aab' });
  });

  it('matches stops with multibyte characters', () => {
    const m = new StopStringMatcher(['→ fin']);
    const d = new IncrementalDecoder(byteTokenizer);
    let out = '';
    let stop: string | undefined;
    for (const b of bytesOf('voilà → fin du texte')) {
      const r = m.push(d.push([b]));
      out += r.text;
      if (r.stop !== undefined) {
        stop = r.stop;
        break;
      }
    }
    assert.equal(stop, '→ fin');
    assert.equal(out, 'voilà ');
  });

  it('without stops, text passes straight through', () => {
    const m = new StopStringMatcher([]);
    assert.deepEqual(m.push('abc'), { text: 'abc' });
    assert.equal(m.flush(), '');
  });
});
