// Silero VAD (no batch dimension; state h/c [2,1,64] with the batch axis in the middle) served by
// the sequence batcher: interleaved streams give exactly the probabilities each stream gets alone,
// and the carried state changes what the model says.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { InferRequest } from '../../src/core/infer-request.js';
import { sileroModel } from '../fixtures/stateful-models.js';
import { dateClock } from './scripted-instance.js';
import { sequenceFixture, type SequenceFixture } from './sequence-fixture.js';

const FRAME = 512;

/** A deterministic frame: a tone whose pitch and loudness depend on the stream and frame index. */
function frame(stream: number, index: number): Float32Array {
  const out = new Float32Array(FRAME);
  for (let i = 0; i < FRAME; i++) {
    const t = (index * FRAME + i) / 16000;
    out[i] = (0.1 + 0.05 * stream) * Math.sin(2 * Math.PI * (180 + 40 * stream) * t) * (1 + Math.sin(t * 7));
  }
  return out;
}

function vadRequest(id: bigint, data: Float32Array, start: boolean, end: boolean): InferRequest {
  return {
    requestId: `${id}`,
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, FRAME], data },
      { name: 'sr', datatype: 'INT64', shape: [], data: BigInt64Array.of(16000n) },
    ],
    outputNames: ['output'],
    batchSize: 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: dateClock.nowNs(),
    sequence: { id, start, end },
  };
}

describe('Silero VAD through the sequence batcher', () => {
  let f: SequenceFixture;
  before(async () => (f = await sequenceFixture(await sileroModel(), 'silero_vad', { instances: 2 })));
  after(async () => f.close());

  const frames = 12;
  async function stream(id: bigint, k: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < frames; i++) {
      const r = await f.scheduler.infer(vadRequest(id, frame(k, i), i === 0, i === frames - 1));
      assert.deepEqual(
        r.outputs.map((o) => [o.name, o.shape]),
        [['output', [1, 1]]],
      );
      out.push((r.outputs[0]?.data as Float32Array)[0] ?? NaN);
    }
    return out;
  }

  it('gives interleaved streams exactly what each gets alone', async () => {
    const alone = [await stream(1n, 0), await stream(2n, 1), await stream(3n, 2)];
    const together = await Promise.all([stream(11n, 0), stream(12n, 1), stream(13n, 2)]);
    assert.deepEqual(together, alone);
    assert.equal(f.scheduler.activeSequences, 0);
  });

  it('carries h/c from frame to frame: a frame scored mid-stream differs from the same frame at START', async () => {
    const carried = await stream(21n, 0);
    const fresh = await f.scheduler.infer(vadRequest(22n, frame(0, frames - 1), true, true));
    const freshValue = (fresh.outputs[0]?.data as Float32Array)[0];
    assert.notEqual(carried[frames - 1], freshValue);
  });
});
