// The optimised-model cache: the first load writes onnxruntime's optimised graph under a key of the
// model's content and options, the next load opens it, and both sessions give the same outputs; a
// changed model or option gets its own entry.

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InlineInstance } from '../../src/runtime/index.js';
import { optimizedModelSource } from '../../src/runtime/optimized-model-cache.js';
import { mlpModel } from '../../tools/examples/example-models.js';

const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

async function logitsOf(modelPath: string, cacheDir: string): Promise<number[]> {
  const { instance } = await InlineInstance.load('mlp', modelPath, { ...OPTIONS, optimizedModelCacheDir: cacheDir });
  try {
    const input = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i));
    const r = await instance.run([{ name: 'input', datatype: 'FP32', shape: [1, 256], data: input }], ['logits']);
    return Array.from(r.outputs[0]?.data as Float32Array);
  } finally {
    await instance.close();
  }
}

describe('the optimised-model cache', () => {
  let dir = '';
  let modelPath = '';
  let cacheDir = '';

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-optcache-'));
    modelPath = path.join(dir, 'model.onnx');
    cacheDir = path.join(dir, 'cache');
    const bytes = mlpModel()[0]?.bytes;
    assert.ok(bytes !== undefined);
    await writeFile(modelPath, bytes);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the optimised graph on the first load and opens it on the next, with the same outputs', async () => {
    const first = await logitsOf(modelPath, cacheDir);
    const entries = await readdir(cacheDir);
    assert.equal(entries.length, 1, `one cache entry: ${entries.join(', ')}`);
    assert.match(entries[0] ?? '', /^[0-9a-f]{64}\.onnx$/);

    const source = await optimizedModelSource(modelPath, cacheDir, 'all', ['cpu']);
    assert.equal(source.path, path.join(cacheDir, entries[0] ?? ''), 'the next load opens the cached graph');
    assert.equal(source.graphOptimizationLevel, 'disabled');
    assert.equal(source.optimizedModelFilePath, undefined);

    assert.deepEqual(await logitsOf(modelPath, cacheDir), first);
  });

  it('keys entries by the options as well as the content', async () => {
    const other = await optimizedModelSource(modelPath, cacheDir, 'basic', ['cpu']);
    assert.equal(other.path, modelPath, 'another level is a miss');
    assert.ok(other.optimizedModelFilePath?.startsWith(cacheDir));
    await other.commit();
  });
});
