// The classification extension: top-k "value:index:label" strings in descending order, shaped
// [batch, k], on iris (with labels.txt) and on simple (no labels, so "value:index").

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestServer } from '../../helpers/test-server.js';
import {
  SIMPLE_JSON_REQUEST,
  assertError,
  output,
  parseJson,
  postInfer,
  splitBinaryReply,
  startExamplesServer,
  unframeBytes,
} from './rest-wire.js';

const LABELS = ['setosa', 'versicolor', 'virginica'];
/** One sample of each species, in labels order. */
const SAMPLES = [
  [5.1, 3.5, 1.4, 0.2],
  [5.9, 2.8, 4.4, 1.4],
  [6.7, 3.0, 5.2, 2.3],
];

/** Triton's formatting: std::to_string(float) gives six decimals. */
function expectedTopK(probabilities: readonly number[], k: number, labels?: readonly string[]): string[] {
  const order = probabilities
    .map((_, i) => i)
    .sort((a, b) => (probabilities[b] ?? 0) - (probabilities[a] ?? 0) || a - b);
  return order
    .slice(0, k)
    .map((i) => `${(probabilities[i] ?? 0).toFixed(6)}:${i}${labels === undefined ? '' : `:${labels[i] ?? ''}`}`);
}

describe('classification extension', () => {
  let server: TestServer;
  before(async () => {
    server = await startExamplesServer(['simple', 'iris']);
  });
  after(async () => {
    await server.close();
  });

  const irisRequest = (outputs?: unknown) => ({
    inputs: [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: SAMPLES }],
    ...(outputs === undefined ? {} : { outputs }),
  });

  async function irisProbabilities(): Promise<number[][]> {
    const body = parseJson(await postInfer(server, 'iris', irisRequest()));
    const flat = output(body, 'probabilities').data as number[];
    return [0, 1, 2].map((r) => flat.slice(r * 3, r * 3 + 3));
  }

  it('iris top 2 per sample: "value:index:label", highest first, shape [3,2]', async () => {
    const probabilities = await irisProbabilities();
    const reply = await postInfer(
      server,
      'iris',
      irisRequest([{ name: 'probabilities', parameters: { classification: 2 } }]),
    );
    assert.equal(reply.status, 200, reply.text);
    const out = output(parseJson(reply), 'probabilities');
    assert.equal(out.datatype, 'BYTES');
    assert.deepEqual(out.shape, [3, 2]);
    const data = out.data as string[];
    assert.deepEqual(
      data,
      probabilities.flatMap((p) => expectedTopK(p, 2, LABELS)),
    );
    // Each sample's best class is its own species.
    assert.deepEqual(
      [data[0], data[2], data[4]].map((s) => s?.split(':').slice(1).join(':')),
      ['0:setosa', '1:versicolor', '2:virginica'],
    );
    for (const s of data) assert.match(s, /^\d\.\d{6}:[0-2]:(setosa|versicolor|virginica)$/);
  });

  it('k larger than the class count returns every class, still sorted', async () => {
    const probabilities = await irisProbabilities();
    const reply = await postInfer(
      server,
      'iris',
      irisRequest([{ name: 'probabilities', parameters: { classification: 10 } }]),
    );
    const out = output(parseJson(reply), 'probabilities');
    assert.deepEqual(out.shape, [3, 3]);
    assert.deepEqual(
      out.data,
      probabilities.flatMap((p) => expectedTopK(p, 3, LABELS)),
    );
  });

  it('classification output can be returned binary as framed BYTES', async () => {
    const probabilities = await irisProbabilities();
    const reply = await postInfer(
      server,
      'iris',
      irisRequest([{ name: 'probabilities', parameters: { classification: 1, binary_data: true } }]),
    );
    const { header, blobs } = splitBinaryReply(reply);
    assert.equal(output(header, 'probabilities').datatype, 'BYTES');
    assert.deepEqual(output(header, 'probabilities').shape, [3, 1]);
    const strings = unframeBytes(blobs.get('probabilities') ?? Buffer.alloc(0)).map((b) => b.toString('utf8'));
    assert.deepEqual(
      strings,
      probabilities.flatMap((p) => expectedTopK(p, 1, LABELS)),
    );
  });

  it('simple has no labels: "value:index", ties broken by the lower index', async () => {
    const reply = await postInfer(server, 'simple', {
      ...SIMPLE_JSON_REQUEST,
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 3 } }, { name: 'OUTPUT1' }],
    });
    assert.equal(reply.status, 200, reply.text);
    const body = parseJson(reply);
    // OUTPUT0 = i + 1 for i in 0..15: the top three are 16, 15, 14 at indices 15, 14, 13.
    assert.deepEqual(output(body, 'OUTPUT0'), {
      name: 'OUTPUT0',
      datatype: 'BYTES',
      shape: [1, 3],
      data: ['16.000000:15', '15.000000:14', '14.000000:13'],
    });
    // The other output is untouched.
    assert.equal(output(body, 'OUTPUT1').datatype, 'INT32');

    const ties = await postInfer(server, 'simple', {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, () => 5) },
        {
          name: 'INPUT1',
          shape: [1, 16],
          datatype: 'INT32',
          data: Array.from({ length: 16 }, (_, i) => (i === 9 ? -4 : 0)),
        },
      ],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 3 } }],
    });
    assert.deepEqual(output(parseJson(ties), 'OUTPUT0').data, ['5.000000:0', '5.000000:1', '5.000000:2']);
  });

  it('a classification count that is not a non-negative integer is refused', async () => {
    const reply = await postInfer(
      server,
      'iris',
      irisRequest([{ name: 'probabilities', parameters: { classification: 'two' } }]),
    );
    assertError(reply, 400, "'probabilities'", 'classification');
  });
});
