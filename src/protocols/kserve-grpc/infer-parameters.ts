// InferParameter (a oneof of bool, int64, string, double, uint64) to the plain values the shared
// request-parameter checks take: int64/uint64 become bigint, so a uint64 sequence_id survives
// exactly and "priority" or "timeout" get the same messages as over REST.

import type { ParameterValue } from '../../core/request-parameters.js';
import { invalidArgument } from '../../errors/index.js';
import type { InferParameter, ParameterMap } from './wire-types.js';

export function parameterValue(name: string, p: InferParameter): ParameterValue {
  switch (p.parameter_choice) {
    case 'bool_param':
      return p.bool_param ?? false;
    case 'int64_param':
      return BigInt(p.int64_param ?? '0');
    case 'uint64_param':
      return BigInt(p.uint64_param ?? '0');
    case 'string_param':
      return p.string_param ?? '';
    case 'double_param':
      return p.double_param ?? 0;
    default:
      throw invalidArgument(`parameter "${name}" has no value (no member of InferParameter is set)`);
  }
}

/** A parameter map as plain values. */
export function plainParameters(map: ParameterMap): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const [name, p] of Object.entries(map)) out[name] = parameterValue(name, p);
  return out;
}

/**
 * The request's sequence id as text, without validating anything; used to keep a stream's
 * responses of one sequence in order even when the request itself is refused. As in the
 * scheduler, int64_param 7 and uint64_param 7 name one sequence, string_param "7" another.
 */
export function peekSequenceId(map: ParameterMap): string | undefined {
  const p = map.sequence_id;
  if (p === undefined) return undefined;
  const number = p.uint64_param ?? p.int64_param;
  if (number !== undefined) return number === '0' ? undefined : `n:${number}`;
  return p.string_param === undefined || p.string_param === '' ? undefined : `s:${p.string_param}`;
}
