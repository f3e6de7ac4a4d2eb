// A decoder model in its own worker thread (session.run() blocks the thread that calls it). The
// generation engine sends steps — token ids per sequence plus cache bookkeeping — and gets back
// last-position logits; the KV caches stay in the worker.
//
// A worker that exits unexpectedly fails the steps in flight and is replaced (at most 3 times a
// minute). The caches of the sequences it held are gone: a later step naming one of them fails
// rather than decode from an empty past. The prefix entries are not: the token ids of every
// sequence and entry are mirrored here, and the replacement prefills each entry again before it
// serves, so the engine's prefix index stays true.

import type { Worker } from 'node:worker_threads';
import { InferdError } from '../errors/index.js';
import { startSiblingWorker } from '../util/sibling-worker.js';
import { RpcClient, type Send } from '../util/worker-rpc.js';
import type { CacheOps, DecoderInfo, DecoderProtocol, StepResult, StepRow } from './decoder-messages.js';
import type { SessionOptionsWire } from './worker-messages.js';

export type { CacheOps, DecoderInfo, StepResult, StepRow, StepTimings } from './decoder-messages.js';
export { logitsRowsOf } from './decoder-messages.js';

/** The sequence a replacement worker rebuilds prefix entries in; the engine numbers its own from 1. */
const REBUILD_SEQ = -1;

function spawnWorker(): Worker {
  return startSiblingWorker(import.meta.url, 'decoder-worker');
}

export class DecoderSession {
  private readonly rpc: RpcClient<DecoderProtocol>;
  private info: DecoderInfo | undefined;
  private closed = false;
  /** Token ids in each sequence's cache in the worker. */
  private readonly seqTokens = new Map<number, number[]>();
  /** Token ids of each prefix entry the worker holds. */
  private readonly entryTokens = new Map<number, readonly number[]>();
  /** Sequences whose caches died with a crashed worker and that the engine has not freed yet. */
  private readonly lost = new Set<number>();

  private constructor(
    readonly label: string,
    modelPath: string,
    options: SessionOptionsWire,
  ) {
    this.rpc = new RpcClient<DecoderProtocol>({
      spawn: spawnWorker,
      init: async (send, restarted) => {
        this.info = await send('load', { modelPath, options });
        if (restarted) await this.rebuildEntries(send);
      },
      decodeError: (error, type) =>
        type === 'load'
          ? new InferdError('INF_ERR_MODEL_LOAD', String(error))
          : new InferdError('INF_ERR_RUNTIME', `decoder ${label}: ${String(error)}`),
      crashError: (exit) => {
        const cause = exit.error ?? new Error(`decoder worker exited with code ${exit.code}`);
        return new InferdError('INF_ERR_RUNTIME', `decoder ${label} failed: ${cause.message}`, { cause });
      },
      // Closed (the model is unloading) is a refusal of the moment; a decoder that stopped for good
      // (restarts used up, or a restart failed) is a server failure, not something to retry.
      stoppedError: (reason) =>
        reason === undefined
          ? new InferdError('INF_ERR_UNAVAILABLE', `decoder ${label} is closed`)
          : new InferdError('INF_ERR_RUNTIME', `decoder ${label} is not running: ${reason.message}`, { cause: reason }),
      onCrash: () => {
        for (const seq of this.seqTokens.keys()) this.lost.add(seq);
        this.seqTokens.clear();
      },
    });
  }

  /** Starts the worker and opens the decoder; rejects (INF_ERR_MODEL_LOAD) with the reason it cannot. */
  static async load(
    label: string,
    modelPath: string,
    options: SessionOptionsWire,
  ): Promise<{ session: DecoderSession; info: DecoderInfo }> {
    const session = new DecoderSession(label, modelPath, options);
    await session.rpc.start();
    return { session, info: session.info as DecoderInfo };
  }

  /** Times the worker died and was replaced. */
  get restartCount(): number {
    return this.rpc.restarts;
  }

  /** The worker thread now serving (tests end it to stand in for a crash). */
  private get worker(): Worker | undefined {
    return this.rpc.worker;
  }

  /**
   * Appends each row's tokens to its sequence's cache (creating it) and returns the logits of each
   * row's last token (every new token's with allLogits). `ops` frees, forks, cuts and saves caches
   * around the run (see CacheOps).
   */
  step(rows: readonly StepRow[], ops: CacheOps = {}): Promise<StepResult> {
    if (this.closed) return Promise.reject(new InferdError('INF_ERR_UNAVAILABLE', `decoder ${this.label} is closed`));
    this.mirrorBefore(ops);
    if (this.lost.size > 0) {
      const gone = rows.find((r) => this.lost.has(r.seq));
      if (gone !== undefined) {
        // The bookkeeping still reaches the worker: the engine has forgotten what it drops and frees.
        this.rpc.call('step', { rows: [], ops: { ...ops, save: [] } }).catch(() => undefined);
        return Promise.reject(
          new InferdError(
            'INF_ERR_RUNTIME',
            `decoder ${this.label}: the cache of sequence ${gone.seq} was lost when its worker exited`,
          ),
        );
      }
    }
    for (const r of rows) {
      const tokens = this.seqTokens.get(r.seq);
      if (tokens === undefined) this.seqTokens.set(r.seq, [...r.tokenIds]);
      else for (const t of r.tokenIds) tokens.push(t);
    }
    const result = this.rpc.call('step', { rows, ops });
    const save = ops.save;
    if (save === undefined || save.length === 0) return result;
    return result.then((r) => {
      for (const s of save) {
        const tokens = this.seqTokens.get(s.seq);
        if (tokens !== undefined) this.entryTokens.set(s.entry, tokens.slice(0, s.length));
      }
      return r;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.rpc.close('close', undefined);
  }

  /** What the worker does before it runs the rows: forks, then drops, then frees, then cuts. */
  private mirrorBefore(ops: CacheOps): void {
    for (const f of ops.fork ?? []) {
      const entry = this.entryTokens.get(f.entry);
      if (entry !== undefined) this.seqTokens.set(f.seq, entry.slice(0, f.length));
      this.lost.delete(f.seq);
    }
    for (const e of ops.dropEntries ?? []) this.entryTokens.delete(e);
    for (const s of ops.free ?? []) {
      this.seqTokens.delete(s);
      this.lost.delete(s);
    }
    for (const t of ops.truncate ?? []) {
      const tokens = this.seqTokens.get(t.seq);
      if (tokens !== undefined && t.length < tokens.length) tokens.length = Math.max(0, t.length);
    }
  }

  /** Prefills each prefix entry of the crashed worker in its replacement, one at a time. */
  private async rebuildEntries(send: Send<DecoderProtocol>): Promise<void> {
    if (this.entryTokens.size === 0) return;
    for (const [entry, tokens] of this.entryTokens) {
      await send('step', {
        rows: [{ seq: REBUILD_SEQ, tokenIds: tokens }],
        ops: { free: [REBUILD_SEQ], save: [{ seq: REBUILD_SEQ, entry, length: tokens.length }] },
      });
    }
    await send('step', { rows: [], ops: { free: [REBUILD_SEQ] } });
  }
}
