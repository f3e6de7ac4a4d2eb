// Errors of the Files and Batch APIs name the offending parameter and an OpenAI-style error code;
// they are answered in OpenAI's error body by the shared handler (protocols/common/error-handler.ts).

import { InferdError } from '../errors/index.js';

export function badRequest(message: string, param?: string, apiCode = 'invalid_request'): InferdError {
  return new InferdError('INF_ERR_INVALID_ARGUMENT', message, { param: param ?? null, apiCode });
}

export function notFound(what: 'file' | 'batch', id: string, param: string): InferdError {
  return new InferdError('INF_ERR_NOT_FOUND', `No such ${what}: '${id}'`, { param, apiCode: `${what}_not_found` });
}

/** The 413 of an upload over --max-batch-file-size (a file part or the whole multipart body). */
export function fileTooLarge(message: string): InferdError {
  return new InferdError('INF_ERR_BODY_TOO_LARGE', message, { param: 'file', apiCode: 'file_too_large' });
}
