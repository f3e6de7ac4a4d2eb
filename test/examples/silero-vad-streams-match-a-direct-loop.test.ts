// The Silero VAD example served as a stateful sequence: frames streamed over the WebSocket (and
// over REST) get exactly the probabilities of a direct onnxruntime-node loop that carries h/c
// itself, interleaved sequences keep their own state, and the model tells speech from silence.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type ort from 'onnxruntime-node';
import { frames, silence, speechLike } from '../../tools/audio/synthetic-speech.js';
import { openStream, streamUrl } from '../e2e/streaming/stream-client.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../helpers/test-server.js';
import {
  TOLERANCE,
  binaryFrame,
  directProbabilities,
  framesInside,
  jsonFrame,
  loadSilero,
  maxAbsDifference,
  mean,
  probabilityOf,
  scriptedAudio,
  sequenceParameters,
} from './silero-vad-fixture.js';

describe('Silero VAD example as a streaming model', () => {
  let server: TestServer;
  let session: ort.InferenceSession;
  const audio = frames(scriptedAudio());
  let reference: number[] = [];

  before(async () => {
    server = await startTestServer({
      modelRepository: EXAMPLES_DIR,
      modelControlMode: 'explicit',
      loadModels: ['silero_vad'],
    });
    session = await loadSilero();
    reference = await directProbabilities(session, audio);
  });
  after(async () => {
    await server.close();
    await session.release();
  });

  it('scores a WebSocket stream of binary frames exactly as the direct loop, frame for frame', async () => {
    const s = await openStream(streamUrl(server.url, 'silero_vad'));
    audio.forEach((f, i) => s.socket.send(binaryFrame(`f${i}`, sequenceParameters(1001, i, audio.length), f)));
    const served: number[] = [];
    for (let i = 0; i < audio.length; i++) {
      const reply = await s.nextJson();
      assert.equal(reply.id, `f${i}`, JSON.stringify(reply));
      served.push(probabilityOf(reply));
    }
    s.socket.close();
    const diff = maxAbsDifference(served, reference);
    assert.ok(diff <= TOLERANCE, `largest difference ${diff} over ${audio.length} frames`);
  });

  it('tells the speech parts from the silent ones', () => {
    const speech = mean(framesInside(true).map((i) => reference[i] ?? NaN));
    const quiet = mean(framesInside(false).map((i) => reference[i] ?? NaN));
    assert.ok(speech > 0.8, `mean probability in speech ${speech}`);
    assert.ok(quiet < 0.1, `mean probability in silence ${quiet}`);
  });

  it('scores a shorter sequence over REST the same way', async () => {
    const short = audio.slice(0, 40);
    const served: number[] = [];
    for (const [i, f] of short.entries()) {
      const reply = await fetch(`${server.url}/v2/models/silero_vad/infer`, {
        method: 'POST',
        body: jsonFrame(`r${i}`, sequenceParameters(1002, i, short.length), f),
      });
      assert.equal(reply.status, 200);
      served.push(probabilityOf((await reply.json()) as Record<string, unknown>));
    }
    const diff = maxAbsDifference(served, reference.slice(0, 40));
    assert.ok(diff <= TOLERANCE, `largest difference ${diff}`);
  });

  it('keeps two interleaved sequences on one connection apart, each equal to its own loop', async () => {
    const speech = frames(speechLike(2, 31));
    const quiet = frames(silence(2, 32));
    const [speechRef, quietRef] = [
      await directProbabilities(session, speech),
      await directProbabilities(session, quiet),
    ];
    const s = await openStream(streamUrl(server.url, 'silero_vad'));
    // Alternate the sequences frame by frame, half of them as JSON text messages.
    for (let i = 0; i < speech.length; i++) {
      const a = speech[i] ?? new Float32Array();
      const b = quiet[i] ?? new Float32Array();
      s.socket.send(binaryFrame(`speech-${i}`, sequenceParameters(2001, i, speech.length), a));
      s.socket.send(jsonFrame(`quiet-${i}`, sequenceParameters(2002, i, quiet.length), b));
    }
    const served = { speech: [] as number[], quiet: [] as number[] };
    for (let i = 0; i < 2 * speech.length; i++) {
      const reply = await s.nextJson();
      const [kind, n] = String(reply.id).split('-');
      assert.equal(Number(n), Math.floor(i / 2), 'replies come back in request order');
      served[kind as 'speech' | 'quiet'].push(probabilityOf(reply));
    }
    s.socket.close();
    assert.ok(maxAbsDifference(served.speech, speechRef) <= TOLERANCE, 'the speech sequence');
    assert.ok(maxAbsDifference(served.quiet, quietRef) <= TOLERANCE, 'the silent sequence');
    assert.ok(mean(served.speech.slice(8)) > 0.8, `speech mean ${mean(served.speech.slice(8))}`);
    assert.ok(mean(served.quiet) < 0.1, `silence mean ${mean(served.quiet)}`);
  });
});
