// How a cross-encoder's logits become scores: one label → sigmoid (or the raw logit), two labels →
// the second class's softmax probability (or its raw logit); a classifier of another width fails
// the load. The engine feeds each pair's segment ids as token_type_ids, and the backend here
// answers from them, so the test also shows which ids reach the model.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import type { InferRequest, InferResult } from '../../src/core/infer-request.js';
import { InferdError } from '../../src/errors/index.js';
import { createRerankEngine } from '../../src/generation/rerank-engine.js';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';

const FOLDER = path.join(EXAMPLES_DIR, 'bert-rerank', '1');

function config(labels: number): ResolvedModelConfig {
  const base = {
    name: 'ce',
    platform: 'onnxruntime_onnx',
    task: 'rerank',
    modelFilename: 'model.onnx',
    maxBatchSize: 8,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({
      name,
      datatype: 'INT64' as const,
      dims: [-1],
    })),
    outputs: [{ name: 'logits', datatype: 'FP32' as const, dims: [labels] }],
  };
  // The engine reads only the fields above.
  return base as unknown as ResolvedModelConfig;
}

/** Row r's logits: [-(types in r), (types in r)] / 4 — from the token_type_ids the engine sent. */
function backend(labels: number, seen: InferRequest[]) {
  return {
    infer(request: InferRequest): Promise<InferResult> {
      seen.push(request);
      const types = request.inputs.find((t) => t.name === 'token_type_ids');
      assert.ok(types?.datatype === 'INT64', 'token_type_ids is fed');
      const [rows = 0, length = 0] = types.shape;
      const data = new Float32Array(rows * labels);
      for (let r = 0; r < rows; r++) {
        let ones = 0;
        for (let t = 0; t < length; t++) ones += Number(types.data[r * length + t]);
        if (labels === 1) data[r] = ones / 4;
        else data.set([-ones / 4, ones / 4], r * 2);
      }
      return Promise.resolve({
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [rows, labels], data }],
        timings: { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0, queueNs: 0 },
      });
    },
  };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('rerank scores from logits', () => {
  it('one label: sigmoid of the logit, or the logit itself when raw', async () => {
    const seen: InferRequest[] = [];
    const engine = await createRerankEngine({
      modelName: 'ce',
      folder: FOLDER,
      config: config(1),
      rerank: { activation: 'sigmoid', max_tokens: 64 },
      backend: backend(1, seen),
    });
    // "paris" is one token: segment 1 holds it and the closing [SEP].
    const pair = engine.encodePair('the cat', 'paris');
    assert.deepEqual(pair.typeIds, [0, 0, 0, 0, 1, 1]);
    const [score] = await engine.score([pair], { requestId: 'a' });
    assert.ok(Math.abs((score ?? NaN) - sigmoid(2 / 4)) < 1e-6);
    const [raw] = await engine.score([pair], { requestId: 'b', raw: true });
    assert.ok(Math.abs((raw ?? NaN) - 2 / 4) < 1e-6);
    assert.deepEqual(seen[0]?.outputNames, ['logits']);
  });

  it('two labels: the positive class, by softmax or raw as configured', async () => {
    const engine = await createRerankEngine({
      modelName: 'ce',
      folder: FOLDER,
      config: config(2),
      rerank: { activation: 'raw', max_tokens: 64 },
      backend: backend(2, []),
    });
    const pairs = [engine.encodePair('q', 'the cat eats fish'), engine.encodePair('q', 'paris')];
    const raw = await engine.score(pairs, { requestId: 'c' });
    assert.deepEqual(raw, [5 / 4, 2 / 4]);
    const soft = await engine.score(pairs, { requestId: 'd', raw: false });
    // softmax([-x, x])[1] = sigmoid(2x)
    soft.forEach((s, i) => assert.ok(Math.abs(s - sigmoid(2 * (raw[i] ?? NaN))) < 1e-6));
  });

  it('a pair over max_tokens is refused before it is queued', async () => {
    const seen: InferRequest[] = [];
    const engine = await createRerankEngine({
      modelName: 'ce',
      folder: FOLDER,
      config: config(1),
      rerank: { activation: 'sigmoid', max_tokens: 5 },
      backend: backend(1, seen),
    });
    assert.throws(
      () => void engine.score([engine.encodePair('the cat', 'eats fish')], { requestId: 'e' }),
      /pair 0 is 7 tokens long; this model takes at most 5/,
    );
    assert.equal(seen.length, 0);
  });

  it('a classifier of three labels fails the load, naming the shape', async () => {
    await assert.rejects(
      createRerankEngine({
        modelName: 'ce',
        folder: FOLDER,
        config: config(3),
        rerank: undefined,
        backend: backend(3, []),
      }),
      (err: unknown) =>
        err instanceof InferdError &&
        err.code === 'INF_ERR_MODEL_LOAD' &&
        /'logits' must be \[batch, 1\] or \[batch, 2\].*not \[batch, 3\]/.test(err.message),
    );
  });
});
