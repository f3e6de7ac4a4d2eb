// Prompt-lookup (n-gram) drafting, as vLLM's `ngram` method: the sequence's last n tokens (n from
// prompt_lookup_max down to prompt_lookup_min) are looked up earlier in the prompt and output,
// and the tokens that followed the most recent earlier match are proposed. It pays where the
// output repeats its context (quoting, editing, extraction, code) and costs one lookup otherwise.

import type { DraftRequest, Drafter } from './speculative.js';

/**
 * Up to `k` tokens that followed the most recent earlier occurrence of the longest suffix of
 * `tokens` whose length is in [minN, maxN]; [] when none occurs.
 */
export function lookupDraft(tokens: readonly number[], minN: number, maxN: number, k: number): number[] {
  const len = tokens.length;
  for (let n = Math.min(maxN, len - 1); n >= minN; n--) {
    const start = len - n;
    // Most recent first: a match ending just before the suffix is the likeliest to continue alike.
    for (let i = start - 1; i >= 0; i--) {
      let j = 0;
      while (j < n && tokens[i + j] === tokens[start + j]) j++;
      if (j === n) return tokens.slice(i + n, Math.min(i + n + k, len));
    }
  }
  return [];
}

export class PromptLookupDrafter implements Drafter {
  constructor(
    private readonly minN: number,
    private readonly maxN: number,
  ) {}

  propose(requests: readonly DraftRequest[]): Promise<number[][]> {
    return Promise.resolve(requests.map((r) => lookupDraft(r.tokens, this.minN, this.maxN, r.k)));
  }

  keep(): void {}

  release(): void {}

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
