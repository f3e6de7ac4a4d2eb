// Shared pieces of the batch tests: a model loaded the way `inferd batch run` loads it, input
// tables written with DuckDB, outputs read back with DuckDB, and a scratch folder.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runBatchJob, type BatchJobOptions, type BatchSummary } from '../../src/batch/batch-job.js';
import { resolveInput } from '../../src/batch/input-files.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { ModelRepository } from '../../src/repository/model-repository.js';
import type { TensorServingVersion } from '../../src/model-kinds/model-version.js';
import type { InferRequest, InferResult } from '../../src/core/infer-request.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import { GraphBuilder } from '../../tools/onnx/onnx-builder.js';
import type { ExampleFile } from '../../tools/examples/example-models.js';
import { requireKind } from '../../src/model-kinds/serving-kinds.js';

export const EXAMPLES = path.resolve(import.meta.dirname, '../../examples/models');

/** Four Iris measurements per flower and the species the example model predicts for it. */
export const FLOWERS = [
  { id: 'f1', m: [5.1, 3.5, 1.4, 0.2], species: 'setosa' },
  { id: 'f2', m: [6.7, 3.0, 5.2, 2.3], species: 'virginica' },
  { id: 'f3', m: [5.7, 2.8, 4.1, 1.3], species: 'versicolor' },
  { id: 'f4', m: [4.9, 3.0, 1.4, 0.2], species: 'setosa' },
  { id: 'f5', m: [6.3, 3.3, 6.0, 2.5], species: 'virginica' },
] as const;

export const MEASUREMENTS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;

export async function scratch(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'inferd-batch-'));
}

export async function removeScratch(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface LoadedModel {
  readonly repository: ModelRepository;
  readonly version: TensorServingVersion;
  close(): Promise<void>;
}

export async function loadModel(repo: string, name: string): Promise<LoadedModel> {
  const repository = new ModelRepository({
    path: repo,
    controlMode: 'explicit',
    loadModels: [name],
    pollSeconds: 60,
    cpuCores: 2,
    metrics: new Metrics(),
    logger: createLogger('silent'),
  });
  await repository.start();
  return { repository, version: requireKind(repository.resolve(name), 'v2 infer'), close: () => repository.close() };
}

/** Runs a job on a loaded model with test-friendly defaults. */
/** The loaded model with its scheduler's infer replaced by `infer`, which gets the real one to call. */
export function withInfer(
  loaded: LoadedModel,
  infer: (request: InferRequest, real: (request: InferRequest) => Promise<InferResult>) => Promise<InferResult>,
): LoadedModel {
  const v = loaded.version;
  const scheduler: Scheduler = {
    get pending() {
      return v.scheduler.pending;
    },
    load: () => v.scheduler.load(),
    drain: () => v.scheduler.drain(),
    infer: (request) => infer(request, (r) => v.scheduler.infer(r)),
  };
  return { ...loaded, version: { ...v, scheduler } };
}

export async function runJob(
  model: LoadedModel,
  input: string,
  output: string,
  options: Partial<Omit<BatchJobOptions, 'model' | 'input' | 'output'>> = {},
): Promise<BatchSummary> {
  const ext = path.extname(output).slice(1);
  return runBatchJob({
    model: model.version,
    input: await resolveInput(input),
    output,
    outputFormat: ext === 'parquet' ? 'parquet' : ext === 'csv' ? 'csv' : 'jsonl',
    mapping: {},
    maxErrors: 1000,
    checkpointRows: 1000,
    overwrite: false,
    ...options,
  });
}

/** Runs SQL on a fresh in-memory DuckDB and returns the rows as JS objects. */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Reads any output format back with DuckDB, ordered by row. */
export async function readTable(file: string): Promise<Record<string, unknown>[]> {
  const ext = path.extname(file);
  const reader =
    ext === '.parquet'
      ? `read_parquet('${file}')`
      : ext === '.csv'
        ? `read_csv('${file}', header=true)`
        : `read_json('${file}', format='newline_delimited')`;
  return query(`SELECT * FROM ${reader} ORDER BY row`);
}

export async function writeJsonLines(file: string, rows: readonly unknown[]): Promise<void> {
  await writeFile(file, rows.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join(''));
}

/** The flowers as JSON lines with one measurement per column. */
export function flowerRows(): Record<string, unknown>[] {
  return FLOWERS.map((f) => ({ id: f.id, ...Object.fromEntries(MEASUREMENTS.map((m, i) => [m, f.m[i]])) }));
}

/** The flowers in every input format: {jsonl, csv, parquet} paths, one measurement per column. */
export async function writeFlowers(dir: string): Promise<{ jsonl: string; csv: string; parquet: string }> {
  const jsonl = path.join(dir, 'flowers.jsonl');
  await writeJsonLines(jsonl, flowerRows());
  const csv = path.join(dir, 'flowers.csv');
  const parquet = path.join(dir, 'flowers.parquet');
  await query(`COPY (SELECT * FROM read_json('${jsonl}')) TO '${csv}' (HEADER)`);
  await query(`COPY (SELECT * FROM read_json('${jsonl}')) TO '${parquet}' (FORMAT parquet)`);
  return { jsonl, csv, parquet };
}

/**
 * A model whose execution fails for some rows: Gather from a 4-element table by the row's INT64
 * index, so an index of 4 or more makes the whole batch's run fail.
 */
export function gatherModel(name = 'lookup'): ExampleFile[] {
  const onnx = new GraphBuilder(name)
    .input('index', 'INT64', [-1, 1])
    .initializer('table', 'FP32', [4], Float32Array.from([10, 20, 30, 40]))
    .node('Gather', ['table', 'index'], ['value'], { axis: 0 })
    .output('value', 'FP32', [-1, 1])
    .toBytes({ opset: 17, irVersion: 8 });
  return [
    { path: `${name}/1/model.onnx`, bytes: onnx },
    {
      path: `${name}/config.yaml`,
      bytes: `max_batch_size: 16
input:
  - { name: index, data_type: TYPE_INT64, dims: [1] }
output:
  - { name: value, data_type: TYPE_FP32, dims: [1] }
`,
    },
  ];
}
