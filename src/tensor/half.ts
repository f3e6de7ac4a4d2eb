// IEEE 754 binary16 (FP16) and bfloat16 (BF16) conversions. Tensors keep both as raw 16-bit
// patterns in a Uint16Array; JSON and .npy need them as numbers, so these convert bit patterns.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Rounds a number to the nearest FP16 bit pattern, ties to even. Overflow gives ±Infinity,
 * values under half the smallest subnormal give ±0, NaN stays a quiet NaN. The value is first
 * rounded to float32; that double rounding cannot change the FP16 result because float32 carries
 * more than twice FP16's precision.
 */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal: the value is full * 2^(e - 14) units of 2^-24.
    const full = mant | 0x800000;
    const shift = 14 - e;
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is the correct rounding (up to Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** The number an FP16 bit pattern holds (exact: every FP16 value is a float32 value). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** Rounds a number to the nearest BF16 bit pattern, ties to even; NaN stays a quiet NaN. */
export function float32ToBfloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
}

/** The number a BF16 bit pattern holds: the top half of a float32. */
export function bfloat16BitsToFloat32(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

// All 65536 FP16 values, built on first bulk conversion (256 KiB); a lookup beats the arithmetic.
let fp16Table: Float32Array | undefined;

function float16Table(): Float32Array {
  if (fp16Table === undefined) {
    fp16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) fp16Table[i] = float16BitsToFloat32(i);
  }
  return fp16Table;
}

/** Widens FP16 bit patterns to float32 values (exact). */
export function float16ArrayToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const table = float16Table();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** Rounds each value to FP16, ties to even. */
export function float32ArrayToFloat16(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

/** Widens BF16 bit patterns to float32 values (exact) by shifting them into the top half. */
export function bfloat16ArrayToFloat32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const wide = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) wide[i] = bits[i]! << 16;
  return out;
}

/** Rounds each value to BF16, ties to even. */
export function float32ArrayToBfloat16(values: ArrayLike<number>, out = new Uint16Array(values.length)): Uint16Array {
  for (let i = 0; i < values.length; i++) out[i] = float32ToBfloat16Bits(values[i]!);
  return out;
}
