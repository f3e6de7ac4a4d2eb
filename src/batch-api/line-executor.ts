// Runs one batch line as the REST edge runs a request (the same repository lookup, decoder,
// scheduler and encoder), so a line's response body is byte for byte what POSTing its body to its
// url would answer, but queued at the lowest priority level so real-time requests always go first.

import { MAX_PRIORITY_LEVEL } from '../core/request-parameters.js';
import { errorBody, InferdError, isTransient, toInferdError } from '../errors/index.js';
import { decodeInferBody } from '../core/infer-body-decoder.js';
import { encodeInferResponse, outputNamesFor } from '../core/infer-body-encoder.js';
import type { ModelRepository } from '../repository/model-repository.js';
import type { ModelVersion } from '../model-kinds/model-version.js';
import { requireKind } from '../model-kinds/serving-kinds.js';
import type { InferTarget, OpenAIBatchUrl } from './batch-endpoints.js';

/** Batch lines queue at the lowest level there is: every real-time request is served before them. */
export const BATCH_PRIORITY_LEVEL = MAX_PRIORITY_LEVEL;

export interface LineResponse {
  readonly statusCode: number;
  /** The response body as JSON text, exactly as the REST edge would send it. */
  readonly bodyJson: string;
}

/** The REST error body for a failed line ({"error": "..."}), as the REST edge's error handler writes it. */
export function errorResponse(err: InferdError, requestId: string): LineResponse {
  return { statusCode: err.httpStatus, bodyJson: errorBody(err, 'kserve', requestId) };
}

/**
 * Runs an OpenAI line (chat, completions, embeddings) as POSTing its body to its url would: the
 * body is OpenAI's object or error body; refusals (a full queue, a model loading) are thrown.
 * The server passes the OpenAI edge's runner, so the batch API holds no edge's internals.
 */
export type OpenAILineRunner = (
  url: OpenAIBatchUrl,
  body: unknown,
  context: { readonly requestId: string; readonly signal: AbortSignal },
) => Promise<LineResponse>;

export class LineExecutor {
  constructor(
    private readonly repository: ModelRepository,
    private readonly maxTensorBytes: number,
    private readonly openai: OpenAILineRunner,
  ) {}

  /** The model version a line targets; throws the REST error (404, 503...) when there is none. */
  resolve(target: InferTarget): ModelVersion {
    return this.repository.resolve(target.model, target.version);
  }

  /** Runs an OpenAI line through the runner the server gave (see OpenAILineRunner). */
  runOpenAI(url: OpenAIBatchUrl, body: unknown, requestId: string, signal: AbortSignal): Promise<LineResponse> {
    return this.openai(url, body, { requestId, signal });
  }

  /**
   * Runs the line. Resolves with a response for success and for errors that belong to the line
   * (a bad body: 400, a model error: 500); rejects with the InferdError when the refusal is
   * transient (errors/retry-policy.ts) or the run was cancelled through `signal`.
   */
  async run(version: ModelVersion, body: unknown, requestId: string, signal: AbortSignal): Promise<LineResponse> {
    try {
      const mv = requireKind(version, 'v2 infer');
      const decoded = decodeInferBody(mv.config, Buffer.from(JSON.stringify(body), 'utf8'), undefined, {
        maxTensorBytes: this.maxTensorBytes,
      });
      if (decoded.binaryOutputs || decoded.outputs?.some((o) => o.binary === true) === true) {
        throw new InferdError(
          'INF_ERR_INVALID_ARGUMENT',
          'binary tensor data cannot be carried in a JSONL batch output; remove "binary_data_output" and "binary_data"',
        );
      }
      if (decoded.sequence !== undefined) {
        // Lines run concurrently and in no fixed order, which a stateful sequence cannot take.
        throw new InferdError(
          'INF_ERR_INVALID_ARGUMENT',
          'sequence parameters ("sequence_id") are not accepted in a batch: its lines run in no fixed order',
        );
      }
      const result = await mv.scheduler.infer({
        requestId,
        inputs: decoded.inputs,
        outputNames: outputNamesFor(mv, decoded),
        batchSize: decoded.batchSize,
        priority: BATCH_PRIORITY_LEVEL,
        timeoutUs: decoded.timeoutUs,
        arrivalNs: process.hrtime.bigint(),
        signal,
      });
      const encoded = encodeInferResponse(mv, decoded, result.outputs, { maxTensorBytes: this.maxTensorBytes });
      return { statusCode: 200, bodyJson: typeof encoded.body === 'string' ? encoded.body : encoded.body.toString() };
    } catch (error) {
      const err = toInferdError(error, requestId);
      if (isTransient(err) || err.code === 'INF_ERR_CANCELLED') throw err;
      return errorResponse(err, requestId);
    }
  }
}
