// Learns how long one execution takes as a function of its batch size, so the adaptive batcher
// can judge whether waiting for more requests pays and whether a request can meet its deadline.
// Each batch size keeps a moving average; a least-squares line through them predicts the rest.

/** Weight of the newest observation in each batch size's moving average. */
const ALPHA = 0.2;
/** Observations needed before predictions are trusted. */
const MIN_OBSERVATIONS = 3;

export class ExecutionTimeModel {
  private readonly averages = new Map<number, number>();
  private observations = 0;
  private fit: { intercept: number; slope: number } | undefined;

  /** Records one execution of `batchSize` rows that took `ns` nanoseconds. */
  observe(batchSize: number, ns: number): void {
    const prev = this.averages.get(batchSize);
    this.averages.set(batchSize, prev === undefined ? ns : prev + ALPHA * (ns - prev));
    this.observations++;
    this.fit = undefined;
  }

  /** Predicted nanoseconds for a batch of `batchSize` rows, or undefined while still learning. */
  estimate(batchSize: number): number | undefined {
    if (this.observations < MIN_OBSERVATIONS) return undefined;
    const seen = this.averages.get(batchSize);
    if (seen !== undefined) return seen;
    this.fit ??= this.line();
    return Math.max(0, this.fit.intercept + this.fit.slope * batchSize);
  }

  /** Least squares through the per-size averages; one size seen means a flat line (no slope known). */
  private line(): { intercept: number; slope: number } {
    const points = [...this.averages.entries()];
    const n = points.length;
    const mx = points.reduce((s, [x]) => s + x, 0) / n;
    const my = points.reduce((s, [, y]) => s + y, 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (const [x, y] of points) {
      sxx += (x - mx) ** 2;
      sxy += (x - mx) * (y - my);
    }
    // Execution time does not shrink with more rows; a negative fit is noise.
    const slope = sxx === 0 ? 0 : Math.max(0, sxy / sxx);
    return { intercept: my - slope * mx, slope };
  }
}

/** Moving average of the time between arrivals, for the adaptive batcher. */
export class ArrivalRate {
  private lastNs: bigint | undefined;
  private gapNs: number | undefined;

  arrived(now: bigint): void {
    if (this.lastNs !== undefined) {
      const gap = Number(now - this.lastNs);
      this.gapNs = this.gapNs === undefined ? gap : this.gapNs + ALPHA * (gap - this.gapNs);
    }
    this.lastNs = now;
  }

  /** Expected nanoseconds until the next arrival, or undefined before two arrivals. */
  get expectedGapNs(): number | undefined {
    return this.gapNs;
  }
}
