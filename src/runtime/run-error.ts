// Maps an onnxruntime run failure to the error taxonomy: inputs the graph refuses (shapes the
// config cannot express, such as two dynamic dimensions that must agree) are the client's error.

import { InferdError } from '../errors/index.js';

const CLIENT_FAULT = /INVALID_ARGUMENT|invalid dimensions|Unexpected input data type|invalid rank/i;

export function runError(message: string): InferdError {
  return CLIENT_FAULT.test(message)
    ? new InferdError('INF_ERR_INVALID_ARGUMENT', `the model refused the inputs: ${message}`)
    : new InferdError('INF_ERR_RUNTIME', `onnxruntime failed: ${message}`);
}
