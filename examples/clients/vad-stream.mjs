#!/usr/bin/env node
// Voice activity over inferd's WebSocket infer stream: reads a WAV file (16-bit PCM, mono,
// 16 kHz), or synthesizes a few seconds of speech-like audio when given none, streams it to the
// silero_vad example model as one sequence of 512-sample frames and prints the speech segments.
//
//   node examples/clients/vad-stream.mjs [file.wav] [--url ws://localhost:8000] [--model silero_vad]
//
// Needs Node 20 or later and the `ws` package (installed with inferd; elsewhere `npm install ws`).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';

const SAMPLE_RATE = 16000;
const FRAME = 512; // samples per frame: 32 ms, what Silero VAD expects at 16 kHz
const WINDOW = 32; // frames sent ahead of the replies
const START = 0.5; // probability at which speech starts
const END = 0.35; // ...and below which it may end,
const HANGOVER = 8; // ...once it stays there this many frames (256 ms)

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: 'ws://localhost:8000' },
    model: { type: 'string', default: 'silero_vad' },
  },
});

/** The samples of a 16-bit PCM mono 16 kHz WAV file, scaled to [-1, 1). */
function readWav(file) {
  const buf = readFileSync(file);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${file} is not a WAV file`);
  }
  let format;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      format = {
        encoding: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (format === undefined) throw new Error(`${file}: the data chunk comes before fmt`);
      const { encoding, channels, rate, bits } = format;
      if (encoding !== 1 || channels !== 1 || rate !== SAMPLE_RATE || bits !== 16) {
        throw new Error(
          `${file}: need 16-bit PCM mono at ${SAMPLE_RATE} Hz, got format ${encoding}, ${channels} channel(s), ${rate} Hz, ${bits} bits`,
        );
      }
      const n = Math.floor(Math.min(size, buf.length - body) / 2);
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(body + 2 * i) / 32768;
      return samples;
    }
    at = body + size + (size % 2); // chunks are padded to an even length
  }
  throw new Error(`${file} has no data chunk`);
}

/** 5 s of audio: silence, 1.5 s of a voiced vowel-like sound, silence, 1 s of it, silence. */
function synthesize() {
  const out = new Float32Array(5 * SAMPLE_RATE);
  const voiced = [
    [0.5, 2.0],
    [3.0, 4.0],
  ];
  let phase = 0;
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.002;
  for (let i = 0; i < out.length; i++) {
    const t = i / SAMPLE_RATE;
    const part = voiced.find(([from, to]) => t >= from && t < to);
    let s = 0;
    if (part !== undefined) {
      const f0 = 170 + 50 * Math.sin(2 * Math.PI * 0.6 * t); // pitch glides 120-220 Hz
      phase += (2 * Math.PI * f0) / SAMPLE_RATE;
      const syllable = Math.sin(Math.PI * 4 * (t - part[0])) ** 2; // four syllables a second
      for (let k = 1; k * f0 < 4000; k++) {
        // Harmonics shaped by the formants of an open vowel (730, 1090, 2440 Hz).
        const gain = [730, 1090, 2440].reduce((g, f) => g + 1 / (1 + ((k * f0 - f) / 110) ** 2), 0) / k;
        s += gain * Math.sin(k * phase);
      }
      s *= 0.15 * syllable;
    }
    out[i] = s + noise();
  }
  return out;
}

/** A binary stream message: 4-byte little-endian header length, JSON header, the frame's bytes. */
function frameMessage(sequenceId, index, count, frame) {
  const header = Buffer.from(
    JSON.stringify({
      id: String(index),
      parameters: { sequence_id: sequenceId, sequence_start: index === 0, sequence_end: index === count - 1 },
      inputs: [
        { name: 'input', shape: [1, FRAME], datatype: 'FP32', parameters: { binary_data_size: frame.byteLength } },
        { name: 'sr', shape: [], datatype: 'INT64', data: [SAMPLE_RATE] },
      ],
    }),
  );
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(header.length);
  return Buffer.concat([prefix, header, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)]);
}

/** Speech segments [start, end) in seconds, from per-frame probabilities with hysteresis. */
function segments(probabilities) {
  const found = [];
  let start = -1;
  let quiet = 0;
  probabilities.forEach((p, i) => {
    if (start < 0) {
      if (p >= START) [start, quiet] = [i, 0];
    } else if (p < END) {
      if (++quiet >= HANGOVER) {
        found.push([start, i - quiet + 1]);
        start = -1;
      }
    } else {
      quiet = 0;
    }
  });
  if (start >= 0) found.push([start, probabilities.length - quiet]);
  return found.map(([a, b]) => [(a * FRAME) / SAMPLE_RATE, (b * FRAME) / SAMPLE_RATE]);
}

const audio = positionals[0] === undefined ? synthesize() : readWav(positionals[0]);
const count = Math.floor(audio.length / FRAME);
if (count === 0) throw new Error('the audio is shorter than one 32 ms frame');
const sequenceId = Math.floor(Math.random() * 2 ** 48) + 1;
const url = `${values.url.replace(/\/$/, '')}/v2/models/${values.model}/infer/stream`;

const probabilities = await new Promise((resolve, reject) => {
  const socket = new WebSocket(url);
  const received = [];
  let sent = 0;
  const sendMore = () => {
    for (; sent < count && sent - received.length < WINDOW; sent++) {
      socket.send(frameMessage(sequenceId, sent, count, audio.subarray(sent * FRAME, (sent + 1) * FRAME)));
    }
  };
  socket.on('open', sendMore);
  socket.on('message', (data) => {
    const reply = JSON.parse(data.toString('utf8'));
    if (reply.error !== undefined) {
      socket.close();
      reject(new Error(`frame ${reply.id ?? received.length}: ${reply.error} (status ${reply.status})`));
      return;
    }
    received.push(reply.outputs[0].data[0]); // replies come back in request order
    if (received.length === count) {
      socket.close();
      resolve(received);
    } else {
      sendMore();
    }
  });
  socket.on('unexpected-response', (_req, res) => reject(new Error(`${url}: HTTP ${res.statusCode}`)));
  socket.on('error', reject);
});

const found = segments(probabilities);
for (const [from, to] of found) console.log(`speech ${from.toFixed(2)} s - ${to.toFixed(2)} s`);
console.log(`${found.length} speech segment(s) in ${((count * FRAME) / SAMPLE_RATE).toFixed(2)} s of audio`);
