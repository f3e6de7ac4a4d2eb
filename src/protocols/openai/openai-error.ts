// Validation errors of the OpenAI-compatible edge name the offending field (OpenAI's "param");
// the body they are answered with is written by errors/error-reply.ts.

import { InferdError } from '../../errors/index.js';

/** A 400 invalid_request_error naming the field. */
export function invalidField(param: string | null, message: string, apiCode: string | null = null): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message, { param, apiCode });
}
