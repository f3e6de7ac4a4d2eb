// The kjv-tiny ONNX export (tools/llm/export.py) computes what the PyTorch model computes: its
// prefill logits, its greedy continuations with the KV cache (first step with zero-length past),
// and left-padded batches equal to sequences run alone. The fixtures come from PyTorch.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';

const ROOT = path.join(import.meta.dirname, '../..');
const MODEL = path.join(ROOT, 'examples/models/kjv-tiny/1');
const FIXTURES = path.join(ROOT, 'test/fixtures/llm');

interface HfConfig {
  num_hidden_layers: number;
  num_key_value_heads: number;
  head_dim: number;
  vocab_size: number;
}
interface GreedyFixture {
  max_tokens: number;
  prompts: { prompt: string; prompt_token_ids: number[]; greedy_token_ids: number[] }[];
}
interface LogitsFixture {
  prompt_token_ids: number[];
  last_logits: number[];
}

const config = JSON.parse(readFileSync(path.join(MODEL, 'config.json'), 'utf8')) as HfConfig;
const readFixture = <T>(name: string): T => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;

type Past = Record<string, ort.Tensor>;

const int64 = (rows: readonly (readonly number[])[]): ort.Tensor =>
  new ort.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0]?.length ?? 0]);

function emptyPast(batch: number): Past {
  const past: Past = {};
  for (let i = 0; i < config.num_hidden_layers; i++)
    for (const kv of ['key', 'value'])
      past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
        batch,
        config.num_key_value_heads,
        0,
        config.head_dim,
      ]);
  return past;
}

function nextPast(out: ort.InferenceSession.OnnxValueMapType): Past {
  const past: Past = {};
  for (let i = 0; i < config.num_hidden_layers; i++)
    for (const kv of ['key', 'value']) {
      const t = out[`present.${i}.${kv}`];
      assert.ok(t !== undefined);
      past[`past_key_values.${i}.${kv}`] = t;
    }
  return past;
}

/** Logits of the last position of each row. */
function lastLogits(out: ort.InferenceSession.OnnxValueMapType): Float32Array[] {
  const logits = out['logits'];
  assert.ok(logits !== undefined);
  const [b = 0, s = 0, v = 0] = logits.dims;
  const data = logits.data as Float32Array;
  return Array.from({ length: b }, (_, r) => data.subarray((r * s + s - 1) * v, (r * s + s) * v));
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] ?? -Infinity) > (row[best] ?? -Infinity)) best = i;
  return best;
}

describe('kjv-tiny ONNX export', () => {
  let session: ort.InferenceSession;
  before(async () => {
    session = await ort.InferenceSession.create(path.join(MODEL, 'model.onnx'));
  });

  it('has the optimum decoder signature, with layers and heads as config.json says', () => {
    const kv = Array.from({ length: config.num_hidden_layers }, (_, i) => [`.${i}.key`, `.${i}.value`]).flat();
    assert.deepEqual(session.inputNames, [
      'input_ids',
      'attention_mask',
      'position_ids',
      ...kv.map((k) => `past_key_values${k}`),
    ]);
    assert.deepEqual(session.outputNames, ['logits', ...kv.map((k) => `present${k}`)]);
  });

  it('gives the PyTorch prefill logits', async () => {
    const f = readFixture<LogitsFixture>('kjv-tiny-logits.json');
    const ids = f.prompt_token_ids;
    const out = await session.run({
      input_ids: int64([ids]),
      attention_mask: int64([ids.map(() => 1)]),
      position_ids: int64([ids.map((_, i) => i)]),
      ...emptyPast(1),
    });
    const [last] = lastLogits(out);
    assert.ok(last !== undefined);
    assert.equal(last.length, config.vocab_size);
    let worst = 0;
    f.last_logits.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - (last[i] ?? NaN)))));
    assert.ok(worst < 1e-3, `max |difference| ${worst}`);
  });

  it('reproduces the PyTorch greedy continuations with its KV cache', async () => {
    const f = readFixture<GreedyFixture>('kjv-tiny-greedy.json');
    assert.ok(f.prompts.length >= 6);
    for (const p of f.prompts) {
      const ids = p.prompt_token_ids;
      const mask = ids.map(() => 1);
      let out = await session.run({
        input_ids: int64([ids]),
        attention_mask: int64([mask]),
        position_ids: int64([ids.map((_, i) => i)]),
        ...emptyPast(1),
      });
      const generated: number[] = [];
      for (let step = 0; step < f.max_tokens; step++) {
        const next = argmax(lastLogits(out)[0] ?? new Float32Array());
        generated.push(next);
        mask.push(1);
        out = await session.run({
          input_ids: int64([[next]]),
          attention_mask: int64([mask]),
          position_ids: int64([[mask.length - 1]]),
          ...nextPast(out),
        });
      }
      assert.deepEqual(generated, p.greedy_token_ids, p.prompt);
    }
  });

  it('gives a left-padded row of a batch the logits it has alone', async () => {
    const f = readFixture<GreedyFixture>('kjv-tiny-greedy.json');
    const byLength = f.prompts.map((p) => p.prompt_token_ids).sort((x, y) => x.length - y.length);
    const [a, b] = [byLength[0] ?? [], byLength[byLength.length - 1] ?? []];
    assert.notEqual(a.length, b.length);
    const width = Math.max(a.length, b.length);
    const padded = (ids: number[]) => [...Array<number>(width - ids.length).fill(2), ...ids];
    const mask = (ids: number[]) => [...Array<number>(width - ids.length).fill(0), ...ids.map(() => 1)];
    const positions = (ids: number[]) => [...Array<number>(width - ids.length).fill(0), ...ids.map((_, i) => i)];
    const batch = lastLogits(
      await session.run({
        input_ids: int64([padded(a), padded(b)]),
        attention_mask: int64([mask(a), mask(b)]),
        position_ids: int64([positions(a), positions(b)]),
        ...emptyPast(2),
      }),
    );
    for (const [row, ids] of [a, b].entries()) {
      const [alone] = lastLogits(
        await session.run({
          input_ids: int64([ids]),
          attention_mask: int64([ids.map(() => 1)]),
          position_ids: int64([ids.map((_, i) => i)]),
          ...emptyPast(1),
        }),
      );
      let worst = 0;
      alone?.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - (batch[row]?.[i] ?? NaN)))));
      assert.ok(worst < 1e-4, `row ${row}: max |difference| ${worst}`);
    }
  });
});
