// The response cache: one byte budget for the whole server, shared by the model versions that
// enable `response_cache`. Keys hash the model, version, inputs (names, datatypes, shapes, bytes)
// and the outputs asked for; the least recently used entries go first when the budget is full.

import { createHash } from 'node:crypto';
import type { InferRequest } from '../core/infer-request.js';
import type { Tensor } from '../tensor/tensor.js';

function bytesOf(t: Tensor): number {
  if (t.datatype === 'BYTES') return t.data.reduce((n, e) => n + e.byteLength + 4, 0);
  return t.data.byteLength;
}

/**
 * The cache key of a request. Computed before the request runs: input buffers are handed to the
 * worker thread and are no longer readable afterwards.
 */
export function cacheKey(model: string, version: string, request: InferRequest): string {
  const h = createHash('sha256');
  h.update(`${model}\0${version}\0${[...request.outputNames].sort().join(',')}\0`);
  const inputs = [...request.inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of inputs) {
    h.update(`${t.name}\0${t.datatype}\0${t.shape.join(',')}\0`);
    if (t.datatype === 'BYTES') {
      for (const e of t.data) {
        h.update(`${e.byteLength}:`);
        h.update(e);
      }
    } else {
      const d = t.data;
      h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  }
  return h.digest('base64');
}

interface Entry {
  readonly outputs: readonly Tensor[];
  readonly bytes: number;
}

export class ResponseCache {
  /** Map iteration order is insertion order: re-inserting on a hit keeps the oldest first. */
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(readonly budgetBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): readonly Tensor[] | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.outputs;
  }

  /** Stores the outputs unless they alone exceed the budget; evicts the least recently used first. */
  set(key: string, outputs: readonly Tensor[]): void {
    const bytes = outputs.reduce((n, t) => n + bytesOf(t), key.length);
    if (bytes > this.budgetBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.used -= old.bytes;
    }
    while (this.used + bytes > this.budgetBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      const e = this.entries.get(oldest.value);
      this.entries.delete(oldest.value);
      this.used -= e?.bytes ?? 0;
    }
    this.entries.set(key, { outputs, bytes });
    this.used += bytes;
  }
}
