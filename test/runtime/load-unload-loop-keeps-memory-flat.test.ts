// A model loaded and unloaded over and over gives its memory back: with the malloc setting the docs
// recommend (src/repository/malloc-settings.ts), the process's resident memory after each unload
// stays flat, for worker and inline instances alike. A session that is not released, a worker that
// is not ended, or a buffer of the model kept by the loader would show as growth of about the
// model's size per cycle. Runs in a child process, as the setting only applies at process start.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { glibcVersion, RECOMMENDED_MALLOC_SETTING } from '../../src/repository/malloc-settings.js';
import { GraphBuilder } from '../../tools/onnx/onnx-builder.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const CYCLES = 8;
const CHILD = path.join(import.meta.dirname, 'load-unload-loop-child.ts');

/** 512 → 2048 (ReLU) → 768, fp32: weights of 4 MiB and 6 MiB, each past the recommended threshold. */
function modelBytes(): Uint8Array {
  const w1 = Float32Array.from({ length: 512 * 2048 }, (_, i) => ((i % 97) - 48) / 4800);
  const w2 = Float32Array.from({ length: 2048 * 768 }, (_, i) => ((i % 89) - 44) / 4400);
  return new GraphBuilder('loop')
    .input('input', 'FP32', [-1, 512])
    .initializer('W1', 'FP32', [512, 2048], w1)
    .initializer('W2', 'FP32', [2048, 768], w2)
    .node('MatMul', ['input', 'W1'], ['h_mm'])
    .node('Relu', ['h_mm'], ['h'])
    .node('MatMul', ['h', 'W2'], ['output'])
    .output('output', 'FP32', [-1, 768])
    .toBytes({ opset: 17, irVersion: 8 });
}

describe(
  'loading and unloading one model over and over',
  { skip: glibcVersion() === undefined && 'glibc only' },
  () => {
    let dir = '';
    let modelPath = '';

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-unload-loop-'));
      modelPath = path.join(dir, 'model.onnx');
      await writeFile(modelPath, modelBytes());
    });

    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    for (const mode of ['worker', 'inline'] as const) {
      it(`keeps the resident memory flat after each unload (${mode} instances)`, async (t) => {
        const [name = '', value = ''] = RECOMMENDED_MALLOC_SETTING.split('=');
        const env: NodeJS.ProcessEnv = {};
        for (const [k, v] of Object.entries(process.env))
          if (!k.startsWith('MALLOC_') && k !== 'GLIBC_TUNABLES') env[k] = v;
        env[name] = value;
        const { stdout } = await run(
          process.execPath,
          ['--expose-gc', '--import', 'tsx', CHILD, modelPath, path.join(dir, `cache-${mode}`), String(CYCLES), mode],
          { env, timeout: 120_000 },
        );
        const samples = JSON.parse(stdout) as number[];
        assert.equal(samples.length, CYCLES);
        t.diagnostic(`RSS after each unload (MiB): ${samples.map((s) => (s / MiB).toFixed(0)).join(', ')}`);
        // The first cycles warm up (code, thread pools, the cache entry written once). From then on
        // a cycle that kept its model would add its 10 MiB of weights and more (50 MiB over these
        // five cycles); allocator and heap noise stays within a few MiB.
        const settled = samples[2] ?? 0;
        const last = samples[CYCLES - 1] ?? 0;
        assert.ok(
          last - settled < 10 * MiB,
          `resident memory grew by ${((last - settled) / MiB).toFixed(1)} MiB over ${CYCLES - 3} load/unload cycles`,
        );
      });
    }
  },
);
