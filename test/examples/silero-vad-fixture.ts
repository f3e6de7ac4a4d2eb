// Shared by the Silero VAD tests: the reference (a direct onnxruntime-node loop that carries the
// LSTM state h/c itself), the request bodies for one frame, and the synthetic audio they score.

import path from 'node:path';
import ort from 'onnxruntime-node';
import { FRAME_SAMPLES, SAMPLE_RATE, concat, silence, speechLike } from '../../tools/audio/synthetic-speech.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

export const SILERO_DIR = path.join(EXAMPLES_DIR, 'silero_vad');

/** Probabilities the served model must match, frame for frame. */
export const TOLERANCE = 1e-5;

/** Speech probability of each frame, as one sequence, with the state carried between frames. */
export async function directProbabilities(session: ort.InferenceSession, frames: Float32Array[]): Promise<number[]> {
  let h: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  let c: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 64), [2, 1, 64]);
  const sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(SAMPLE_RATE)), []);
  const out: number[] = [];
  for (const frame of frames) {
    const r = await session.run({ input: new ort.Tensor('float32', frame, [1, frame.length]), sr, h, c });
    if (r.hn === undefined || r.cn === undefined || r.output === undefined) throw new Error('missing outputs');
    h = r.hn;
    c = r.cn;
    out.push((r.output.data as Float32Array)[0] ?? NaN);
  }
  return out;
}

export function loadSilero(): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path.join(SILERO_DIR, '1', 'model.onnx'));
}

/** The sequence parameters of frame `i` of `count`. */
export function sequenceParameters(sequenceId: number, i: number, count: number): Record<string, unknown> {
  return { sequence_id: sequenceId, sequence_start: i === 0, sequence_end: i === count - 1 };
}

/** One frame as a REST JSON body. */
export function jsonFrame(id: string, parameters: Record<string, unknown>, frame: Float32Array): string {
  return JSON.stringify({
    id,
    parameters,
    inputs: [
      { name: 'input', shape: [1, frame.length], datatype: 'FP32', data: Array.from(frame) },
      { name: 'sr', shape: [], datatype: 'INT64', data: [SAMPLE_RATE] },
    ],
  });
}

/** One frame as a binary stream message: prefix, JSON header, the samples as FP32 bytes. */
export function binaryFrame(id: string, parameters: Record<string, unknown>, frame: Float32Array): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      id,
      parameters,
      inputs: [
        {
          name: 'input',
          shape: [1, frame.length],
          datatype: 'FP32',
          parameters: { binary_data_size: frame.byteLength },
        },
        { name: 'sr', shape: [], datatype: 'INT64', data: [SAMPLE_RATE] },
      ],
    }),
  );
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(header.length, 0);
  return Buffer.concat([prefix, header, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)]);
}

/** The speech probability in a JSON reply. */
export function probabilityOf(reply: Record<string, unknown>): number {
  const outputs = reply.outputs as { name: string; data: number[] }[] | undefined;
  const p = outputs?.find((o) => o.name === 'output')?.data[0];
  if (p === undefined) throw new Error(`no probability in ${JSON.stringify(reply)}`);
  return p;
}

/** A recording with known parts: silence, speech, silence, speech, silence (seconds). */
export const SCRIPT = [
  { speech: false, seconds: 1 },
  { speech: true, seconds: 2 },
  { speech: false, seconds: 1.5 },
  { speech: true, seconds: 1.5 },
  { speech: false, seconds: 1 },
] as const;

export function scriptedAudio(): Float32Array {
  return concat(...SCRIPT.map((p, i) => (p.speech ? speechLike(p.seconds, 10 + i) : silence(p.seconds, 20 + i))));
}

/**
 * Frame indices well inside each kind of part: the first and last 8 frames (256 ms) of every
 * part are left out, since the model's answer lags a change by a few frames.
 */
export function framesInside(speech: boolean, margin = 8): number[] {
  const out: number[] = [];
  let seconds = 0;
  for (const part of SCRIPT) {
    const first = Math.ceil((seconds * SAMPLE_RATE) / FRAME_SAMPLES);
    seconds += part.seconds;
    const end = Math.floor((seconds * SAMPLE_RATE) / FRAME_SAMPLES);
    if (part.speech === speech) for (let i = first + margin; i < end - margin; i++) out.push(i);
  }
  return out;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
}
