// Delayed labels: POST /v2/feedback joins a label (or a list of them) to a prediction kept by
// monitoring/predictions.ts, and GET /v2/models/{m}[/versions/{v}]/accuracy answers the figures
// the labels give. The join key is the answer's x-request-id or the request's own "id".

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InferdError, invalidArgument } from '../../errors/index.js';
import type { PredictionSource, Predictions } from '../../monitoring/predictions.js';

interface AccuracyParams {
  model: string;
  version?: string;
}

/** One item of the list form: the outcome, or the error that item met. */
export type FeedbackItemResult =
  | {
      readonly id: string;
      readonly ok: true;
      readonly model: string;
      readonly version: number;
      readonly rows: number;
      readonly correct: number;
    }
  | { readonly id: string; readonly ok: false; readonly status: number; readonly code: string; readonly error: string };

function parseBody(body: unknown): unknown {
  const raw = Buffer.isBuffer(body) ? body.toString('utf8') : '';
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw invalidArgument(
      `POST /v2/feedback: the body is not JSON (${(err as Error).message}); send {"id": "...", "label": ...} or {"feedback": [...]}`,
    );
  }
}

function itemOf(value: unknown, where: string): { id: string; label: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalidArgument(`${where} must be an object {"id": "...", "label": ...}`);
  const { id, label } = value as { id?: unknown; label?: unknown };
  if (typeof id !== 'string' || id === '')
    throw invalidArgument(
      `${where}: "id" must be a non-empty string (the answer's x-request-id or the request's "id")`,
    );
  if (label === undefined) throw invalidArgument(`${where}: "label" is missing`);
  return { id, label };
}

/** Runs one item of the list form, turning its refusal into that item's result. */
export function feedbackItem(
  predictions: Predictions,
  value: unknown,
  where: string,
  mayLabel?: (source: PredictionSource) => void,
): FeedbackItemResult {
  let id = '';
  try {
    const item = itemOf(value, where);
    id = item.id;
    const outcome = predictions.feedback(item.id, item.label, mayLabel);
    return { ok: true, ...outcome };
  } catch (err) {
    if (!(err instanceof InferdError)) throw err;
    return { id, ok: false, status: err.httpStatus, code: err.code, error: err.message };
  }
}

function versionNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw invalidArgument(`version '${text}' is not a version number`);
  return Number(text);
}

/**
 * `authorize`: throws when the request's caller may not infer on (so not label) the model whose
 * prediction an id names; the route itself only needs the inference group, as the model is not
 * known before the id is looked up.
 */
export function registerFeedbackRoutes(
  app: FastifyInstance,
  predictions: Predictions,
  authorize?: (request: FastifyRequest, model: string) => void,
): void {
  app.post('/v2/feedback', (request, reply) => {
    const mayLabel =
      authorize === undefined ? undefined : (source: PredictionSource) => authorize(request, source.model);
    const body = parseBody(request.body);
    if (typeof body === 'object' && body !== null && 'feedback' in body) {
      const list = body.feedback;
      if (!Array.isArray(list))
        throw invalidArgument('POST /v2/feedback: "feedback" must be a list of {"id", "label"}');
      const results = list.map((value: unknown, i) => feedbackItem(predictions, value, `feedback[${i}]`, mayLabel));
      return reply.send({ results });
    }
    const item = itemOf(body, 'POST /v2/feedback: the body');
    return reply.send(predictions.feedback(item.id, item.label, mayLabel));
  });
  const accuracy = (request: FastifyRequest<{ Params: AccuracyParams }>) => {
    const { model } = request.params;
    const version = versionNumber(request.params.version);
    return {
      model,
      ...(version === undefined ? {} : { version }),
      ...predictions.accuracy(version === undefined ? { model } : { model, version }),
    };
  };
  app.get('/v2/models/:model/accuracy', accuracy);
  app.get('/v2/models/:model/versions/:version/accuracy', accuracy);
}
