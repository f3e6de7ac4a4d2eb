// Turns one predict-family call and its model's configuration into the plan of the DuckDB function
// that serves it: which SQL argument feeds which input tensor, the parameter types DuckDB casts
// the arguments to, and the return type. Every arity, width and type mismatch that can be seen
// before the query runs is refused here, with a message naming the function, model and argument.

import type { ResolvedModelConfig, ResolvedTensorConfig } from '../config/resolved-model-config.js';
import { invalidArgument } from '../errors/index.js';
import type { Datatype } from '../tensor/datatype.js';
import type { PredictCall, PredictKind } from './predict-calls.js';

/** DuckDB type names the worker knows how to build (see sql-types.ts). */
export type SqlScalarType =
  | 'BOOLEAN'
  | 'TINYINT'
  | 'SMALLINT'
  | 'INTEGER'
  | 'BIGINT'
  | 'UTINYINT'
  | 'USMALLINT'
  | 'UINTEGER'
  | 'UBIGINT'
  | 'FLOAT'
  | 'DOUBLE'
  | 'VARCHAR';

export interface SqlType {
  readonly base: SqlScalarType;
  readonly list: boolean;
}

export interface InputPlan {
  readonly name: string;
  readonly datatype: Datatype;
  /** Shape of one row (the config dims); a -1 is filled from the LIST length. */
  readonly dims: readonly number[];
  /** Values per row, or -1 when a dimension is dynamic. */
  readonly width: number;
}

export interface PredictFunctionSpec {
  /** The name registered in DuckDB (the SQL text is rewritten to call it). */
  readonly name: string;
  /** How the user wrote it, for messages: predict('iris'). */
  readonly display: string;
  readonly kind: PredictKind;
  readonly model: string;
  readonly version: number;
  /** 'columns': each argument is one value of the single input's row; 'tensors': argument i is input i. */
  readonly mapping: 'columns' | 'tensors';
  readonly inputs: readonly InputPlan[];
  readonly argCount: number;
  readonly output: { readonly name: string; readonly datatype: Datatype; readonly width: number };
  /** Class labels for predict_label. */
  readonly labels: readonly string[] | undefined;
  /** Rows per execution: the model's max_batch_size, or 0 when it does not batch (one row each). */
  readonly maxBatchSize: number;
  /** One or more overloads; DuckDB picks the cheapest implicit cast. */
  readonly parameterTypes: readonly (readonly SqlType[])[];
  readonly returnType: SqlType;
}

function baseTypeOf(datatype: Datatype): SqlScalarType {
  switch (datatype) {
    case 'BOOL':
      return 'BOOLEAN';
    case 'INT8':
      return 'TINYINT';
    case 'INT16':
      return 'SMALLINT';
    case 'INT32':
      return 'INTEGER';
    case 'INT64':
      return 'BIGINT';
    case 'UINT8':
      return 'UTINYINT';
    case 'UINT16':
      return 'USMALLINT';
    case 'UINT32':
      return 'UINTEGER';
    case 'UINT64':
      return 'UBIGINT';
    case 'FP16':
    case 'BF16':
    case 'FP32':
      return 'FLOAT';
    case 'FP64':
      return 'DOUBLE';
    case 'BYTES':
      return 'VARCHAR';
  }
}

/**
 * The parameter type an argument feeding `datatype` is declared with. Scalars are declared wide
 * (DOUBLE, BIGINT) because DuckDB casts implicitly only upwards: a DOUBLE column would not match a
 * FLOAT parameter. Floating-point lists get a FLOAT[] overload besides DOUBLE[] so FLOAT[n]
 * feature columns are not widened and narrowed again.
 */
function parameterType(datatype: Datatype, list: boolean, narrowFloats: boolean): SqlType {
  const base = baseTypeOf(datatype);
  if (base === 'FLOAT' || base === 'DOUBLE') return { base: list && narrowFloats ? 'FLOAT' : 'DOUBLE', list };
  if (base === 'BOOLEAN' || base === 'VARCHAR' || base === 'UBIGINT') return { base, list };
  return { base: 'BIGINT', list };
}

function widthOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function pickOutput(call: PredictCall, config: ResolvedModelConfig, display: string): ResolvedTensorConfig {
  if (call.kind === 'predict_output') {
    const out = config.outputs.find((o) => o.name === call.output);
    if (out === undefined) {
      throw invalidArgument(
        `${display}: model '${config.name}' has no output '${call.output ?? ''}'; it has ${config.outputs.map((o) => `'${o.name}'`).join(', ')}`,
      );
    }
    return out;
  }
  const first = config.outputs[0];
  if (first === undefined) throw invalidArgument(`${display}: model '${config.name}' has no outputs`);
  return first;
}

export interface ModelForSql {
  readonly config: ResolvedModelConfig;
  readonly version: number;
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

export function planPredictFunction(call: PredictCall, model: ModelForSql, name: string): PredictFunctionSpec {
  const { config } = model;
  const display =
    call.kind === 'predict_output'
      ? `${call.kind}('${call.model}', '${call.output ?? ''}')`
      : `${call.kind}('${call.model}')`;
  const inputs: InputPlan[] = config.inputs.map((i) => ({
    name: i.name,
    datatype: i.datatype,
    dims: i.dims,
    width: widthOf(i.dims),
  }));
  const n = call.argCount;
  const describeInputs = inputs
    .map(
      (i) =>
        `'${i.name}' (${i.datatype}, ${i.width < 0 ? 'a variable number of' : i.width} value${i.width === 1 ? '' : 's'} per row)`,
    )
    .join(', ');

  let mapping: 'columns' | 'tensors';
  const only = inputs.length === 1 ? inputs[0] : undefined;
  if (only !== undefined && only.width === n && n >= 1) mapping = 'columns';
  else if (n === inputs.length) mapping = 'tensors';
  else if (only !== undefined) {
    const w = only.width;
    throw invalidArgument(
      `${display}: ${plural(n, 'argument')} after the model name, but model '${config.name}' input ${describeInputs} ` +
        (w < 0 ? 'takes one LIST/ARRAY argument' : `takes ${w} numeric arguments or one LIST/ARRAY of ${w}`),
    );
  } else {
    throw invalidArgument(
      `${display}: ${plural(n, 'argument')} after the model name, but model '${config.name}' has ${inputs.length} inputs, one argument each, in order: ${describeInputs}`,
    );
  }

  for (const [k, input] of inputs.entries()) {
    if (input.datatype === 'BYTES' && input.width !== 1) {
      throw invalidArgument(
        `${display}: argument ${k + 2} feeds input '${input.name}', a BYTES tensor of ${input.width < 0 ? 'variable' : input.width} elements per row; only one string per row is supported`,
      );
    }
    if (input.dims.filter((d) => d < 0).length > 1) {
      throw invalidArgument(
        `${display}: input '${input.name}' of model '${config.name}' has more than one variable dimension ${JSON.stringify(input.dims)}; SQL can only fill one from a LIST length`,
      );
    }
  }

  const listFlags = mapping === 'columns' ? new Array<boolean>(n).fill(false) : inputs.map((i) => i.width !== 1);
  const argDatatypes =
    mapping === 'columns' ? new Array<Datatype>(n).fill(only?.datatype ?? 'FP32') : inputs.map((i) => i.datatype);
  const overload = (narrow: boolean): SqlType[] =>
    argDatatypes.map((d, k) => parameterType(d, listFlags[k] ?? false, narrow));
  const wide = overload(false);
  const narrow = overload(true);
  const parameterTypes = narrow.some((t, k) => t.base !== wide[k]?.base) ? [narrow, wide] : [wide];

  const out = pickOutput(call, config, display);
  const outWidth = widthOf(out.dims);
  let labels: readonly string[] | undefined;
  let returnType: SqlType;
  if (call.kind === 'predict_label') {
    const withLabels = config.outputs.find((o) => model.labels.has(o.name));
    labels = withLabels === undefined ? undefined : model.labels.get(withLabels.name);
    if (withLabels === undefined || labels === undefined) {
      throw invalidArgument(
        `${display}: model '${config.name}' has no labels file (label_filename in config.yaml) on any output`,
      );
    }
    returnType = { base: 'VARCHAR', list: false };
    return {
      name,
      display,
      kind: call.kind,
      model: config.name,
      version: model.version,
      mapping,
      inputs,
      argCount: n,
      output: { name: withLabels.name, datatype: withLabels.datatype, width: widthOf(withLabels.dims) },
      labels,
      maxBatchSize: config.maxBatchSize,
      parameterTypes,
      returnType,
    };
  }
  returnType = { base: baseTypeOf(out.datatype), list: outWidth !== 1 };
  return {
    name,
    display,
    kind: call.kind,
    model: config.name,
    version: model.version,
    mapping,
    inputs,
    argCount: n,
    output: { name: out.name, datatype: out.datatype, width: outWidth },
    labels,
    maxBatchSize: config.maxBatchSize,
    parameterTypes,
    returnType,
  };
}

export function sqlTypeText(t: SqlType): string {
  return t.list ? `${t.base}[]` : t.base;
}
