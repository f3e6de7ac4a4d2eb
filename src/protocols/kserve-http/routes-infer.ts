// POST /v2/models/{m}[/versions/{v}]/infer: decode, schedule, encode. No business logic here.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServingPath } from '../../experiments/serving.js';
import { decodeInferBody, parseHeaderLength } from '../../core/infer-body-decoder.js';
import { encodeInferResponse, outputNamesFor } from '../../core/infer-body-encoder.js';
import { VARIANT_HEADER, variantHeaderValue } from '../../experiments/routing-headers.js';

interface InferParams {
  model: string;
  version?: string;
}

export function registerInferRoutes(app: FastifyInstance, serving: ServingPath, maxTensorBytes: number): void {
  const handler = async (request: FastifyRequest<{ Params: InferParams }>, reply: FastifyReply): Promise<void> => {
    const arrivalNs = process.hrtime.bigint();
    // Under a memory budget an unloaded model is loaded here, and the request waits for it. An
    // experiment's name picks a variant: by the routing-key header now, or by the body's
    // `routing_key` parameter once decoded.
    const name = request.params.model;
    const headerKey = serving.experiments.routingHeaderKey(name, request.headers);
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const { routed, decoded } = await serving.routeAndDecode(name, request.params.version, headerKey, (config) =>
      decodeInferBody(
        config,
        body,
        parseHeaderLength(request.headers['inference-header-content-length'], body.length),
        { maxTensorBytes },
      ),
    );
    const { mv } = routed;
    const variant = variantHeaderValue(routed);
    if (variant !== undefined) void reply.header(VARIANT_HEADER, variant);

    // A client that goes away cancels its queued work.
    const abort = new AbortController();
    const onClose = (): void => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once('close', onClose);

    const ids = decoded.id === undefined || decoded.id === '' ? [String(request.id)] : [String(request.id), decoded.id];
    const result = await serving.infer(
      routed,
      {
        requestId: String(request.id),
        inputs: decoded.inputs,
        outputNames: outputNamesFor(mv, decoded),
        batchSize: decoded.batchSize,
        priority: decoded.priority,
        timeoutUs: decoded.timeoutUs,
        arrivalNs,
        signal: abort.signal,
        ...(decoded.sequence === undefined ? {} : { sequence: decoded.sequence }),
      },
      ids,
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
