// Child process of load-unload-loop-keeps-memory-flat.test.ts: loads a model into a fresh instance
// and closes it again, `cycles` times, and prints the resident bytes after each close as JSON.
// Usage: node --expose-gc --import tsx load-unload-loop-child.ts <model> <cache dir> <cycles> <worker|inline>

import { readFile } from 'node:fs/promises';
import { InlineInstance, ModelInstance } from '../../src/runtime/index.js';

const [modelPath = '', cacheDir = '', cyclesText = '0', mode = 'worker'] = process.argv.slice(2);
const OPTIONS = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
  optimizedModelCacheDir: cacheDir,
} as const;

async function residentBytes(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

const samples: number[] = [];
for (let i = 0; i < Number(cyclesText); i++) {
  const label = `loop#${i}`;
  const { instance } =
    mode === 'inline'
      ? await InlineInstance.load(label, modelPath, OPTIONS)
      : await ModelInstance.load(label, modelPath, OPTIONS);
  const input = new Float32Array(512).fill(0.5);
  await instance.run([{ name: 'input', datatype: 'FP32', shape: [1, 512], data: input }], ['output']);
  await instance.close();
  (globalThis as { gc?: () => void }).gc?.();
  samples.push(await residentBytes());
}
process.stdout.write(`${JSON.stringify(samples)}\n`);
