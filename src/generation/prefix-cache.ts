// The index of the prefix cache: which token-id prefixes have their KV kept (in the decoder's
// worker), in blocks of `blockTokens`, least recently used first out when the blocks run out.
// A prompt that starts with a cached prefix starts from a copy of that KV and prefills only the
// rest. Keys are cumulative hashes per block boundary; a hit is confirmed token by token.

export interface PrefixHit {
  readonly entry: number;
  /** Tokens reused: a multiple of the block size, always short of the whole prompt. */
  readonly length: number;
}

interface Entry {
  readonly id: number;
  readonly tokens: readonly number[];
  readonly keys: readonly string[];
}

/** Hash of each block-aligned prefix (two 32-bit FNV-1a lanes), one key per boundary. */
function boundaryKeys(tokens: readonly number[], blockTokens: number, blocks: number): string[] {
  const keys: string[] = [];
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let b = 0; b < blocks; b++) {
    for (let i = b * blockTokens; i < (b + 1) * blockTokens; i++) {
      const t = tokens[i] as number;
      h1 = Math.imul(h1 ^ t, 0x01000193) >>> 0;
      h2 = Math.imul(h2 ^ (t + 0x9e37), 0x85ebca6b) >>> 0;
    }
    keys.push(`${h1.toString(36)}.${h2.toString(36)}.${b}`);
  }
  return keys;
}

export class PrefixCache {
  private readonly byKey = new Map<string, Entry>();
  /** Entries in least-recently-used order (Map keeps insertion order; a use re-inserts). */
  private readonly lru = new Map<number, Entry>();
  private usedBlocks = 0;
  private nextId = 1;

  constructor(
    readonly capacityBlocks: number,
    readonly blockTokens: number,
  ) {}

  get blocks(): number {
    return this.usedBlocks;
  }

  /** The longest cached prefix of the prompt that leaves at least one prompt token to run. */
  lookup(prompt: readonly number[]): PrefixHit | undefined {
    if (this.capacityBlocks === 0) return undefined;
    const blocks = Math.floor((prompt.length - 1) / this.blockTokens);
    const keys = boundaryKeys(prompt, this.blockTokens, blocks);
    for (let b = blocks; b > 0; b--) {
      const entry = this.byKey.get(keys[b - 1] as string);
      if (entry === undefined) continue;
      const length = b * this.blockTokens;
      let same = true;
      for (let i = 0; i < length && same; i++) same = entry.tokens[i] === prompt[i];
      if (!same) continue;
      this.touch(entry);
      return { entry: entry.id, length };
    }
    return undefined;
  }

  /**
   * Records that the KV of the prompt's whole blocks is about to be saved. Returns the new entry's
   * id and length and the entries evicted to make room, or undefined when nothing new is needed.
   */
  insert(prompt: readonly number[]): { entry: number; length: number; evicted: number[] } | undefined {
    const blocks = Math.min(Math.floor(prompt.length / this.blockTokens), this.capacityBlocks);
    if (blocks === 0) return undefined;
    const length = blocks * this.blockTokens;
    const keys = boundaryKeys(prompt, this.blockTokens, blocks);
    const existing = this.byKey.get(keys[blocks - 1] as string);
    if (existing !== undefined && existing.tokens.length >= length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = existing.tokens[i] === prompt[i];
      if (same) {
        this.touch(existing);
        return undefined;
      }
    }
    const evicted: number[] = [];
    while (this.usedBlocks + blocks > this.capacityBlocks) {
      const oldest = this.lru.values().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
      evicted.push(oldest.id);
    }
    const entry: Entry = { id: this.nextId++, tokens: prompt.slice(0, length), keys };
    for (const k of keys) this.byKey.set(k, entry);
    this.lru.set(entry.id, entry);
    this.usedBlocks += blocks;
    return { entry: entry.id, length, evicted };
  }

  /** Removes an entry whose KV was never saved (its step failed). */
  forget(id: number): void {
    const entry = this.lru.get(id);
    if (entry !== undefined) this.remove(entry);
  }

  private touch(entry: Entry): void {
    this.lru.delete(entry.id);
    this.lru.set(entry.id, entry);
  }

  private remove(entry: Entry): void {
    this.lru.delete(entry.id);
    this.usedBlocks -= entry.keys.length;
    for (const k of entry.keys) if (this.byKey.get(k) === entry) this.byKey.delete(k);
  }
}
