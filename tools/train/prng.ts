// A small seeded pseudo-random generator (mulberry32) for reproducible weights and shuffles.
// Only integer arithmetic and exact float operations are used, so results are bit-identical on
// every platform and Node version.

/** A generator of uniform floats in [0, 1), fully determined by its 32-bit seed. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next value in [0, 1), with 32 bits of randomness. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }

  /**
   * `count` values with mean 0 and variance `variance`, drawn uniformly from [-a, a] with
   * a = sqrt(3 * variance). Uniform rather than normal keeps transcendental functions (whose
   * last bits may vary between runtimes) out of generated weights.
   */
  scaledUniform(count: number, variance: number): Float64Array {
    const a = Math.sqrt(3 * variance);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = this.uniform(-a, a);
    return out;
  }
}
