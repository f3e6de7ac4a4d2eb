// A temporary model repository for the dynamic batching benchmark: example models copied under
// new names with their own configs, plus a wide fp32 MLP built here with seeded weights.

import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GraphBuilder } from '../../tools/onnx/onnx-builder.js';
import { Prng } from '../../tools/train/prng.js';

export interface BenchModelConfig {
  readonly maxBatchSize: number;
  /** Present: dynamic batching with this max_queue_delay_microseconds. */
  readonly queueDelayUs?: number;
  readonly preferredBatchSizes?: readonly number[];
  /** dynamic_batching.adaptive: the queue delay becomes the cap of an adaptive wait. */
  readonly adaptive?: boolean;
  readonly inlineExecution?: boolean;
}

/** Where a served model's graph comes from: a model of the example repository, or built bytes. */
export type ModelSource = { readonly example: string } | { readonly bytes: Uint8Array };

export interface BenchModel {
  readonly name: string;
  readonly source: ModelSource;
  readonly config: BenchModelConfig;
}

export interface BatchingRepository {
  readonly dir: string;
  remove(): Promise<void>;
}

/** The config.yaml text for one served model. */
export function configText(config: BenchModelConfig): string {
  const lines = [`max_batch_size: ${config.maxBatchSize}`];
  if (config.queueDelayUs !== undefined) {
    const preferred = config.preferredBatchSizes ?? [];
    lines.push(
      `dynamic_batching: { max_queue_delay_microseconds: ${config.queueDelayUs}, ` +
        `preferred_batch_size: [${preferred.join(', ')}], adaptive: ${config.adaptive === true} }`,
    );
  }
  if (config.inlineExecution === true) lines.push('optimization: { inline_execution: true }');
  return `${lines.join('\n')}\n`;
}

export const WIDE_INPUT = 'input';
export const WIDE_OUTPUT = 'output';

/**
 * An fp32 MLP of `layers` square `width`×`width` layers (MatMul + bias, ReLU between layers),
 * input [-1, width] → output [-1, width]. Weights have variance 1/width so activations keep
 * their scale through the layers.
 */
export function wideMlpOnnx(width: number, layers: number, seed = 0x3d1de): Uint8Array {
  const prng = new Prng(seed);
  const builder = new GraphBuilder('wide_mlp').input(WIDE_INPUT, 'FP32', [-1, width]);
  let value = WIDE_INPUT;
  for (let l = 0; l < layers; l++) {
    const w = Float32Array.from(prng.scaledUniform(width * width, 1 / width));
    const b = Float32Array.from(prng.scaledUniform(width, 1 / width));
    const last = l === layers - 1;
    builder
      .initializer(`W${l}`, 'FP32', [width, width], w)
      .initializer(`B${l}`, 'FP32', [width], b)
      .node('MatMul', [value, `W${l}`], [`mm${l}`])
      .node('Add', [`mm${l}`, `B${l}`], [last ? WIDE_OUTPUT : `pre${l}`]);
    if (!last) builder.node('Relu', [`pre${l}`], [`act${l}`]);
    value = `act${l}`;
  }
  return builder.output(WIDE_OUTPUT, 'FP32', [-1, width]).toBytes({ opset: 17, irVersion: 8 });
}

/** Writes every model as `<dir>/<name>/1/model.onnx` with its config.yaml, under os.tmpdir(). */
export async function createBatchingRepository(
  examples: string,
  models: readonly BenchModel[],
): Promise<BatchingRepository> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-batching-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    for (const m of models) {
      const version = path.join(dir, m.name, '1');
      await mkdir(version, { recursive: true });
      const file = path.join(version, 'model.onnx');
      if ('example' in m.source) await copyFile(path.join(examples, m.source.example, '1', 'model.onnx'), file);
      else await writeFile(file, m.source.bytes);
      await writeFile(path.join(dir, m.name, 'config.yaml'), configText(m.config));
    }
  } catch (err) {
    await remove();
    throw err;
  }
  return { dir, remove };
}
