// The sequence batcher's data work: one execution's inputs built from the rows it runs (the
// client's inputs, each sequence's state, the control values), and each row's outputs taken back
// apart: the client's outputs, and the state outputs that become the sequence's next state.

import { InferdError } from '../errors/index.js';
import type { ResolvedSequenceBatching } from '../config/resolved-model-config.js';
import type { Datatype, TensorData } from '../tensor/datatype.js';
import {
  allocData,
  bytesElements,
  copyElements,
  elementCount,
  fixedElements,
  makeTensor,
  type Tensor,
} from '../tensor/tensor.js';
import type { InferRequest } from '../core/infer-request.js';

const utf8 = new TextEncoder();

/** Storage for `count` elements, all zero (BYTES: empty strings). */
export function zeroData(datatype: Datatype, count: number): TensorData {
  if (datatype === 'BYTES') return Array.from({ length: count }, () => new Uint8Array(0));
  return allocData(datatype, count);
}

/** A sequence's state, as `initial_state { zero_data: true }` gives it. */
export function zeroStates(spec: ResolvedSequenceBatching): Tensor[] {
  return spec.states.map((s) =>
    makeTensor(s.inputName, s.datatype, [...s.dims], zeroData(s.datatype, elementCount(s.dims))),
  );
}

/** What one row of an execution carries. */
export interface SequenceRow {
  readonly request: InferRequest;
  /** START: the row's state is the initial state and the START control is true. */
  readonly start: boolean;
  readonly end: boolean;
  /** The sequence's state tensors in `spec.states` order (one sequence's shape, no batch dimension). */
  readonly states: readonly Tensor[];
}

/**
 * The inputs of one execution. `rows[i]` is batch row i; an undefined row (the direct strategy's
 * idle slots) gets zero inputs, zero state and READY false. With maxBatchSize 0 there is one row
 * and tensors keep their own shapes. Every tensor gets fresh storage: instances may transfer
 * (detach) their inputs, and a sequence's state must survive a failed run.
 */
export function assembleInputs(
  spec: ResolvedSequenceBatching,
  maxBatchSize: number,
  rows: readonly (SequenceRow | undefined)[],
): Tensor[] {
  const template = rows.find((r) => r !== undefined);
  if (template === undefined) return [];
  const batched = maxBatchSize > 0;
  const n = rows.length;
  const inputs: Tensor[] = [];
  const gather = (
    name: string,
    datatype: Datatype,
    rowShape: readonly number[],
    pick: (row: SequenceRow) => Tensor,
  ) => {
    const per = elementCount(rowShape);
    const shape = batched ? [n, ...rowShape] : [...rowShape];
    const data = zeroData(datatype, per * n);
    rows.forEach((row, i) => {
      if (row === undefined) return;
      const source = pick(row);
      if (Array.isArray(data)) {
        const strings = bytesElements(source);
        for (let j = 0; j < per; j++) data[i * per + j] = strings[j] ?? new Uint8Array(0);
      } else {
        // Source and target share the datatype, hence the array type.
        copyElements(data, i * per, fixedElements(source), 0, per);
      }
    });
    inputs.push(makeTensor(name, datatype, shape, data));
  };

  for (const t of template.request.inputs) {
    const rowShape = batched ? t.shape.slice(1) : t.shape;
    gather(t.name, t.datatype, rowShape, (row) => inputOf(row.request, t.name));
  }
  spec.states.forEach((s, k) => {
    gather(s.inputName, s.datatype, s.dims, (row) => {
      const state = row.states[k];
      if (state === undefined) throw new InferdError('INF_ERR_INTERNAL', `sequence has no state '${s.inputName}'`);
      return state;
    });
  });
  for (const c of spec.controls) {
    const shape = batched ? [n, ...c.dims] : [...c.dims];
    const data = zeroData(c.datatype, n);
    rows.forEach((row, i) => {
      if (c.kind === 'CORRID') {
        if (row !== undefined) setCorrelationId(data, i, row.request);
        return;
      }
      // Idle rows (undefined) hold the false value of every flag, READY included.
      const on = row !== undefined && (c.kind === 'READY' || (c.kind === 'START' ? row.start : row.end));
      const value = c.falseTrue[on ? 1 : 0];
      data[i] = value;
    });
    inputs.push(makeTensor(c.name, c.datatype, shape, data));
  }
  return inputs;
}

function inputOf(request: InferRequest, name: string): Tensor {
  const t = request.inputs.find((i) => i.name === name);
  if (t === undefined) throw new InferdError('INF_ERR_INTERNAL', `batched request lacks input '${name}'`);
  return t;
}

/** Writes the request's correlation id into element `i` of a CORRID tensor (types checked on arrival). */
function setCorrelationId(data: TensorData, i: number, request: InferRequest): void {
  const id = request.sequence?.id ?? 0n;
  if (Array.isArray(data)) data[i] = utf8.encode(String(id));
  else if (data instanceof BigUint64Array) data[i] = BigInt.asUintN(64, BigInt(id));
  else if (data instanceof BigInt64Array) data[i] = BigInt.asIntN(64, BigInt(id));
  else data[i] = Number(id);
}

/** One row's share of an execution's outputs. */
export interface RowOutputs {
  /** The outputs the client asked for, in order; batched ones as views of shape [1, ...]. */
  readonly outputs: Tensor[];
  /** The next state, in `spec.states` order (own copies, without the batch dimension). */
  readonly states: Tensor[];
}

/**
 * Takes row `row` of every output. State outputs must have the configured shape; anything else is
 * the model contradicting its config, reported as a runtime error naming the output.
 */
export function rowOutputs(
  spec: ResolvedSequenceBatching,
  maxBatchSize: number,
  outputs: readonly Tensor[],
  batchRows: number,
  row: number,
): RowOutputs {
  const batched = maxBatchSize > 0;
  const slice = (t: Tensor): { shape: number[]; data: TensorData } => {
    if (!batched) return { shape: [...t.shape], data: t.data };
    if (t.shape[0] !== batchRows) {
      throw new InferdError(
        'INF_ERR_RUNTIME',
        `output '${t.name}' has shape [${t.shape.join(',')}]; a batched model must return the batch of ${batchRows} first`,
      );
    }
    const per = elementCount(t.shape.slice(1));
    const data =
      t.datatype === 'BYTES' ? t.data.slice(row * per, (row + 1) * per) : t.data.subarray(row * per, (row + 1) * per);
    return { shape: [1, ...t.shape.slice(1)], data };
  };
  const stateNames = new Set(spec.states.map((s) => s.outputName));
  const clientOutputs: Tensor[] = [];
  for (const t of outputs) {
    if (stateNames.has(t.name)) continue;
    const part = slice(t);
    clientOutputs.push(makeTensor(t.name, t.datatype, part.shape, part.data));
  }
  const states = spec.states.map((s) => {
    const out = outputs.find((t) => t.name === s.outputName);
    if (out === undefined) throw new InferdError('INF_ERR_RUNTIME', `model produced no state output '${s.outputName}'`);
    const part = slice(out);
    const shape = batched ? part.shape.slice(1) : part.shape;
    if (out.datatype !== s.datatype || shape.length !== s.dims.length || shape.some((d, j) => d !== s.dims[j])) {
      throw new InferdError(
        'INF_ERR_RUNTIME',
        `state output '${s.outputName}' is ${out.datatype} [${shape.join(',')}] per sequence, but sequence_batching.state says ${s.datatype} [${s.dims.join(',')}]`,
      );
    }
    // A copy, so the state does not keep a whole batched output alive.
    return makeTensor(s.inputName, s.datatype, shape, part.data.slice());
  });
  return { outputs: clientOutputs, states };
}
