// Synthetic 16 kHz mono audio for voice-activity tests and demos, generated in code from a seed:
// a speech-like signal (the harmonics of a gliding pitch shaped by vowel formants, in syllables of
// 120-300 ms) and near-silence (very low noise). Nothing is recorded or downloaded.

import { Prng } from '../train/prng.js';

export const SAMPLE_RATE = 16_000;
/** Samples per frame for Silero VAD at 16 kHz (32 ms). */
export const FRAME_SAMPLES = 512;

/** First three formants (Hz) of five vowels, after Peterson & Barney's averages. */
const VOWELS: readonly (readonly [number, number, number])[] = [
  [730, 1090, 2440], // a
  [530, 1840, 2480], // e
  [270, 2290, 3010], // i
  [570, 840, 2410], // o
  [300, 870, 2240], // u
];
const FORMANT_BANDWIDTH_HZ = 110;
/** Harmonics stop below this frequency (telephone-band speech is still speech). */
const TOP_HZ = 4000;

/** Small symmetric noise: the sum of two uniforms, triangular on (-amplitude, amplitude). */
function noise(prng: Prng, amplitude: number): number {
  return (prng.next() + prng.next() - 1) * amplitude;
}

/** Relative amplitude of a harmonic at `hz` under a vowel's formants, with a -6 dB/octave tilt. */
function harmonicGain(hz: number, k: number, vowel: readonly [number, number, number]): number {
  let gain = 0;
  for (const f of vowel) {
    const x = (hz - f) / FORMANT_BANDWIDTH_HZ;
    gain += 1 / (1 + x * x);
  }
  return gain / k;
}

/**
 * `seconds` of speech-like audio in [-1, 1]: syllables of a voiced sound whose pitch glides
 * between about 120 and 220 Hz, each with its own vowel and a raised-cosine envelope (about four
 * syllables a second), separated by short pauses, plus a little noise.
 */
export function speechLike(seconds: number, seed = 1): Float32Array {
  const prng = new Prng(seed);
  const out = new Float32Array(Math.round(seconds * SAMPLE_RATE));
  const pitchRate = prng.uniform(0.4, 0.9); // Hz of the pitch glide
  const pitchPhase = prng.uniform(0, 2 * Math.PI);
  let phase = 0;
  let i = 0;
  while (i < out.length) {
    const length = Math.round(prng.uniform(0.12, 0.3) * SAMPLE_RATE);
    const pause = Math.round(prng.uniform(0.02, 0.08) * SAMPLE_RATE);
    const vowel = VOWELS[prng.int(VOWELS.length)] ?? VOWELS[0]!;
    const peak = prng.uniform(0.25, 0.5);
    for (let j = 0; j < length && i < out.length; j++, i++) {
      const t = i / SAMPLE_RATE;
      const f0 = 170 + 50 * Math.sin(2 * Math.PI * pitchRate * t + pitchPhase);
      phase += (2 * Math.PI * f0) / SAMPLE_RATE;
      let s = 0;
      let norm = 0;
      for (let k = 1; k * f0 < TOP_HZ; k++) {
        const g = harmonicGain(k * f0, k, vowel);
        s += g * Math.sin(k * phase);
        norm += g;
      }
      const envelope = Math.sin((Math.PI * j) / length) ** 2;
      out[i] = (peak * envelope * s) / norm + noise(prng, 0.005);
    }
    for (let j = 0; j < pause && i < out.length; j++, i++) out[i] = noise(prng, 0.005);
  }
  return out;
}

/** `seconds` of near-silence: noise about 60 dB below full scale. */
export function silence(seconds: number, seed = 2): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: Math.round(seconds * SAMPLE_RATE) }, () => noise(prng, 0.001));
}

/** The whole frames of `samples`, in order (a trailing partial frame is left out). */
export function frames(samples: Float32Array, frameSamples = FRAME_SAMPLES): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start + frameSamples <= samples.length; start += frameSamples) {
    out.push(samples.slice(start, start + frameSamples));
  }
  return out;
}

/** The parts one after the other. */
export function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
