// Benchmark requests carry tensors of the model's exact datatype and shape, random or from
// files, encoded as JSON or as binary tensor data, and read back by the server's own decoders
// to the same values.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildInferBody } from '../../src/loadgen/infer-body.js';
import { buildInputs, parseShapeSpec, type InputOptions } from '../../src/loadgen/input-tensors.js';
import type { ModelInfo } from '../../src/loadgen/model-info.js';
import { RANDOM_STRING_LENGTH, randomTensorData, seededRandom } from '../../src/loadgen/random-data.js';
import { decodeBinaryTensorData } from '../../src/tensor/binary-codec.js';
import { DATATYPES, type Datatype, type TensorData } from '../../src/tensor/datatype.js';
import { decodeJsonTensorData } from '../../src/tensor/json-decode.js';
import { encodeNpy } from '../../src/tensor/npy.js';

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

function model(datatype: Datatype, shape: number[], maxBatchSize = 8): ModelInfo {
  return { name: 'm', version: undefined, inputs: [{ name: 'X', datatype, shape }], maxBatchSize };
}

function options(extra: Partial<InputOptions> = {}): InputOptions {
  return { batchSize: 1, shapes: new Map(), files: new Map(), ...extra };
}

/** Elements as comparable values: numbers, bigints or strings. */
function elements(data: TensorData): unknown[] {
  if (Array.isArray(data)) return data.map((e) => Buffer.from(e).toString('latin1'));
  return Array.from(data as ArrayLike<unknown>);
}

interface HeaderInput {
  name: string;
  datatype: Datatype;
  shape: number[];
  data?: unknown;
  parameters?: { binary_data_size?: number };
}

describe('random data', () => {
  for (const datatype of DATATYPES) {
    it(`fills ${datatype} storage with in-range values`, () => {
      const data = randomTensorData(datatype, 64, seededRandom(7));
      const values = elements(data);
      assert.equal(values.length, 64);
      if (datatype === 'BYTES') {
        for (const v of values) assert.match(v as string, new RegExp(`^[A-Za-z0-9]{${RANDOM_STRING_LENGTH}}$`));
      } else if (datatype === 'BOOL') {
        assert.ok(values.every((v) => v === 0 || v === 1));
      } else if (datatype.startsWith('INT') || datatype.startsWith('UINT')) {
        const min = datatype.startsWith('U') ? 0 : -50;
        assert.ok(values.every((v) => Number(v) >= min && Number(v) < min + 100));
      } else if (datatype === 'FP32' || datatype === 'FP64') {
        assert.ok(values.every((v) => (v as number) >= -1 && (v as number) < 1));
      }
      // The same seed gives the same data.
      assert.deepEqual(elements(randomTensorData(datatype, 64, seededRandom(7))), values);
    });
  }
});

describe('request bodies', () => {
  for (const datatype of DATATYPES) {
    it(`round-trips ${datatype} through JSON and binary bodies`, async () => {
      const inputs = await buildInputs(
        model(datatype, [-1, -1]),
        options({ batchSize: 2, shapes: new Map([['X', [3]]]) }),
      );
      assert.equal(inputs.length, 1);
      const input = inputs[0]!;
      assert.deepEqual(input.shape, [2, 3]);
      assert.equal(input.source, 'random');

      const json = buildInferBody(inputs, 'json');
      assert.equal(json.headers['content-type'], 'application/json');
      const parsed = JSON.parse(json.body.toString('utf8')) as { inputs: HeaderInput[] };
      const j = parsed.inputs[0]!;
      assert.deepEqual([j.name, j.datatype, j.shape], ['X', datatype, [2, 3]]);
      assert.deepEqual(elements(decodeJsonTensorData('X', datatype, j.shape, j.data, NO_LIMIT)), elements(input.data));

      const binary = buildInferBody(inputs, 'binary');
      assert.equal(binary.headers['content-type'], 'application/octet-stream');
      const headerLength = Number(binary.headers['inference-header-content-length']);
      const header = JSON.parse(binary.body.toString('utf8', 0, headerLength)) as {
        inputs: HeaderInput[];
        parameters: Record<string, unknown>;
      };
      assert.deepEqual(header.parameters, { binary_data_output: true });
      const b = header.inputs[0]!;
      assert.equal(b.data, undefined);
      const size = b.parameters?.binary_data_size ?? -1;
      assert.equal(headerLength + size, binary.body.length);
      const decoded = decodeBinaryTensorData('X', datatype, b.shape, binary.body.subarray(headerLength), {
        copy: true,
      });
      assert.deepEqual(elements(decoded), elements(input.data));
    });
  }

  it('puts every input of the model in one body, in order', async () => {
    const info: ModelInfo = {
      name: 'simple',
      version: undefined,
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      maxBatchSize: 8,
    };
    const inputs = await buildInputs(info, options({ batchSize: 4 }));
    const body = buildInferBody(inputs, 'binary');
    const headerLength = Number(body.headers['inference-header-content-length']);
    const header = JSON.parse(body.body.toString('utf8', 0, headerLength)) as { inputs: HeaderInput[] };
    assert.deepEqual(
      header.inputs.map((i) => [i.name, i.shape, i.parameters?.binary_data_size]),
      [
        ['INPUT0', [4, 16], 256],
        ['INPUT1', [4, 16], 256],
      ],
    );
    assert.equal(body.body.length, headerLength + 512);
  });
});

describe('shapes', () => {
  it('uses the fixed dimensions behind the batch size', async () => {
    const [t] = await buildInputs(model('FP32', [-1, 2, 3]), options({ batchSize: 5 }));
    assert.deepEqual(t?.shape, [5, 2, 3]);
    assert.equal(t?.data.length, 30);
  });

  it('takes a model without a batch dimension as it is', async () => {
    const [t] = await buildInputs(model('FP32', [4, -1], 0), options({ shapes: new Map([['X', [4, 7]]]) }));
    assert.deepEqual(t?.shape, [4, 7]);
  });

  it('asks for --shape where a dimension is dynamic', async () => {
    await assert.rejects(
      buildInputs(model('FP32', [-1, -1, 3]), options()),
      /input 'X' has dynamic dimensions \(after the batch dimension\): \[-1,3\]; give their sizes with --shape X=N,3/,
    );
  });

  it('refuses a --shape that does not fit the model', async () => {
    await assert.rejects(
      buildInputs(model('FP32', [-1, -1, 3]), options({ shapes: new Map([['X', [2, 4]]]) })),
      /--shape X=2,4 does not fit the model's \[-1,3\] \(after the batch dimension\)/,
    );
    await assert.rejects(
      buildInputs(model('FP32', [-1, -1]), options({ shapes: new Map([['X', [2, 4]]]) })),
      /does not fit/,
    );
  });

  it('refuses names the model does not have', async () => {
    await assert.rejects(
      buildInputs(model('FP32', [-1, 3]), options({ shapes: new Map([['Y', [3]]]) })),
      /--shape Y: model 'm' has no input 'Y'; it has X/,
    );
  });

  it('refuses batch sizes the model cannot take', async () => {
    await assert.rejects(
      buildInputs(model('FP32', [-1, 3], 8), options({ batchSize: 9 })),
      /over the max_batch_size of model 'm' \(8\)/,
    );
    await assert.rejects(buildInputs(model('FP32', [3], 0), options({ batchSize: 2 })), /does not batch/);
    // No configuration endpoint: the batch dimension is unknown.
    const unknown: ModelInfo = { ...model('FP32', [3]), maxBatchSize: undefined };
    await assert.rejects(buildInputs(unknown, options({ batchSize: 2 })), /leave --batch-size at 1/);
  });

  it('parses NAME=d1,d2 and refuses anything else', () => {
    assert.deepEqual(parseShapeSpec('INPUT0=3,224,224'), { name: 'INPUT0', dims: [3, 224, 224] });
    assert.throws(() => parseShapeSpec('INPUT0'), /expected NAME=d1,d2,\.\.\./);
    assert.throws(() => parseShapeSpec('INPUT0=3,x'), /got 'INPUT0=3,x'/);
    assert.throws(() => parseShapeSpec('=3'), /expected NAME=/);
  });
});

describe('input files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-loadgen-'));
    await writeFile(path.join(dir, 'item.json'), JSON.stringify([1, 2, 3]));
    await writeFile(path.join(dir, 'batch.npy'), encodeNpy('INT32', [2, 3], Int32Array.from([1, 2, 3, 4, 5, 6])));
    await writeFile(path.join(dir, 'fp64.npy'), encodeNpy('FP64', [1, 3], Float64Array.from([1, 2, 3])));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('repeats a file without the batch dimension --batch-size times', async () => {
    const files = new Map([['X', path.join(dir, 'item.json')]]);
    const [t] = await buildInputs(model('INT32', [-1, 3]), options({ batchSize: 3, files }));
    assert.deepEqual(t?.shape, [3, 3]);
    assert.deepEqual(Array.from(t?.data as Int32Array), [1, 2, 3, 1, 2, 3, 1, 2, 3]);
    assert.equal(t?.source, files.get('X'));
  });

  it('sends a whole-request .npy file as it is, when its batch is --batch-size', async () => {
    const files = new Map([['X', path.join(dir, 'batch.npy')]]);
    const [t] = await buildInputs(model('INT32', [-1, -1]), options({ batchSize: 2, files }));
    assert.deepEqual(t?.shape, [2, 3]);
    assert.deepEqual(Array.from(t?.data as Int32Array), [1, 2, 3, 4, 5, 6]);
    await assert.rejects(
      buildInputs(model('INT32', [-1, 3]), options({ batchSize: 1, files })),
      /batch\.npy has shape \[2,3\], a batch of 2, but --batch-size is 1; give --batch-size 2/,
    );
  });

  it('refuses a file of another datatype or shape', async () => {
    await assert.rejects(
      buildInputs(model('INT32', [-1, 3]), options({ files: new Map([['X', path.join(dir, 'fp64.npy')]]) })),
      /fp64\.npy holds FP64 data, but input 'X' is INT32/,
    );
    await assert.rejects(
      buildInputs(model('INT32', [-1, 4]), options({ files: new Map([['X', path.join(dir, 'item.json')]]) })),
      /item\.json has shape \[3\], which does not fit input 'X' \[-1,4\]/,
    );
    await assert.rejects(
      buildInputs(model('INT32', [-1, 3]), options({ files: new Map([['X', path.join(dir, 'missing.json')]]) })),
      /--input X=.*missing\.json: ENOENT/,
    );
  });
});
