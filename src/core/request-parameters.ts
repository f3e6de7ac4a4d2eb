// The reserved request parameters every protocol edge understands (KServe v2 / Triton):
// `priority`, `timeout` (µs), and the sequence batcher's `sequence_id`, `sequence_start` and
// `sequence_end`. Edges convert their wire form (JSON values, gRPC InferParameter) to plain
// values and this module checks them once, with the same messages everywhere.

import { InferdError, invalidArgument } from '../errors/index.js';
import type { SequenceControl } from './infer-request.js';
import { previewValue } from '../util/bounded-json.js';

/** A parameter value as an edge decoded it: JSON scalars, or a gRPC int64/uint64 as bigint. */
export type ParameterValue = string | number | boolean | bigint;

/** Priority levels run from 1 (highest) to this; 0 means the model's default level. */
export const MAX_PRIORITY_LEVEL = 255;

const MAX_UINT64 = (1n << 64n) - 1n;
/** Longest string correlation id accepted (it is kept in memory for the sequence's lifetime). */
export const MAX_SEQUENCE_ID_LENGTH = 256;

export interface RequestParameters {
  readonly priority: number;
  readonly timeoutUs: number;
  /** Present when the request names a sequence (a non-zero / non-empty `sequence_id`). */
  readonly sequence: SequenceControl | undefined;
  /** `routing_key`: keeps a caller on one variant of an experiment (experiments/). */
  readonly routingKey: string | undefined;
}

/** Longest routing key accepted. */
export const MAX_ROUTING_KEY_LENGTH = 256;

function routingKey(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'bigint'
        ? String(value)
        : undefined;
  if (text === undefined || text === '' || text.length > MAX_ROUTING_KEY_LENGTH)
    throw invalidArgument(
      `parameter "routing_key" must be a non-empty string or an integer of at most ${MAX_ROUTING_KEY_LENGTH} characters, got ${show(value)}`,
    );
  return text;
}

function show(v: unknown): string {
  return previewValue(v);
}

export function nonNegativeInt(value: unknown, what: string): number {
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a non-negative integer, got ${show(value)}`);
  }
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw invalidArgument(`parameter "${what}" must be true or false, got ${show(value)}`);
  return value;
}

/**
 * The sequence correlation id: an unsigned 64-bit integer or a string, as Triton takes it. 0 and
 * "" mean "no sequence". Integers are kept as bigint so uint64 ids survive exactly.
 */
function sequenceId(value: unknown): bigint | string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.length > MAX_SEQUENCE_ID_LENGTH) {
      throw invalidArgument(`parameter "sequence_id" is longer than ${MAX_SEQUENCE_ID_LENGTH} characters`);
    }
    return value === '' ? undefined : value;
  }
  let id: bigint | undefined;
  if (typeof value === 'bigint') id = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) id = BigInt(value);
  if (id === undefined || id < 0n || id > MAX_UINT64) {
    throw invalidArgument(`parameter "sequence_id" must be an unsigned 64-bit integer or a string, got ${show(value)}`);
  }
  return id === 0n ? undefined : id;
}

/** Checks the reserved parameters of one request; unknown parameters are left to the caller. */
/**
 * Triton's shared-memory extension names a registered region instead of sending the tensor;
 * inferd does not implement it (no region can be registered), so such a tensor is refused as
 * unsupported, saying what to send instead, rather than as a tensor without data.
 */
export function refuseSharedMemory(params: Readonly<Record<string, unknown>>, what: string): void {
  const region = params.shared_memory_region;
  if (region === undefined) return;
  throw new InferdError(
    'INF_ERR_UNSUPPORTED',
    `${what} names shared_memory_region ${previewValue(region)}: inferd does not implement Triton's shared-memory extension; send the tensor in the request (JSON "data", binary data, or raw_input_contents over gRPC), and leave outputs to come back in the answer`,
  );
}

export function parseRequestParameters(params: Readonly<Record<string, unknown>>): RequestParameters {
  const priority = params.priority === undefined ? 0 : nonNegativeInt(params.priority, 'parameter "priority"');
  if (priority > MAX_PRIORITY_LEVEL) {
    throw invalidArgument(
      `parameter "priority" must be 0 (the default level) to ${MAX_PRIORITY_LEVEL}, got ${priority}`,
    );
  }
  const timeoutUs =
    params.timeout === undefined ? 0 : nonNegativeInt(params.timeout, 'parameter "timeout" (microseconds)');
  const id = sequenceId(params.sequence_id);
  const start = flag(params.sequence_start, 'sequence_start');
  const end = flag(params.sequence_end, 'sequence_end');
  if (id === undefined && (start || end)) {
    throw invalidArgument('parameters "sequence_start" and "sequence_end" need a non-zero "sequence_id"');
  }
  return {
    priority,
    timeoutUs,
    sequence: id === undefined ? undefined : { id, start, end },
    routingKey: routingKey(params.routing_key),
  };
}

/** The id as logs and error messages show it. */
export function sequenceIdText(id: bigint | string): string {
  return typeof id === 'string' ? JSON.stringify(id) : id.toString();
}
