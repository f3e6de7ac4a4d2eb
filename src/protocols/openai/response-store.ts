// The stored responses of POST /v1/responses (`store`, true by default): what GET, DELETE and
// input_items read, and what `previous_response_id` chains into the next request's conversation.
// It lives in memory and is bounded by a count: past it the least recently used response goes
// first (reading or chaining a response keeps it). Each response belongs to the caller that created
// it (the API key's id, or "anonymous"): another caller's id is as unknown as an evicted one.

import type { ConversationItem, InputItem, ResponseObject } from './response-objects.js';

export interface StoredResponse {
  /** Who created it: only that caller reads, chains or deletes it. */
  readonly owner: string;
  readonly response: ResponseObject;
  /** The request's own input items, with ids, as GET /v1/responses/{id}/input_items lists them. */
  readonly inputItems: readonly InputItem[];
  /** The whole conversation up to and including this response's output (instructions excluded). */
  readonly conversation: readonly ConversationItem[];
}

export class ResponseStore {
  /** Insertion order is recency order: the first key is the least recently used. */
  private readonly entries = new Map<string, StoredResponse>();

  /** `maxEntries` 0 keeps nothing: every response is then as if created with `store: false`. */
  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) {
      throw new RangeError(`maxEntries must be an integer of at least 0, got ${maxEntries}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keeps `entry`, evicting the least recently used responses past the bound. */
  put(entry: StoredResponse): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(entry.response.id);
    this.entries.set(entry.response.id, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  /** The response if it is kept and `owner` created it; reading it makes it the most recently used. */
  get(id: string, owner: string): StoredResponse | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.owner !== owner) return undefined;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }

  /** Forgets the response; false when it was not kept for `owner`. */
  delete(id: string, owner: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.owner !== owner) return false;
    return this.entries.delete(id);
  }
}
