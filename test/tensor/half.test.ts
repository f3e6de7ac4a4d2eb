import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  bfloat16ArrayToFloat32,
  bfloat16BitsToFloat32,
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../../src/tensor/half.js';

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

describe('float32ToFloat16Bits', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [0.1, 0x2e66],
    [65504, 0x7bff], // largest finite
    [65519.99, 0x7bff], // still rounds down
    [65520, 0x7c00], // halfway to the next binade rounds to even, which is Infinity
    [1e10, 0x7c00],
    [-1e10, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // halfway between 0 and the smallest subnormal: ties to even (0)
    [2 ** -25 * 1.5, 0x0001],
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 units: ties to even (2)
    [-(2 ** -26), 0x8000], // underflow keeps the sign
    [1 + 2 ** -11, 0x3c00], // halfway between 0x3c00 and 0x3c01: ties to even
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just past halfway rounds up
    [2047 * 2 ** -25, 0x0400], // rounding up out of the subnormals into the smallest normal
  ];
  for (const [value, bits] of cases) {
    it(`rounds ${Object.is(value, -0) ? '-0' : value} to ${hex(bits)}`, () => {
      assert.equal(hex(float32ToFloat16Bits(value)), hex(bits));
    });
  }

  it('turns NaN into a quiet NaN pattern', () => {
    const bits = float32ToFloat16Bits(NaN);
    assert.equal(bits & 0x7c00, 0x7c00);
    assert.notEqual(bits & 0x03ff, 0);
    assert.ok(Number.isNaN(float16BitsToFloat32(bits)));
  });

  it('matches a brute-force nearest-even search for 20000 random float32 values', () => {
    // Every non-negative finite FP16 value, in bit-pattern order (which is also numeric order).
    const values: number[] = [];
    for (let b = 0; b < 0x7c00; b++) values.push(float16BitsToFloat32(b));
    const reference = (x: number): number => {
      const mag = Math.abs(x);
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      if (mag >= 65520) return sign | 0x7c00;
      let lo = 0;
      let hi = values.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (values[mid]! <= mag) lo = mid;
        else hi = mid - 1;
      }
      if (lo === values.length - 1) return sign | lo;
      const below = values[lo]!;
      const above = values[lo + 1]!;
      if (mag - below < above - mag) return sign | lo;
      if (mag - below > above - mag) return sign | (lo + 1);
      return sign | (lo % 2 === 0 ? lo : lo + 1);
    };
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    for (let i = 0; i < 20000; i++) {
      // Exponents from well below the subnormals to just past the largest finite value.
      const exp = 100 + (random() % 45);
      const bits = ((random() & 1) << 31) | (exp << 23) | (random() & 0x7fffff);
      const x = f32FromBits(bits >>> 0);
      assert.equal(hex(float32ToFloat16Bits(x)), hex(reference(x)), `for ${x}`);
    }
  });
});

describe('float16BitsToFloat32', () => {
  it('decodes the special patterns', () => {
    assert.equal(float16BitsToFloat32(0x7c00), Infinity);
    assert.equal(float16BitsToFloat32(0xfc00), -Infinity);
    assert.ok(Number.isNaN(float16BitsToFloat32(0x7e00)));
    assert.ok(Number.isNaN(float16BitsToFloat32(0xfc01)));
    assert.ok(Object.is(float16BitsToFloat32(0x8000), -0));
    assert.equal(float16BitsToFloat32(0x0001), 2 ** -24);
    assert.equal(float16BitsToFloat32(0x7bff), 65504);
    assert.equal(float16BitsToFloat32(0x3555), 0.333251953125);
  });

  it('round-trips every one of the 65536 patterns (NaNs stay NaN)', () => {
    for (let b = 0; b < 65536; b++) {
      const x = float16BitsToFloat32(b);
      if (Number.isNaN(x)) {
        assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(x))));
      } else if (float32ToFloat16Bits(x) !== b) {
        assert.fail(`${hex(b)} -> ${x} -> ${hex(float32ToFloat16Bits(x))}`);
      }
    }
  });
});

describe('bfloat16', () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [1 + 2 ** -8, 0x3f80], // halfway: ties to even
    [1 + 3 * 2 ** -8, 0x3f82], // halfway: ties to even (up)
    [1 + 2 ** -8 + 2 ** -16, 0x3f81],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds past the largest BF16
    [3.3895313892515355e38, 0x7f7f], // largest finite BF16
    [f32FromBits(0x00010000), 0x0001], // subnormals keep their top bits
  ];
  for (const [value, bits] of cases) {
    it(`rounds ${Object.is(value, -0) ? '-0' : value} to ${hex(bits)}`, () => {
      assert.equal(hex(float32ToBfloat16Bits(value)), hex(bits));
    });
  }

  it('keeps NaN a NaN even when its payload sits only in the low bits', () => {
    const bits = float32ToBfloat16Bits(f32FromBits(0x7f800001));
    assert.ok(Number.isNaN(bfloat16BitsToFloat32(bits)));
    assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN))));
  });

  it('round-trips every one of the 65536 patterns (NaNs stay NaN)', () => {
    for (let b = 0; b < 65536; b++) {
      const x = bfloat16BitsToFloat32(b);
      if (Number.isNaN(x)) assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(x))));
      else if (float32ToBfloat16Bits(x) !== b) assert.fail(`${hex(b)} -> ${x} -> ${hex(float32ToBfloat16Bits(x))}`);
    }
  });
});

describe('bulk conversions', () => {
  const values = [0, -0, 1, -1.5, 0.1, 65504, 1e-7, 3.14159, -1e6, Infinity];

  it('FP16 arrays agree with the scalar conversions', () => {
    const bits = float32ArrayToFloat16(values);
    assert.deepEqual(Array.from(bits), values.map(float32ToFloat16Bits));
    assert.deepEqual(Array.from(float16ArrayToFloat32(bits)), Array.from(bits, float16BitsToFloat32));
  });

  it('BF16 arrays agree with the scalar conversions', () => {
    const bits = float32ArrayToBfloat16(values);
    assert.deepEqual(Array.from(bits), values.map(float32ToBfloat16Bits));
    assert.deepEqual(Array.from(bfloat16ArrayToFloat32(bits)), Array.from(bits, bfloat16BitsToFloat32));
  });

  it('write into a caller-provided array', () => {
    const out = new Float32Array(2);
    assert.equal(float16ArrayToFloat32(new Uint16Array([0x3c00, 0xc000]), out), out);
    assert.deepEqual(Array.from(out), [1, -2]);
  });
});
