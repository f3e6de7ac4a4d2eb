// POST /v2/models/{m}[/versions/{v}]/infer: decode, schedule, encode. No business logic here.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ModelRepository } from '../../repository/model-repository.js';
import { requireKind } from '../../model-kinds/serving-kinds.js';
import { decodeInferBody, parseHeaderLength } from '../../core/infer-body-decoder.js';
import { encodeInferResponse, outputNamesFor } from '../../core/infer-body-encoder.js';
import type { Predictions } from '../../monitoring/predictions.js';

interface InferParams {
  model: string;
  version?: string;
}

export function registerInferRoutes(
  app: FastifyInstance,
  repository: ModelRepository,
  maxTensorBytes: number,
  predictions?: Predictions,
): void {
  const handler = async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): Promise<void> => {
    const arrivalNs = process.hrtime.bigint();
    // Under a memory budget an unloaded model is loaded here, and the request waits for it.
    const mv = requireKind(await repository.acquire(request.params.model, request.params.version), 'v2 infer');
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const headerLength = parseHeaderLength(request.headers['inference-header-content-length'], body.length);
    const decoded = decodeInferBody(mv.config, body, headerLength, { maxTensorBytes });

    // A client that goes away cancels its queued work.
    const abort = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once('close', onClose);

    const result = await mv.scheduler.infer({
      requestId: String(request.id),
      inputs: decoded.inputs,
      outputNames: outputNamesFor(mv, decoded),
      batchSize: decoded.batchSize,
      priority: decoded.priority,
      timeoutUs: decoded.timeoutUs,
      arrivalNs,
      signal: abort.signal,
      ...(decoded.sequence === undefined ? {} : { sequence: decoded.sequence }),
    });
    // Kept for a delayed label, under the x-request-id the answer carries and the client's "id".
    predictions?.record(
      decoded.id === undefined ? [String(request.id)] : [String(request.id), decoded.id],
      { model: mv.name, version: mv.version },
      result.outputs,
      decoded.batchSize,
      mv.labels,
    );
    const encoded = encodeInferResponse(mv, decoded, result.outputs, { maxTensorBytes });
    if (encoded.headerLength !== undefined) {
      void reply
        .header('inference-header-content-length', String(encoded.headerLength))
        .type('application/octet-stream');
    } else {
      void reply.type('application/json');
    }
    await reply.send(encoded.body);
  };
  app.post('/v2/models/:model/infer', handler);
  app.post('/v2/models/:model/versions/:version/infer', handler);
}
