// inferd.v1.Feedback (proto/inferd_feedback.proto): delayed labels over gRPC, with the checks of
// REST's POST /v2/feedback and the gRPC statuses of the same error table.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { InferdError, invalidArgument } from '../../errors/index.js';
import type { FeedbackOutcome, Predictions } from '../../monitoring/predictions.js';
import type { ServiceHandlers } from './grpc-call.js';
import { LOADER_OPTIONS } from './proto-definitions.js';
import { unary, type HandlerContext } from './service-handlers.js';

interface FeedbackItemMessage {
  readonly id?: string;
  readonly label_json?: string;
}

interface FeedbackRequestMessage extends FeedbackItemMessage {
  readonly items: readonly FeedbackItemMessage[];
}

interface FeedbackResultMessage {
  readonly id: string;
  readonly ok: boolean;
  readonly model?: string;
  readonly version?: string;
  readonly rows?: number;
  readonly correct?: number;
  readonly code?: number;
  readonly error?: string;
}

let cached: grpc.ServiceClientConstructor | undefined;

/** inferd.v1.Feedback: the service definition and a generic client constructor. */
export function loadFeedbackProto(): grpc.ServiceClientConstructor {
  if (cached !== undefined) return cached;
  const root = grpc.loadPackageDefinition(protoLoader.loadSync('inferd_feedback.proto', LOADER_OPTIONS));
  cached = ((root.inferd as grpc.GrpcObject).v1 as grpc.GrpcObject).Feedback as grpc.ServiceClientConstructor;
  return cached;
}

function send(predictions: Predictions, item: FeedbackItemMessage, where: string): FeedbackOutcome {
  const id = item.id ?? '';
  if (id === '')
    throw invalidArgument(`${where}: id must be a non-empty string (the answer's x-request-id or the request's "id")`);
  let label: unknown;
  try {
    label = JSON.parse(item.label_json ?? '');
  } catch (err) {
    throw invalidArgument(
      `${where}: label_json is not JSON (${(err as Error).message}), e.g. 2, "setosa" or [0.5, 1.5]`,
    );
  }
  return predictions.feedback(id, label);
}

function okResult(outcome: FeedbackOutcome): FeedbackResultMessage {
  return {
    id: outcome.id,
    ok: true,
    model: outcome.model,
    version: String(outcome.version),
    rows: outcome.rows,
    correct: outcome.correct,
  };
}

export function feedbackHandlers(ctx: HandlerContext, predictions: Predictions): ServiceHandlers {
  return {
    SendFeedback: unary<FeedbackRequestMessage, { results: FeedbackResultMessage[] }>(ctx, (request) => {
      if (request.items.length === 0) return { results: [okResult(send(predictions, request, 'SendFeedback'))] };
      const results = request.items.map((item, i): FeedbackResultMessage => {
        try {
          return okResult(send(predictions, item, `SendFeedback items[${i}]`));
        } catch (err) {
          if (!(err instanceof InferdError)) throw err;
          return { id: item.id ?? '', ok: false, code: err.grpcStatus, error: err.message };
        }
      });
      return { results };
    }),
  };
}
