// Drafting with a small decoder that shares the target's tokenizer: it runs k greedy steps ahead
// of each sequence with its own KV cache (in its own DecoderBackend), and its cache is cut back to
// the tokens the target kept. A sequence's draft cache catches up on every token it has not seen
// (the prompt on the first proposal, then the target's own token of each step, and every token of
// steps that did not speculate) in the first draft step, batched with the other sequences.

import { argmax } from './sampler.js';
import type { DecoderBackend } from './generation-engine.js';
import type { DraftRequest, Drafter } from './speculative.js';
import type { CacheOps, StepRow } from '../runtime/decoder-session.js';

export class DraftModelDrafter implements Drafter {
  /** Tokens in each sequence's draft cache. */
  private readonly fed = new Map<number, number>();
  private free: number[] = [];
  private truncate: { seq: number; length: number }[] = [];

  constructor(private readonly decoder: DecoderBackend) {}

  async propose(requests: readonly DraftRequest[]): Promise<number[][]> {
    const drafts: number[][] = requests.map(() => []);
    if (requests.length === 0) return drafts;
    // First step: every unseen token of each sequence, logits at the last one.
    let active = requests.map((r, i) => ({ r, i }));
    let rows: StepRow[] = active.map(({ r }) => ({ seq: r.seq, tokenIds: r.tokens.slice(this.fed.get(r.seq) ?? 0) }));
    for (let step = 0; active.length > 0; step++) {
      const out = await this.decoder.step(rows, this.takeOps());
      active.forEach(({ r, i }, row) => {
        this.fed.set(r.seq, (this.fed.get(r.seq) ?? 0) + (rows[row] as StepRow).tokenIds.length);
        (drafts[i] as number[]).push(argmax(out.logits.subarray(row * out.vocab, (row + 1) * out.vocab)));
      });
      // The last draft token of a sequence is never fed: the target verifies it, and a sequence
      // that keeps it feeds it with its next proposal.
      active = active.filter(({ r, i }) => (drafts[i] as number[]).length < r.k);
      rows = active.map(({ r, i }) => ({ seq: r.seq, tokenIds: [(drafts[i] as number[])[step] as number] }));
    }
    return drafts;
  }

  keep(seq: number, length: number): void {
    const fed = this.fed.get(seq);
    if (fed === undefined || fed <= length) return;
    this.fed.set(seq, length);
    this.truncate.push({ seq, length });
  }

  release(seq: number): void {
    if (!this.fed.delete(seq)) return;
    this.free.push(seq);
    this.truncate = this.truncate.filter((t) => t.seq !== seq);
  }

  async flush(): Promise<void> {
    if (this.free.length + this.truncate.length === 0) return;
    await this.decoder.step([], this.takeOps());
  }

  close(): Promise<void> {
    this.fed.clear();
    return this.decoder.close();
  }

  private takeOps(): CacheOps {
    const ops = { free: this.free, truncate: this.truncate };
    this.free = [];
    this.truncate = [];
    return ops;
  }
}
