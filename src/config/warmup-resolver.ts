// Checks a config's model_warmup (Triton's ModelWarmup samples) against the resolved inputs:
// every input the model takes from clients named once with its type and a shape that fits, a
// batch size the model takes, and data files named inside the model folder's `warmup/` directory
// (Triton's convention). Whether a file exists and has the right size is read later, with the
// data (warmup-data.ts).

import path from 'node:path';
import { shapeText, type ConfigIssue } from './config-issues.js';
import type { ModelTask, WarmupSampleConfig } from './model-config-schema.js';
import type {
  ResolvedSequenceBatching,
  ResolvedTensorConfig,
  ResolvedWarmupInput,
  ResolvedWarmupSample,
  WarmupDataSource,
} from './resolved-model-config.js';
import { ELEMENT_SIZE, configTypeName, datatypeFromConfigName } from '../tensor/datatype.js';

/** The folder, inside the model folder, that warmup data files are read from (as in Triton). */
export const WARMUP_DIR = 'warmup';

/** Largest warmup input, in bytes for its whole batch: a sample is a request, not a data set. */
const MAX_WARMUP_INPUT_BYTES = 1 << 30;

export interface WarmupContext {
  /** The config file, for issues. */
  readonly file: string;
  /** The model folder (the data files are under its `warmup/`). */
  readonly modelDir: string;
  readonly task: ModelTask;
  readonly maxBatchSize: number;
  readonly inputs: readonly ResolvedTensorConfig[];
  readonly sequenceBatching?: ResolvedSequenceBatching;
}

/** The resolved samples; problems are pushed on `issues`, each naming the field and the sample. */
export function resolveWarmup(
  samples: readonly WarmupSampleConfig[] | undefined,
  ctx: WarmupContext,
  issues: ConfigIssue[],
): ResolvedWarmupSample[] {
  if (samples === undefined || samples.length === 0) return [];
  const issue = (field: string, reason: string) => issues.push({ file: ctx.file, field, reason });
  if (ctx.task === 'text-generation') {
    issue(
      'model_warmup',
      'is not supported for task: text-generation: its decoder is fed by the generation engine, not by tensor requests; remove it',
    );
    return [];
  }
  // A stateful model's control and state inputs: a sample may name them (Triton's warmup lists
  // them), and the server fills them.
  const serverFed = new Map<string, ResolvedTensorConfig>();
  for (const c of ctx.sequenceBatching?.controls ?? [])
    serverFed.set(c.name, { name: c.name, datatype: c.datatype, dims: c.dims });
  for (const s of ctx.sequenceBatching?.states ?? [])
    serverFed.set(s.inputName, { name: s.inputName, datatype: s.datatype, dims: s.dims });
  const warmupDir = path.resolve(ctx.modelDir, WARMUP_DIR);
  const seen = new Set<string>();
  const out: ResolvedWarmupSample[] = [];

  samples.forEach((sample, i) => {
    const at = `model_warmup[${i}]`;
    const what = `sample '${sample.name}'`;
    const before = issues.length;
    if (seen.has(sample.name))
      issue(`${at}.name`, `'${sample.name}' is the name of an earlier sample; give each its own`);
    seen.add(sample.name);
    if (ctx.maxBatchSize === 0 && sample.batch_size !== 1)
      issue(`${at}.batch_size`, `${what}: is ${sample.batch_size}, but the model has no batch dimension; use 1`);
    else if (ctx.maxBatchSize > 0 && sample.batch_size > ctx.maxBatchSize)
      issue(`${at}.batch_size`, `${what}: is ${sample.batch_size}, over max_batch_size ${ctx.maxBatchSize}`);

    const inputs: ResolvedWarmupInput[] = [];
    for (const [name, given] of Object.entries(sample.inputs)) {
      const iat = `${at}.inputs.${name}`;
      const model = ctx.inputs.find((t) => t.name === name) ?? serverFed.get(name);
      if (model === undefined) {
        issue(
          iat,
          `${what}: the model has no input '${name}'; it has ${ctx.inputs.map((t) => `'${t.name}'`).join(', ')}`,
        );
        continue;
      }
      const datatype = datatypeFromConfigName(given.data_type) ?? model.datatype;
      if (datatype !== model.datatype)
        issue(
          `${iat}.data_type`,
          `${what}: is ${given.data_type}, but the model's input '${name}' is ${configTypeName(model.datatype)}`,
        );
      const fits =
        given.dims.length === model.dims.length && model.dims.every((d, j) => d === -1 || given.dims[j] === d);
      if (!fits)
        issue(
          `${iat}.dims`,
          `${what}: is ${shapeText(given.dims)}, but the model's input '${name}' has ${shapeText(model.dims)}${ctx.maxBatchSize > 0 ? ' after the batch dimension' : ''}`,
        );
      const elements = given.dims.reduce((a, b) => a * b, 1) * sample.batch_size;
      const size = datatype === 'BYTES' ? 4 : ELEMENT_SIZE[datatype];
      if (elements * size > MAX_WARMUP_INPUT_BYTES)
        issue(`${iat}.dims`, `${what}: ${shapeText(given.dims)} × batch_size ${sample.batch_size} is over 1 GiB`);
      let source: WarmupDataSource;
      if (given.input_data_file !== undefined) {
        const full = path.resolve(warmupDir, given.input_data_file);
        if (!full.startsWith(warmupDir + path.sep))
          issue(
            `${iat}.input_data_file`,
            `${what}: '${given.input_data_file}' must name a file inside the model folder's ${WARMUP_DIR}/ directory`,
          );
        source = { kind: 'file', file: given.input_data_file };
      } else source = given.random_data === true ? { kind: 'random' } : { kind: 'zero' };
      inputs.push({ name, datatype, dims: [...given.dims], source });
    }
    for (const t of ctx.inputs)
      if (!(t.name in sample.inputs)) issue(`${at}.inputs`, `${what}: lacks the model's input '${t.name}'`);
    if (issues.length > before) return;
    out.push({
      name: sample.name,
      batchSize: sample.batch_size,
      count: sample.count,
      runs: Math.max(1, sample.count),
      inputs,
    });
  });
  return out;
}

/** Where a warmup input's data file is read from. */
export function warmupFilePath(modelDir: string, file: string): string {
  return path.resolve(modelDir, WARMUP_DIR, file);
}
