// Picks a variant by weight. With a routing key the pick is a pure function of (experiment, key):
// the key hashes to a point in [0, 1) and the point falls into one variant's share of the
// cumulative weights, so a key stays on its variant while the weights stay the same, on every
// replica and after a restart. Without a key the point is random.

/** 32-bit FNV-1a over the UTF-16 code units, then murmur3's finaliser to spread the bits. */
export function hashToUnit(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** The point of a request: the key's hash, or a random one. */
export function routingPoint(experiment: string, key: string | undefined, random: () => number = Math.random): number {
  return key === undefined ? random() : hashToUnit(`${experiment}\u0000${key}`);
}

/**
 * The index of the entry whose share of the summed weights holds `point`; entries with
 * `available` false are left out and the others' shares grow. -1 when none is available.
 */
export function pickByWeight(
  weights: readonly number[],
  point: number,
  available: (index: number) => boolean = () => true,
): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) if (available(i)) total += weights[i] ?? 0;
  if (total <= 0) return -1;
  const target = point * total;
  let sum = 0;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] ?? 0;
    if (!available(i) || w <= 0) continue;
    sum += w;
    last = i;
    if (target < sum) return i;
  }
  return last;
}
