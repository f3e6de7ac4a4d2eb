// The stream a caller iterates: chunks pushed by the engine as they become final, then a result.
// Chunks queue until read, so a slow reader never blocks the engine's step loop.

import type { GenerationChunk, GenerationResult, GenerationStream } from './engine-types.js';

export class ChunkStream implements GenerationStream {
  readonly result: Promise<GenerationResult>;
  private readonly queue: GenerationChunk[] = [];
  private done = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private settle!: { resolve(r: GenerationResult): void; reject(e: Error): void };

  constructor() {
    this.result = new Promise<GenerationResult>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // A caller that only iterates still sees the failure there; no unhandled rejection.
    this.result.catch(() => undefined);
  }

  push(chunk: GenerationChunk): void {
    if (this.done) return;
    this.queue.push(chunk);
    this.wake?.();
  }

  end(result: GenerationResult): void {
    if (this.done) return;
    this.done = true;
    this.settle.resolve(result);
    this.wake?.();
  }

  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    this.settle.reject(err);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GenerationChunk> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.error !== undefined) throw this.error;
      if (this.done) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}
