// The memory budget's bookkeeping: which models are resident and what each takes, in least
// recently used order, and which of them to unload so a load fits. It decides; the repository
// loads, unloads and measures. The unit is the model (every version it serves), as the
// repository loads and unloads a model's versions together.

/** What the policy is asked about each resident model when it picks victims. */
export interface VictimCheck {
  /** A request is queued or running on the model, or was just handed a version of it. */
  inUse(name: string): boolean;
  /** Something else is under way on the model (a reload, an unload): it is not the policy's to take. */
  busy(name: string): boolean;
}

/** The outcome of a request for room: the models to unload, or why there is none to be had. */
export type RoomPlan =
  | { readonly fits: true; readonly victims: readonly string[] }
  | { readonly fits: false; readonly reason: 'larger-than-budget' | 'nothing-evictable' };

export class MemoryBudget {
  /** Resident models and their bytes; iteration order is least recently used first. */
  private readonly resident = new Map<string, number>();
  /** The last measured size of each model, by the fingerprint of its folder. */
  private readonly measured = new Map<string, { readonly fingerprint: string; readonly bytes: number }>();

  constructor(
    readonly budgetBytes: number,
    private readonly pinned: ReadonlySet<string>,
  ) {}

  isPinned(name: string): boolean {
    return this.pinned.has(name);
  }

  isResident(name: string): boolean {
    return this.resident.has(name);
  }

  /** Bytes the resident models take together. */
  residentBytes(): number {
    let sum = 0;
    for (const bytes of this.resident.values()) sum += bytes;
    return sum;
  }

  residentModels(): number {
    return this.resident.size;
  }

  /** Marks the model most recently used. */
  touch(name: string): void {
    const bytes = this.resident.get(name);
    if (bytes === undefined) return;
    this.resident.delete(name);
    this.resident.set(name, bytes);
  }

  /** A load finished: the model is resident (most recently used) with its measured bytes. */
  admit(name: string, fingerprint: string, bytes: number): void {
    this.resident.delete(name);
    this.resident.set(name, bytes);
    this.measured.set(name, { fingerprint, bytes });
  }

  /** The model was unloaded (evicted, unloaded on request, failed or removed). */
  remove(name: string): void {
    this.resident.delete(name);
  }

  /**
   * What a load of the model is expected to take: what the same files measured last time,
   * else `fallbackBytes` (the caller's estimate from the files).
   */
  estimate(name: string, fingerprint: string, fallbackBytes: number): number {
    const m = this.measured.get(name);
    return m !== undefined && m.fingerprint === fingerprint ? m.bytes : fallbackBytes;
  }

  /**
   * The least recently used models to unload so that `needBytes` more fit, skipping `loading`,
   * pinned models and those in use or busy. `fits: false` when no choice of victims makes room.
   */
  planRoom(loading: string, needBytes: number, check: VictimCheck): RoomPlan {
    const pinnedBytes = [...this.resident].reduce(
      (sum, [name, bytes]) => (this.pinned.has(name) && name !== loading ? sum + bytes : sum),
      0,
    );
    if (needBytes + pinnedBytes > this.budgetBytes) return { fits: false, reason: 'larger-than-budget' };
    let used = this.residentBytes() - (this.resident.get(loading) ?? 0);
    const victims: string[] = [];
    for (const [name, bytes] of this.resident) {
      if (used + needBytes <= this.budgetBytes) break;
      if (name === loading || this.pinned.has(name) || check.inUse(name) || check.busy(name)) continue;
      victims.push(name);
      used -= bytes;
    }
    if (used + needBytes > this.budgetBytes) return { fits: false, reason: 'nothing-evictable' };
    return { fits: true, victims };
  }
}
