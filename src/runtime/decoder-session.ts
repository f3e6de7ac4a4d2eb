// A decoder model in its own worker thread (session.run() blocks the thread that calls it). The
// generation engine sends steps — token ids per sequence plus cache bookkeeping — and gets back
// last-position logits; the KV caches stay in the worker.

import type { Worker } from 'node:worker_threads';
import { InferdError } from '../errors/index.js';
import { startSiblingWorker } from '../util/sibling-worker.js';
import type { CacheOps, DecoderInfo, FromDecoder, StepRow, StepTimings, ToDecoder } from './decoder-messages.js';
import type { SessionOptionsWire } from './worker-messages.js';

export type { CacheOps, DecoderInfo, StepRow, StepTimings } from './decoder-messages.js';

function spawnWorker(): Worker {
  return startSiblingWorker(import.meta.url, 'decoder-worker');
}

export interface StepResult {
  /** [rows, vocab]: each row's logits at its last new token. */
  readonly logits: Float32Array;
  readonly vocab: number;
  readonly timings: StepTimings;
}

interface Pending {
  resolve(r: StepResult): void;
  reject(e: Error): void;
}

export class DecoderSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private loadWaiter: { resolve(i: DecoderInfo): void; reject(e: Error): void } | undefined;
  private closeWaiter: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    readonly label: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', (msg: FromDecoder) => this.onMessage(msg));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`decoder worker exited with code ${code}`));
      this.closeWaiter?.();
    });
  }

  /** Starts the worker and opens the decoder; rejects (INF_ERR_MODEL_LOAD) with the reason it cannot. */
  static async load(
    label: string,
    modelPath: string,
    options: SessionOptionsWire,
  ): Promise<{ session: DecoderSession; info: DecoderInfo }> {
    const session = new DecoderSession(label, spawnWorker());
    try {
      const info = await new Promise<DecoderInfo>((resolve, reject) => {
        session.loadWaiter = { resolve, reject };
        session.post({ type: 'load', modelPath, options });
      });
      return { session, info };
    } catch (err) {
      session.closed = true;
      await session.worker.terminate();
      throw err;
    }
  }

  /**
   * Appends each row's tokens to its sequence's cache (creating it) and returns the logits of each
   * row's last token. `ops` frees, forks and saves caches around the run (see CacheOps).
   */
  step(rows: readonly StepRow[], ops: CacheOps = {}): Promise<StepResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new InferdError('INF_ERR_UNAVAILABLE', `decoder ${this.label} is closed`));
    const id = this.nextId++;
    return new Promise<StepResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ type: 'step', id, rows, ops });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.failure === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5000);
        this.closeWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
        this.post({ type: 'close' });
      });
    }
    await this.worker.terminate();
  }

  private post(msg: ToDecoder): void {
    this.worker.postMessage(msg);
  }

  private onMessage(msg: FromDecoder): void {
    switch (msg.type) {
      case 'loaded':
        this.loadWaiter?.resolve(msg.info);
        this.loadWaiter = undefined;
        break;
      case 'load-error':
        this.loadWaiter?.reject(new InferdError('INF_ERR_MODEL_LOAD', msg.message));
        this.loadWaiter = undefined;
        break;
      case 'logits': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve({ logits: msg.logits, vocab: msg.vocab, timings: msg.timings });
        break;
      }
      case 'step-error': {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.reject(new InferdError('INF_ERR_RUNTIME', `decoder ${this.label}: ${msg.message}`));
        break;
      }
      case 'closed':
        this.closeWaiter?.();
        break;
    }
  }

  private fail(err: Error): void {
    const wrapped = new InferdError('INF_ERR_RUNTIME', `decoder ${this.label} failed: ${err.message}`, { cause: err });
    this.failure = wrapped;
    this.loadWaiter?.reject(wrapped);
    this.loadWaiter = undefined;
    for (const p of this.pending.values()) p.reject(wrapped);
    this.pending.clear();
  }
}
