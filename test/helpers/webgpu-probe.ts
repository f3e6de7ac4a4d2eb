// Whether onnxruntime-node's bundled WebGPU provider can run here: it needs a Vulkan adapter (a
// GPU's driver, or Mesa's lavapipe on a CPU-only machine). Tests of the real WebGPU path skip
// with the reason when it cannot.

import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { EXAMPLES_DIR } from './repository-files.js';

/** Undefined when a WebGPU session opens and runs; else why not. */
export async function webgpuUnavailableReason(): Promise<string | undefined> {
  try {
    const session = await ort.InferenceSession.create(path.join(EXAMPLES_DIR, 'mlp/1/model.onnx'), {
      executionProviders: ['webgpu'],
      logSeverityLevel: 4,
    });
    await session.run({ input: new ort.Tensor('float32', new Float32Array(256), [1, 256]) });
    await session.release();
    return undefined;
  } catch (err) {
    return `no WebGPU adapter (install a Vulkan driver, e.g. Mesa's lavapipe): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}
