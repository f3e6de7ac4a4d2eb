// Checks that the committed example repository matches its recipes byte for byte, and that every
// example model loads in onnxruntime-node and computes what it claims to.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { parse as parseYaml } from 'yaml';
import {
  IDENTITY_TYPES,
  MLP_SHAPE,
  exampleModels,
  identityBf16Model,
  identityModelName,
} from '../../tools/examples/example-models.js';
import type { ElementType } from '../../tools/onnx/onnx-builder.js';
import { decodeModel } from '../../tools/onnx/onnx-proto.js';
import { IRIS_CLASSES, loadIris, splitIris } from '../../tools/train/iris-data.js';
import { IRIS_RECIPE } from '../../tools/train/train-iris.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPOSITORY = join(ROOT, 'examples', 'models');

function load(model: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(join(REPOSITORY, model, '1', 'model.onnx'));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(dir, path)).isFile())
    .map((path) => path.split('\\').join('/'))
    .sort();
}

describe('example repository', () => {
  let generated = '';

  before(() => {
    generated = mkdtempSync(join(tmpdir(), 'inferd-examples-'));
    // Run the real generator script, so the test also covers its command line.
    execFileSync(process.execPath, ['--import', 'tsx', 'tools/examples/make-example-models.ts', generated], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  });

  after(() => {
    if (generated !== '') rmSync(generated, { recursive: true, force: true });
  });

  it('is exactly what the generator writes', () => {
    const written = filesUnder(generated);
    assert.deepEqual(
      written,
      exampleModels()
        .map((f) => f.path)
        .sort(),
    );
    for (const path of written) {
      const committed = readFileSync(join(REPOSITORY, path));
      assert.ok(
        committed.equals(readFileSync(join(generated, path))),
        `${path} differs from its recipe; run tools/examples/make-example-models.ts`,
      );
    }
  });

  it('has a recipe for every committed model', () => {
    const recipes = new Set(exampleModels().map((f) => f.path));
    // Silero VAD is a byte copy of a published model, checked by silero-vad-model-is-the-package-copy.test.ts.
    // The text models are made by the Python recipes in tools/llm/ and checked by test/generation/
    // and test/e2e/openai/encoders-against-pytorch.test.ts.
    const copied = new Set([
      'silero_vad/1/model.onnx',
      'kjv-tiny/1/model.onnx',
      'kjv-embed/1/model.onnx',
      'bert-rerank/1/model.onnx',
    ]);
    const models = filesUnder(REPOSITORY).filter((p) => p.endsWith('.onnx') && !copied.has(p));
    assert.deepEqual(
      models.filter((p) => !recipes.has(p)),
      [],
    );
  });
});

const ORT_TYPE: Readonly<Record<ElementType, string>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
  BF16: 'bfloat16',
};

/** Four values per type, chosen at the edges of each type's range. */
function edgeTensor(type: (typeof IDENTITY_TYPES)[number]): ort.Tensor {
  const dims = [1, 4];
  switch (type) {
    case 'BOOL':
      return new ort.Tensor('bool', Uint8Array.of(1, 0, 0, 1), dims);
    case 'UINT8':
      return new ort.Tensor('uint8', Uint8Array.of(0, 255, 1, 128), dims);
    case 'UINT16':
      return new ort.Tensor('uint16', Uint16Array.of(0, 65535, 1, 32768), dims);
    case 'UINT32':
      return new ort.Tensor('uint32', Uint32Array.of(0, 4294967295, 1, 2147483648), dims);
    case 'UINT64':
      return new ort.Tensor('uint64', BigUint64Array.of(0n, 2n ** 64n - 1n, 1n, 2n ** 63n), dims);
    case 'INT8':
      return new ort.Tensor('int8', Int8Array.of(-128, 127, 0, -1), dims);
    case 'INT16':
      return new ort.Tensor('int16', Int16Array.of(-32768, 32767, 0, -1), dims);
    case 'INT32':
      return new ort.Tensor('int32', Int32Array.of(-2147483648, 2147483647, 0, -1), dims);
    case 'INT64':
      return new ort.Tensor('int64', BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n), dims);
    case 'FP16': // 1.0, largest finite, -0.0, NaN
      return new ort.Tensor('float16', Uint16Array.of(0x3c00, 0x7bff, 0x8000, 0x7e00), dims);
    case 'FP32':
      return new ort.Tensor('float32', Float32Array.of(1.5, -0, Infinity, NaN), dims);
    case 'FP64':
      return new ort.Tensor('float64', Float64Array.of(Number.MAX_VALUE, -Number.MIN_VALUE, -0, NaN), dims);
    case 'BYTES':
      return new ort.Tensor('string', ['', 'ünïcödé', 'a', 'x'.repeat(1000)], dims);
  }
}

describe('example models', () => {
  it('simple adds and subtracts INT32 tensors', async () => {
    const s = await load('simple');
    const a = Int32Array.from({ length: 32 }, (_, i) => i * 1000 - 7);
    const b = Int32Array.from({ length: 32 }, (_, i) => (i % 5) * -313 + 1);
    const { OUTPUT0, OUTPUT1 } = await s.run({
      INPUT0: new ort.Tensor('int32', a, [2, 16]),
      INPUT1: new ort.Tensor('int32', b, [2, 16]),
    });
    assert.deepEqual(OUTPUT0?.dims, [2, 16]);
    assert.deepEqual(
      OUTPUT0?.data,
      a.map((v, i) => v + (b[i] ?? 0)),
    );
    assert.deepEqual(
      OUTPUT1?.data,
      a.map((v, i) => v - (b[i] ?? 0)),
    );
  });

  it('configs agree with the models they describe', async () => {
    for (const model of ['simple', 'iris']) {
      const s = await load(model);
      const config = parseYaml(readFileSync(join(REPOSITORY, model, 'config.yaml'), 'utf8')) as {
        max_batch_size: number;
        input: { name: string; data_type: string; dims: number[] }[];
        output: { name: string; data_type: string; dims: number[] }[];
      };
      assert.ok(config.max_batch_size > 0);
      const expected = (entries: typeof config.input): unknown[] =>
        entries.map((e) => ({
          name: e.name,
          isTensor: true,
          type: ORT_TYPE[e.data_type.replace(/^TYPE_/, '') as ElementType],
          // Batching configs leave out the batch dimension, which the model declares as unknown.
          shape: ['', ...e.dims],
        }));
      assert.deepEqual(s.inputMetadata, expected(config.input), model);
      assert.deepEqual(s.outputMetadata, expected(config.output), model);
    }
  });

  for (const type of IDENTITY_TYPES) {
    it(`${identityModelName(type)} returns its input unchanged`, async () => {
      const s = await load(identityModelName(type));
      assert.deepEqual(s.inputMetadata, [{ name: 'INPUT0', isTensor: true, type: ORT_TYPE[type], shape: ['', ''] }]);
      const input = edgeTensor(type);
      const { OUTPUT0 } = await s.run({ INPUT0: input });
      assert.equal(OUTPUT0?.type, ORT_TYPE[type]);
      assert.deepEqual(OUTPUT0?.dims, [1, 4]);
      assert.deepEqual(OUTPUT0?.data, input.data);
    });
  }

  it('identity_bf16 is left out because onnxruntime-node cannot load bfloat16 models', async () => {
    const [file] = identityBf16Model();
    assert.ok(file !== undefined && typeof file.bytes !== 'string');
    assert.equal(file.path, 'identity_bf16/1/model.onnx');
    await assert.rejects(ort.InferenceSession.create(file.bytes), /Unsupported data type: 16/);
  });

  it('mlp matches a float64 evaluation of its own weights', async () => {
    const { inputs, hidden, outputs } = MLP_SHAPE;
    const bytes = readFileSync(join(REPOSITORY, 'mlp', '1', 'model.onnx'));
    const weights = new Map(
      decodeModel(bytes).graph.initializer.map((t) => {
        const raw = t.raw_data ?? new Uint8Array();
        // Copy into an aligned buffer; raw_data is little-endian, like every supported host.
        return [t.name ?? '', new Float32Array(Uint8Array.from(raw).buffer)];
      }),
    );
    const [w1, b1, w2, b2] = ['W1', 'B1', 'W2', 'B2'].map((n) => weights.get(n) ?? new Float32Array());
    assert.ok(w1 && b1 && w2 && b2);
    assert.equal(w1.length, inputs * hidden);

    const batch = 3;
    const x = Float32Array.from({ length: batch * inputs }, (_, i) => Math.sin(i * 0.37) * 1.7);
    const s = await load('mlp');
    const { logits } = await s.run({ input: new ort.Tensor('float32', x, [batch, inputs]) });
    assert.deepEqual(logits?.dims, [batch, outputs]);
    const got = logits?.data as Float32Array;

    let sumSquares = 0;
    for (let r = 0; r < batch; r++) {
      const h = new Float64Array(hidden);
      for (let j = 0; j < hidden; j++) {
        let z = b1[j] ?? 0;
        for (let i = 0; i < inputs; i++) z += (x[r * inputs + i] ?? 0) * (w1[i * hidden + j] ?? 0);
        h[j] = Math.max(0, z);
      }
      for (let k = 0; k < outputs; k++) {
        let z = b2[k] ?? 0;
        for (let j = 0; j < hidden; j++) z += (h[j] ?? 0) * (w2[j * outputs + k] ?? 0);
        const actual = got[r * outputs + k] ?? NaN;
        assert.ok(Math.abs(actual - z) < 1e-4, `logit [${r}, ${k}]: ${actual} vs ${z}`);
        sumSquares += z * z;
      }
    }
    // Scaled initialisation keeps logits near unit scale rather than vanishing or exploding.
    const rms = Math.sqrt(sumSquares / (batch * outputs));
    assert.ok(rms > 0.1 && rms < 10, `logit RMS ${rms}`);
  });

  it('iris classifies known flowers from raw measurements', async () => {
    const labels = readFileSync(join(REPOSITORY, 'iris', 'labels.txt'), 'utf8')
      .trimEnd()
      .split('\n');
    assert.deepEqual(labels, ['setosa', 'versicolor', 'virginica']);
    const s = await load('iris');
    // Rows 1, 51 and 101 of Fisher's table, one typical flower of each species.
    const samples: [number[], string][] = [
      [[5.1, 3.5, 1.4, 0.2], 'setosa'],
      [[7.0, 3.2, 4.7, 1.4], 'versicolor'],
      [[6.3, 3.3, 6.0, 2.5], 'virginica'],
      [[5.0, 3.0, 1.6, 0.2], 'setosa'],
      [[6.7, 3.0, 5.2, 2.3], 'virginica'],
    ];
    const input = new ort.Tensor('float32', Float32Array.from(samples.flatMap(([x]) => x)), [samples.length, 4]);
    const { probabilities } = await s.run({ input });
    assert.deepEqual(probabilities?.dims, [samples.length, 3]);
    const p = probabilities?.data as Float32Array;
    samples.forEach(([, expected], r) => {
      const row = Array.from(p.subarray(r * 3, r * 3 + 3));
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5, `row ${r} sums to 1`);
      assert.equal(labels[row.indexOf(Math.max(...row))], expected, `sample ${r}: ${row.join(', ')}`);
    });
  });

  it('iris reaches at least 90% accuracy on its held-out test set', async () => {
    const { train, test } = splitIris(IRIS_RECIPE.splitSeed, IRIS_RECIPE.testFraction);
    assert.equal(train.length + test.length, loadIris().length);
    const s = await load('iris');
    const input = new ort.Tensor('float32', Float32Array.from(test.flatMap((t) => t.features)), [test.length, 4]);
    const p = (await s.run({ input })).probabilities?.data as Float32Array;
    let correct = 0;
    test.forEach((sample, r) => {
      const row = Array.from(p.subarray(r * 3, r * 3 + 3));
      if (row.indexOf(Math.max(...row)) === sample.label) correct++;
    });
    const accuracy = correct / test.length;
    assert.ok(accuracy >= 0.9, `test accuracy ${accuracy} (${IRIS_CLASSES.length} classes)`);
  });
});
