// How a call names its routing key and how an answer names its variant, for every edge.

import type { ResolvedModelConfig } from '../config/resolved-model-config.js';
import { invalidArgument } from '../errors/index.js';
import { MAX_ROUTING_KEY_LENGTH } from '../core/request-parameters.js';

/** The header (gRPC metadata key) every answer routed by an experiment carries: the variant's name. */
export const VARIANT_HEADER = 'x-inferd-variant';

export function variantHeaderValue(routed: { readonly variant?: { readonly name: string } }): string | undefined {
  return routed.variant?.name;
}

/** A header's (or metadata entry's) value as a routing key; the first when repeated. */
export function routingKeyFrom(value: unknown, header: string): string | undefined {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  const text = Buffer.isBuffer(first) ? first.toString('utf8') : typeof first === 'string' ? first : undefined;
  if (text === undefined || text === '') return undefined;
  if (text.length > MAX_ROUTING_KEY_LENGTH)
    throw invalidArgument(`header '${header}' (the routing key) is longer than ${MAX_ROUTING_KEY_LENGTH} characters`);
  return text;
}

/** Whether a body decoded for one version is valid for another: the same inputs and batching. */
export function sameInputs(a: ResolvedModelConfig, b: ResolvedModelConfig): boolean {
  if (a.maxBatchSize !== b.maxBatchSize || a.inputs.length !== b.inputs.length) return false;
  return a.inputs.every((x, i) => {
    const y = b.inputs[i];
    return (
      y !== undefined &&
      x.name === y.name &&
      x.datatype === y.datatype &&
      x.dims.length === y.dims.length &&
      x.dims.every((d, j) => d === y.dims[j])
    );
  });
}

/**
 * The routing key a request's body carries: its `routing_key` parameter, else its sequence id, so
 * every request of a stateful sequence reaches the variant that holds the sequence's state.
 */
export function bodyRoutingKey(decoded: {
  readonly routingKey: string | undefined;
  readonly sequence: { readonly id: bigint | string } | undefined;
}): string | undefined {
  if (decoded.routingKey !== undefined) return decoded.routingKey;
  return decoded.sequence === undefined ? undefined : `sequence:${String(decoded.sequence.id)}`;
}
