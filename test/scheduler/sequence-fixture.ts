// Builds a SequenceBatcher over real instances of a stateful test model, its config resolved
// exactly as the repository resolves it, with fresh stats; and requests for the accumulators.

import path from 'node:path';
import type { InferRequest } from '../../src/core/infer-request.js';
import type { ResolvedModelConfig } from '../../src/config/resolved-model-config.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelStats } from '../../src/observability/model-stats.js';
import { readModelConfig } from '../../src/config/model-config-file.js';
import { resolveModelConfig } from '../../src/config/model-config-resolver.js';
import { scanModelFolder } from '../../src/repository/repository-scanner.js';
import { InlineInstance, ModelInstance, type Instance } from '../../src/runtime/index.js';
import { SequenceBatcher } from '../../src/scheduler/sequence-batcher.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { ExampleFile } from '../../tools/examples/example-models.js';
import { makeRepository, removeRepository } from '../helpers/test-server.js';

export interface SequenceFixture {
  readonly scheduler: SequenceBatcher;
  readonly stats: ModelStats;
  readonly config: ResolvedModelConfig;
  close(): Promise<void>;
}

const SESSION = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
} as const;

export async function sequenceFixture(
  files: readonly ExampleFile[],
  name: string,
  options: { instances?: number; inline?: boolean } = {},
): Promise<SequenceFixture> {
  const dir = await makeRepository(files);
  const folder = await scanModelFolder(dir, name);
  if (folder === undefined) throw new Error(`no model folder ${name}`);
  const parsed = await readModelConfig(folder);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const modelPath = path.join(dir, name, '1', 'model.onnx');
  const loaded = await Promise.all(
    Array.from({ length: options.instances ?? 1 }, (_, i) =>
      options.inline === true
        ? InlineInstance.load(`${name}#${i}`, modelPath, SESSION)
        : ModelInstance.load(`${name}#${i}`, modelPath, SESSION),
    ),
  );
  const first = loaded[0];
  if (first === undefined) throw new Error('no instance');
  const resolved = resolveModelConfig(folder, parsed.value, first.metadata);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues));
  const config = resolved.value;
  const spec = config.sequenceBatching;
  if (spec === undefined) throw new Error('the model has no sequence_batching');
  const instances: Instance[] = loaded.map((l) => l.instance);
  const stats = new ModelStats(name, '1', new Metrics());
  const scheduler = new SequenceBatcher(instances, stats, {
    spec,
    maxBatchSize: config.maxBatchSize,
    maxQueueSize: config.queuePolicy.maxQueueSize,
    defaultTimeoutUs: config.queuePolicy.defaultTimeoutMicroseconds,
  });
  return {
    scheduler,
    stats,
    config,
    async close() {
      await scheduler.drain();
      await Promise.all(instances.map((i) => i.close()));
      await removeRepository(dir);
    },
  };
}

/** One request of an accumulator sequence adding `value` (batched: shape [1,1]; unbatched: [1]). */
export function step(
  id: bigint | string,
  value: number,
  flags: { start?: boolean; end?: boolean; batched?: boolean } & Partial<InferRequest> = {},
): InferRequest {
  const { start = false, end = false, batched = true, ...extra } = flags;
  return {
    requestId: `${String(id)}:${value}`,
    inputs: [{ name: 'INPUT', datatype: 'INT32', shape: batched ? [1, 1] : [1], data: Int32Array.of(value) }],
    outputNames: batched
      ? ['SUM', 'START_OUT', 'READY_OUT', 'END_OUT', 'CORRID_OUT']
      : ['SUM', 'START_OUT', 'CORRID_OUT'],
    batchSize: 1,
    priority: 0,
    timeoutUs: 0,
    arrivalNs: process.hrtime.bigint(),
    sequence: { id, start, end },
    ...extra,
  };
}

/** The first element of an output, as a number (bigint outputs converted). */
export function scalar(outputs: readonly Tensor[], name: string): number | string {
  const t = outputs.find((o) => o.name === name);
  if (t === undefined) throw new Error(`no output ${name}`);
  const v = (t.data as ArrayLike<unknown>)[0];
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return typeof v === 'bigint' ? Number(v) : (v as number);
}
