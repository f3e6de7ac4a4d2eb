// Shadow variants: a copy of a share of an experiment's requests runs on another model version
// once the primary has answered; the copy's outputs are compared with the primary's and dropped.
// A shadow never changes the primary's answer and never fails it; it costs the primary little:
// the inputs are copied only for the requests chosen, the copy starts only after the primary's
// result, at most `maxInFlight` copies exist per experiment, and a copy is shed (counted) when that
// bound is reached or the shadow's own queue already holds work.

import type { InferRequest, InferResult } from '../core/infer-request.js';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32 } from '../tensor/half.js';
import type { Tensor } from '../tensor/tensor.js';

/** Running agreement of one shadow with the primaries it copied. */
export class ShadowComparison {
  compared = 0;
  failed = 0;
  shed = 0;
  /** Requests whose every compared output was equal within the tolerance. */
  agreed = 0;
  /** Rows compared for top-1 (outputs with a class axis) and rows whose argmax matched. */
  top1Rows = 0;
  top1Agreed = 0;
  /** Element count and the sum and maximum of |shadow − primary| over numeric outputs. */
  elements = 0;
  absDiffSum = 0;
  maxAbsDiff = 0;

  /** Tolerance for "equal": |a − b| ≤ atol + rtol·|a|, as numpy.allclose. */
  constructor(
    private readonly rtol = 1e-5,
    private readonly atol = 1e-6,
  ) {}

  record(primary: readonly Tensor[], shadow: readonly Tensor[], batchSize: number): void {
    this.compared++;
    let equal = true;
    for (const p of primary) {
      const s = shadow.find((t) => t.name === p.name);
      if (s === undefined) {
        equal = false;
        continue;
      }
      if (p.datatype === 'BYTES' || s.datatype === 'BYTES') {
        if (!sameBytes(p, s)) equal = false;
        continue;
      }
      const a = numbers(p);
      const b = numbers(s);
      if (a.length !== b.length) {
        equal = false;
        continue;
      }
      for (let i = 0; i < a.length; i++) {
        const x = a[i] ?? 0;
        const d = Math.abs((b[i] ?? 0) - x);
        this.absDiffSum += d;
        if (d > this.maxAbsDiff) this.maxAbsDiff = d;
        if (!(d <= this.atol + this.rtol * Math.abs(x))) equal = false;
      }
      this.elements += a.length;
      // Rows of more than one value: compare the argmax (a classifier's top-1).
      const rows = Math.max(1, batchSize);
      const width = a.length / rows;
      if (Number.isInteger(width) && width > 1) {
        for (let r = 0; r < rows; r++) {
          this.top1Rows++;
          if (argmax(a, r * width, width) === argmax(b, r * width, width)) this.top1Agreed++;
        }
      }
    }
    if (equal) this.agreed++;
  }

  toJSON(): Record<string, number | null> {
    return {
      compared: this.compared,
      failed: this.failed,
      shed: this.shed,
      agreement: this.compared === 0 ? null : this.agreed / this.compared,
      top1_agreement: this.top1Rows === 0 ? null : this.top1Agreed / this.top1Rows,
      mean_abs_diff: this.elements === 0 ? null : this.absDiffSum / this.elements,
      max_abs_diff: this.elements === 0 ? null : this.maxAbsDiff,
    };
  }
}

function sameBytes(a: Tensor, b: Tensor): boolean {
  if (a.datatype !== 'BYTES' || b.datatype !== 'BYTES' || a.data.length !== b.data.length) return false;
  return a.data.every((x, i) => Buffer.compare(x, b.data[i] ?? new Uint8Array()) === 0);
}

function argmax(values: ArrayLike<number>, start: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if ((values[start + j] ?? 0) > (values[start + best] ?? 0)) best = j;
  return best;
}

/** A numeric tensor's values as numbers (FP16 and BF16 decoded, 64-bit integers rounded). */
export function numbers(t: Tensor): ArrayLike<number> {
  switch (t.datatype) {
    case 'BYTES':
      return [];
    case 'FP16':
      return float16ArrayToFloat32(t.data);
    case 'BF16':
      return bfloat16ArrayToFloat32(t.data);
    case 'INT64':
    case 'UINT64':
      return Array.from(t.data, Number);
    case 'BOOL':
      return t.data;
    default:
      return t.data;
  }
}

/** A deep copy of the inputs: the primary's buffers are transferred to a worker thread and detached. */
export function copyInputs(inputs: readonly Tensor[]): Tensor[] {
  return inputs.map((t) =>
    t.datatype === 'BYTES'
      ? { ...t, data: t.data.map((b) => Uint8Array.from(b)) }
      : ({ ...t, data: t.data.slice() } as Tensor),
  );
}

export interface ShadowTarget {
  /** Runs the copy (on the shadow's own scheduler); undefined when the shadow cannot serve now. */
  infer(request: InferRequest): Promise<InferResult> | undefined;
  /** Requests queued or running on the shadow's version. */
  pending(): number;
}

/** The bound on shadow copies of one experiment, shared by its shadows. */
export class ShadowGate {
  private inFlight = 0;

  constructor(private readonly maxInFlight: number) {}

  get running(): number {
    return this.inFlight;
  }

  /**
   * Runs the copy when the bound allows and the shadow's queue is empty, comparing its outputs
   * with the primary's; otherwise counts it shed. Never throws; the returned promise is for tests.
   */
  run(
    target: ShadowTarget,
    request: InferRequest,
    primary: readonly Tensor[],
    comparison: ShadowComparison,
    done: (outcome: 'compared' | 'failed' | 'shed') => void,
  ): Promise<void> {
    if (this.inFlight >= this.maxInFlight || target.pending() > 0) {
      comparison.shed++;
      done('shed');
      return Promise.resolve();
    }
    let running: Promise<InferResult> | undefined;
    try {
      running = target.infer(request);
    } catch {
      running = undefined;
    }
    if (running === undefined) {
      comparison.failed++;
      done('failed');
      return Promise.resolve();
    }
    this.inFlight++;
    return running.then(
      (result) => {
        this.inFlight--;
        comparison.record(primary, result.outputs, request.batchSize);
        done('compared');
      },
      () => {
        this.inFlight--;
        comparison.failed++;
        done('failed');
      },
    );
  }
}
