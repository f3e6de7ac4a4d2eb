// Writes 16-bit PCM mono WAV files (the format examples/clients/vad-stream.mjs reads), so tests
// and demos can hand synthetic audio to programs that take a recording.

import { SAMPLE_RATE } from './synthetic-speech.js';

const HEADER_BYTES = 44;

/** `samples` in [-1, 1] as a canonical 44-byte-header RIFF/WAVE file, clipped and rounded to 16 bits. */
export function encodeWav(samples: Float32Array, sampleRate = SAMPLE_RATE): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(HEADER_BYTES + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16); // fmt chunk size
  out.writeUInt16LE(1, 20); // PCM
  out.writeUInt16LE(1, 22); // mono
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28); // bytes per second
  out.writeUInt16LE(2, 32); // bytes per sample frame
  out.writeUInt16LE(16, 34); // bits per sample
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
  samples.forEach((s, i) => {
    out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s * 32768))), HEADER_BYTES + 2 * i);
  });
  return out;
}
