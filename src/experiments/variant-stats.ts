// What an experiment knows of each variant's traffic: cumulative counts for the status and the
// metrics, the latencies of the last requests for its quantiles, and a window that canary analysis
// opens at each step (counts and latencies since then, the latencies bounded by a reservoir).

/** Latencies kept in a window; beyond it, a uniform reservoir sample of them. */
const WINDOW_LATENCIES = 100_000;
/** Latencies kept for the status's quantiles. */
const RECENT_LATENCIES = 4096;

export interface WindowCounts {
  readonly requests: number;
  readonly errors: number;
  /** Latencies in seconds (all of them, or a uniform sample when there were more than 100,000). */
  readonly latencies: Float64Array;
}

export class VariantStats {
  requests = 0;
  errors = 0;
  private readonly recent = new Float64Array(RECENT_LATENCIES);
  private recentCount = 0;
  private windowRequests = 0;
  private windowErrors = 0;
  private windowLatencies: number[] = [];
  private windowSeen = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** One request answered (`ok`) or failed on the server's side, after `seconds`. */
  record(ok: boolean, seconds: number): void {
    this.requests++;
    this.windowRequests++;
    if (!ok) {
      this.errors++;
      this.windowErrors++;
    }
    this.recent[this.recentCount % RECENT_LATENCIES] = seconds;
    this.recentCount++;
    this.windowSeen++;
    if (this.windowLatencies.length < WINDOW_LATENCIES) this.windowLatencies.push(seconds);
    else {
      const j = Math.floor(this.random() * this.windowSeen);
      if (j < WINDOW_LATENCIES) this.windowLatencies[j] = seconds;
    }
  }

  /** Starts a new window (a canary step). */
  openWindow(): void {
    this.windowRequests = 0;
    this.windowErrors = 0;
    this.windowLatencies = [];
    this.windowSeen = 0;
  }

  window(): WindowCounts {
    return {
      requests: this.windowRequests,
      errors: this.windowErrors,
      latencies: Float64Array.from(this.windowLatencies),
    };
  }

  /** The q-quantile of the last 4,096 latencies, in seconds; null before the first request. */
  recentQuantile(q: number): number | null {
    const n = Math.min(this.recentCount, RECENT_LATENCIES);
    if (n === 0) return null;
    const sorted = this.recent.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.floor(q * n))] ?? null;
  }
}
