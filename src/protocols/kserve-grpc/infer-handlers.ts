// ModelInfer and ModelStreamInfer: resolve the model, decode and validate, schedule through the
// version's scheduler (the same queue, priorities, deadlines and statistics as REST), encode.
//
// Streaming order rule: each request on a stream is scheduled as it arrives, and responses are
// written as they complete, except that the responses of one sequence (the same model and
// sequence_id) are written in the order their requests arrived, errors included. A stream with
// STREAM_MAX_IN_FLIGHT requests unanswered, or with UNSENT_BYTES_WATERMARK of answers handed to
// HTTP/2 and not yet sent (a client that does not read), is not read until that falls again.

import { clientMessage, InferdError } from '../../errors/index.js';
import { UNSENT_BYTES_WATERMARK } from '../common/request-gate.js';
import { bidiMethod, unaryMethod, type CallMetadata, type MethodHandler } from './grpc-call.js';
import { asInferdError, callStatus } from './grpc-status.js';
import { decodeModelInferRequest, outputNamesFor } from './infer-request-decoder.js';
import { encodeModelInferResponse } from './infer-response-encoder.js';
import { peekSequenceId } from './infer-parameters.js';
import type { HandlerContext } from './service-handlers.js';
import type { ServingPath } from '../../experiments/serving.js';
import { variantHeaderValue } from '../../experiments/routing-headers.js';
import type { ModelInferRequest, ModelInferResponse, ModelStreamInferResponse } from './wire-types.js';

/**
 * Requests one stream may have accepted and not yet answered (the answer handed to HTTP/2) before
 * the server stops reading it; flow control then pushes back on the client, which cannot make the
 * server schedule, or buffer answers for, more than this many requests at a time.
 */
export const STREAM_MAX_IN_FLIGHT = 64;

export interface InferContext extends HandlerContext {
  readonly maxTensorBytes: number;
  /** Names to versions (experiments included) and the request path's monitoring. */
  readonly serving: ServingPath;
  /** True once shutdown began: streams take no new requests and end when their work is done. */
  closing(): boolean;
  /** Open streams register a callback that ends them once idle; it runs when shutdown begins. */
  readonly openStreams: Set<() => void>;
}

/** The request's timeout: its "timeout" parameter or the call's deadline, whichever is sooner. */
function effectiveTimeoutUs(parameterUs: number, deadline: number | undefined): number {
  if (deadline === undefined) return parameterUs;
  const leftUs = Math.ceil((deadline - Date.now()) * 1000);
  if (leftUs <= 0)
    throw new InferdError('INF_ERR_DEADLINE_EXCEEDED', 'request timed out: its deadline passed before it was queued');
  return parameterUs === 0 ? leftUs : Math.min(parameterUs, leftUs);
}

function given(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

async function infer(
  ctx: InferContext,
  request: ModelInferRequest,
  requestId: string,
  arrivalNs: bigint,
  signal: AbortSignal,
  deadline: number | undefined,
  metadata: CallMetadata | undefined,
): Promise<ModelInferResponse> {
  const name = request.model_name ?? '';
  // An experiment's routing key: its header as call metadata, else the body's (`routing_key`).
  // (The metadata map is built only for a name an experiment serves.)
  const headerKey =
    ctx.serving.experiments.get(name) === undefined
      ? undefined
      : ctx.serving.experiments.routingHeaderKey(name, metadata?.getMap() ?? {});
  const { routed, decoded } = await ctx.serving.routeAndDecode(
    name,
    given(request.model_version),
    headerKey,
    (config) => decodeModelInferRequest(config, request, { maxTensorBytes: ctx.maxTensorBytes }),
  );
  const { mv } = routed;
  const ids = given(request.id) === undefined || request.id === requestId ? [requestId] : [requestId, request.id ?? ''];
  const result = await ctx.serving.infer(
    { ...routed, mv },
    {
      requestId,
      inputs: decoded.inputs,
      outputNames: outputNamesFor(mv.config, decoded),
      batchSize: decoded.batchSize,
      priority: decoded.priority,
      timeoutUs: effectiveTimeoutUs(decoded.timeoutUs, deadline),
      arrivalNs,
      signal,
      ...(decoded.sequence === undefined ? {} : { sequence: decoded.sequence }),
    },
    ids,
  );
  const response = encodeModelInferResponse(mv, request.id ?? '', decoded, result.outputs, {
    maxTensorBytes: ctx.maxTensorBytes,
  });
  const variant = variantHeaderValue(routed);
  return variant === undefined ? response : { ...response, parameters: { variant: { string_param: variant } } };
}

export function modelInferHandler(ctx: InferContext): MethodHandler {
  return unaryMethod<ModelInferRequest, ModelInferResponse>((call, callback) => {
    const arrivalNs = process.hrtime.bigint();
    const requestId = given(call.request.id) ?? ctx.nextRequestId();
    // A client that cancels (or whose deadline passes) drops its queued work.
    const abort = new AbortController();
    let answered = false;
    call.onCancelled(() => {
      if (!answered) abort.abort();
    });
    infer(ctx, call.request, requestId, arrivalNs, abort.signal, call.deadlineMs, call.metadata).then(
      (response) => {
        answered = true;
        callback(null, response);
      },
      (err: unknown) => {
        answered = true;
        callback(callStatus(err, requestId, ctx.logger));
      },
    );
  });
}

function streamError(request: ModelInferRequest, err: InferdError, requestId: string): ModelStreamInferResponse {
  return {
    error_message: clientMessage(err, requestId),
    infer_response: {
      model_name: request.model_name ?? '',
      model_version: request.model_version ?? '',
      id: request.id ?? '',
    },
  };
}

export function modelStreamInferHandler(ctx: InferContext): MethodHandler {
  return bidiMethod<ModelInferRequest, ModelStreamInferResponse>((call) => {
    const deadline = call.deadlineMs;
    const pending = new Set<AbortController>();
    /** The last write of each sequence on this stream, so the next waits for it. */
    const sequenceTail = new Map<string, Promise<void>>();
    let inputEnded = false;
    let cancelled = false;

    const finishIfIdle = (): void => {
      if (pending.size > 0 || cancelled) return;
      if (inputEnded || ctx.closing()) {
        ctx.openStreams.delete(finishIfIdle);
        call.end();
      }
    };
    ctx.openStreams.add(finishIfIdle);

    /** Writes whose callback has not come; it never comes on a call that ends meanwhile. */
    const unflushed = new Set<() => void>();
    /** Tensor bytes of the answers written and not yet flushed (what a client that does not read leaves here). */
    let unflushedBytes = 0;
    const mayRead = (): boolean => pending.size < STREAM_MAX_IN_FLIGHT && unflushedBytes < UNSENT_BYTES_WATERMARK;
    /** Resolves once the message is handed to HTTP/2 (at once on a cancelled call). */
    const write = (message: ModelStreamInferResponse): Promise<void> =>
      new Promise((resolve) => {
        if (cancelled) {
          resolve();
          return;
        }
        const bytes = (message.infer_response?.raw_output_contents ?? []).reduce((n, b) => n + b.byteLength, 0);
        const flushed = (): void => {
          unflushed.delete(flushed);
          unflushedBytes -= bytes;
          resolve();
        };
        unflushed.add(flushed);
        unflushedBytes += bytes;
        if (!mayRead()) call.pause();
        call.write(message, flushed);
      });

    call.onMessage((request) => {
      const arrivalNs = process.hrtime.bigint();
      const requestId = given(request.id) ?? ctx.nextRequestId();
      const abort = new AbortController();
      pending.add(abort);
      if (!mayRead()) call.pause();
      const outcome: Promise<ModelStreamInferResponse> = (
        ctx.closing()
          ? Promise.reject(
              new InferdError('INF_ERR_UNAVAILABLE', 'server is shutting down; no new requests are accepted'),
            )
          : infer(ctx, request, requestId, arrivalNs, abort.signal, deadline, call.metadata)
      ).then(
        (response) => ({ error_message: '', infer_response: response }),
        (err: unknown) => streamError(request, asInferdError(err, requestId, ctx.logger), requestId),
      );
      const seq = peekSequenceId(request.parameters);
      const key = seq === undefined ? undefined : `${request.model_name ?? ''}\0${seq}`;
      const previous = key === undefined ? undefined : sequenceTail.get(key);
      const written = (previous === undefined ? outcome : previous.then(() => outcome)).then(write);
      if (key !== undefined) sequenceTail.set(key, written);
      void written.finally(() => {
        if (key !== undefined && sequenceTail.get(key) === written) sequenceTail.delete(key);
        pending.delete(abort);
        if (mayRead() && call.isPaused() && !cancelled) call.resume();
        finishIfIdle();
      });
    });
    call.onEnd(() => {
      inputEnded = true;
      finishIfIdle();
    });
    const cancel = (): void => {
      if (cancelled) return;
      cancelled = true;
      ctx.openStreams.delete(finishIfIdle);
      for (const a of pending) a.abort();
      for (const flushed of [...unflushed]) flushed();
    };
    call.onCancelled(cancel);
  });
}
