// Why inferd does not keep outputs on the device: onnxruntime-node 1.30 hands a WebGPU output left
// on the GPU (preferredOutputLocation 'gpu-buffer') back as a tensor it cannot read, and reading
// it aborts the process (its `download` throws a C string: std::terminate). Only the WebGPU
// allocator's outputs come back this way; CUDA outputs are always copied to the CPU. Where an
// adapter exists (skipped with the reason otherwise), this pins that fact in a child process: an
// upgrade that makes it readable fails here, which is the cue to bind a decoder's KV cache to the
// device.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { EXAMPLES_DIR } from '../helpers/repository-files.js';
import { webgpuUnavailableReason } from '../helpers/webgpu-probe.js';

const unavailable = await webgpuUnavailableReason();

const CHILD = `
import * as ort from 'onnxruntime-node';
const s = await ort.InferenceSession.create(process.argv[1], {
  executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer', logSeverityLevel: 4,
});
const r = await s.run({ input: new ort.Tensor('float32', new Float32Array(256), [1, 256]) });
console.log('location ' + r.logits.location);
const data = await r.logits.getData();
console.log('read ' + data.length);
`;

test('a WebGPU output left on the device stays there: reading it aborts', { skip: unavailable }, () => {
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', CHILD, path.join(EXAMPLES_DIR, 'mlp/1/model.onnx')],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.match(child.stdout, /^location gpu-buffer$/m);
  assert.doesNotMatch(child.stdout, /^read /m);
  assert.equal(child.signal, 'SIGABRT', `exit ${child.status} ${child.signal}: ${child.stderr}`);
});
