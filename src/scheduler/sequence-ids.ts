// Correlation ids as the sequence batcher keys and checks them, and a bounded memory of ids whose
// sequences recently ended or expired, so a late request hears why its id is no longer known.

import { invalidArgument } from '../errors/index.js';
import { sequenceIdText } from '../core/request-parameters.js';
import type { ResolvedSequenceControl } from '../config/resolved-model-config.js';

/** Integer and string ids are distinct (7 and "7" are two sequences), as in Triton. */
export function sequenceKey(id: bigint | string): string {
  return typeof id === 'string' ? `s:${id}` : `n:${id.toString()}`;
}

const INTEGER_LIMITS: Readonly<Record<string, bigint>> = {
  UINT64: (1n << 64n) - 1n,
  INT64: (1n << 63n) - 1n,
  UINT32: (1n << 32n) - 1n,
  INT32: (1n << 31n) - 1n,
};

/** Refuses an id the model's CORRID control cannot carry (a string for an integer type, or too large). */
export function checkIdForCorrid(id: bigint | string, control: ResolvedSequenceControl | undefined): void {
  if (control === undefined) return;
  if (control.datatype === 'BYTES') {
    if (typeof id !== 'string') {
      throw invalidArgument(
        `"sequence_id" ${sequenceIdText(id)} must be a string: the model takes its correlation id as TYPE_STRING`,
      );
    }
    return;
  }
  const limit = INTEGER_LIMITS[control.datatype] ?? 0n;
  if (typeof id === 'string' || id > limit) {
    throw invalidArgument(
      `"sequence_id" ${sequenceIdText(id)} must be an integer from 1 to ${limit.toString()}: the model takes its correlation id as TYPE_${control.datatype}`,
    );
  }
}

export type EndedReason = 'ended' | 'expired';

/** The last `capacity` ids that ended or expired, oldest forgotten first. */
export class RecentlyEnded {
  private readonly ids = new Map<string, EndedReason>();

  constructor(private readonly capacity = 4096) {}

  remember(key: string, reason: EndedReason): void {
    this.ids.delete(key);
    this.ids.set(key, reason);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
  }

  forget(key: string): void {
    this.ids.delete(key);
  }

  reason(key: string): EndedReason | undefined {
    return this.ids.get(key);
  }

  get size(): number {
    return this.ids.size;
  }
}
