// Token bitmasks as xgrammar gives them (generation/grammar.ts): an Int32Array where bit i of word
// i >> 5 set means token i may come next. Kept apart from the grammar engine so the sampler applies
// a mask without loading it.

/** Sets the logits of tokens the mask disallows to -Infinity (rows past the mask are disallowed too). */
export function applyTokenMask(logits: Float32Array, mask: Int32Array): void {
  const n = logits.length;
  for (let w = 0; w * 32 < n; w++) {
    const bits = w < mask.length ? (mask[w] as number) : 0;
    if (bits === -1) continue;
    const end = Math.min(n, w * 32 + 32);
    for (let i = w * 32; i < end; i++) if (((bits >>> (i & 31)) & 1) === 0) logits[i] = -Infinity;
  }
}

/** Whether every token the mask allows is one of `ids` (an empty mask counts). */
export function allowsOnly(mask: Int32Array, ids: ReadonlySet<number>): boolean {
  for (let w = 0; w < mask.length; w++) {
    let bits = mask[w] as number;
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits & -bits);
      if (!ids.has(w * 32 + bit)) return false;
      bits &= bits - 1;
    }
  }
  return true;
}
