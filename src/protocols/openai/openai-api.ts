// Registers the OpenAI-compatible edge on the REST listener: /v1/models, /v1/chat/completions,
// /v1/completions, /v1/embeddings, /v1/responses, /v1/rerank and /v1/score (beside the batch API's
// /v1/files and /v1/batches, whose scope answers unknown /v1 routes with OpenAI's 404 body), and
// vLLM's /tokenize, /detokenize, /rerank (TEI's shape too) and /score.
// Every route here answers errors in OpenAI's body.

import { VARIANT_HEADER } from '../../experiments/routing-headers.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { chatCompletion, prepareChat, streamChat } from './chat-completions.js';
import { nowSeconds } from './completion-objects.js';
import { completion, prepareCompletion, streamCompletion } from './completions.js';
import { embeddings, prepareEmbeddings } from './embeddings.js';
import type { Chosen, ModelSource } from './engine-lookup.js';
import type { RunContext } from './generation-runner.js';
import { listModels, retrieveModel } from './models.js';
import { prepareRerank, prepareScore, runScoring, type ScoringPlan } from './rerank.js';
import { bodyOverLimit, makeErrorHandler, type ErrorEdge } from '../common/error-handler.js';
import { ResponseStore } from './response-store.js';
import {
  createResponse,
  deleteResponse,
  keep,
  listInputItems,
  prepareResponse,
  retrieveResponse,
  streamResponse,
} from './responses.js';
import { disconnectSignal, SseStream } from './sse-stream.js';
import { reportError } from '../common/error-handler.js';
import { detokenize, tokenize } from './tokenize.js';
import type { TokenBudget } from '../../security/quota-gate.js';

export interface OpenAIApiOptions {
  readonly repository: ModelSource;
  readonly maxBodyBytes: number;
  /** The caller's token quota (from the access hook's principal); undefined = unlimited. */
  readonly tokens?: (request: FastifyRequest) => TokenBudget | undefined;
  /** Stored responses of /v1/responses kept at most (least recently used evicted); default 1000. */
  readonly responsesStoreMax?: number;
  /** Tokens of a streamed completions or chat answer per event (`--stream-interval`); default 1. */
  readonly streamInterval?: number;
  /** Who the caller is (the access hook's principal id): stored responses belong to it. */
  readonly owner?: (request: FastifyRequest) => string | undefined;
}

/** Runs a request an experiment routed, counting its outcome for the variant. */
async function counted<T>(chosen: Chosen, run: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (err) {
    chosen.settle?.(err);
    throw err;
  }
  chosen.settle?.();
  return result;
}

/** An experiment's answer names the variant that served it (experiments/routing-headers.ts). */
function nameVariant(reply: FastifyReply, chosen: Chosen): void {
  if (chosen.variant !== undefined) void reply.header(VARIANT_HEADER, chosen.variant);
}

function json(reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json').send(JSON.stringify(body));
}

/** The token budget of the request, whose reservation puts the quota headers on the answer. */
function budgetOf(options: OpenAIApiOptions, request: FastifyRequest, reply: FastifyReply): TokenBudget | undefined {
  const budget = options.tokens?.(request);
  if (budget === undefined) return undefined;
  return {
    reserve: (promptTokens) => {
      const headers = budget.reserve(promptTokens);
      if (!reply.sent) void reply.headers(headers);
      return headers;
    },
    charge: (completionTokens) => budget.charge(completionTokens),
  };
}

function runContext(
  options: OpenAIApiOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  arrivalNs: bigint,
): RunContext {
  return {
    requestId: String(request.id),
    signal: disconnectSignal(reply),
    arrivalNs,
    tokens: budgetOf(options, request, reply),
  };
}

export function registerOpenAIRoutes(app: FastifyInstance, options: OpenAIApiOptions): void {
  const { repository } = options;
  /** Rerank and score (rerank.ts): one handler per body shape's preparation. */
  const scoring =
    (prepare: (source: ModelSource, body: unknown, chosen: Chosen) => ScoringPlan) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const chosen: Chosen = {};
      const plan = prepare(repository, req.body, chosen);
      nameVariant(reply, chosen);
      budgetOf(options, req, reply)?.reserve(plan.promptTokens);
      const context = { requestId: String(req.id), signal: disconnectSignal(reply) };
      return counted(chosen, async () => json(reply, await runScoring(plan, context)));
    };
  const created = nowSeconds();
  const errors: ErrorEdge = { format: 'openai', bodyTooLarge: bodyOverLimit(options.maxBodyBytes) };
  const responses = new ResponseStore(options.responsesStoreMax ?? 1000);
  const ownerOf = (request: FastifyRequest): string => options.owner?.(request) ?? 'anonymous';

  void app.register(
    (scope, _opts, done) => {
      scope.setErrorHandler(makeErrorHandler(errors));

      scope.get('/models', (_req, reply) => json(reply, listModels(repository, created)));
      scope.get<{ Params: { id: string } }>('/models/:id', (req, reply) =>
        json(reply, retrieveModel(repository, req.params.id, created)),
      );

      scope.post('/chat/completions', async (req, reply) => {
        const arrivalNs = process.hrtime.bigint();
        const chosen: Chosen = {};
        const plan = prepareChat(repository, req.body, chosen);
        nameVariant(reply, chosen);
        const context = runContext(options, req, reply, arrivalNs);
        return counted(chosen, async () => {
          if (!plan.stream) return json(reply, await chatCompletion(plan, context));
          await streamChat(plan, context, new SseStream(reply), options.streamInterval);
          return reply;
        });
      });

      scope.post('/completions', async (req, reply) => {
        const arrivalNs = process.hrtime.bigint();
        const chosen: Chosen = {};
        const plan = prepareCompletion(repository, req.body, chosen);
        nameVariant(reply, chosen);
        const context = runContext(options, req, reply, arrivalNs);
        return counted(chosen, async () => {
          if (!plan.stream) return json(reply, await completion(plan, context));
          await streamCompletion(plan, context, new SseStream(reply), options.streamInterval);
          return reply;
        });
      });

      scope.post('/embeddings', async (req, reply) => {
        const chosen: Chosen = {};
        const plan = prepareEmbeddings(repository, req.body, chosen);
        nameVariant(reply, chosen);
        budgetOf(options, req, reply)?.reserve(plan.inputs.reduce((n, ids) => n + ids.length, 0));
        const context = { requestId: String(req.id), signal: disconnectSignal(reply) };
        return counted(chosen, async () => json(reply, await embeddings(plan, context)));
      });
      scope.post('/rerank', scoring(prepareRerank));
      scope.post('/score', scoring(prepareScore));

      scope.post('/responses', async (req, reply) => {
        const arrivalNs = process.hrtime.bigint();
        const chosen: Chosen = {};
        const plan = prepareResponse(repository, responses, ownerOf(req), req.body, chosen);
        nameVariant(reply, chosen);
        const context = runContext(options, req, reply, arrivalNs);
        return counted(chosen, async () => {
          // A response cut short by its client going away is not kept.
          if (!plan.chat.stream) {
            const response = await createResponse(plan, context);
            if (!context.signal.aborted) keep(responses, plan, response);
            return json(reply, response);
          }
          const report = (err: unknown) => reportError(err, String(req.id), req.log);
          const response = await streamResponse(plan, context, new SseStream(reply, false), report);
          if (response !== undefined && !context.signal.aborted) keep(responses, plan, response);
          return reply;
        });
      });
      scope.get<{ Params: { id: string } }>('/responses/:id', (req, reply) =>
        json(reply, retrieveResponse(responses, ownerOf(req), req.params.id)),
      );
      scope.delete<{ Params: { id: string } }>('/responses/:id', (req, reply) =>
        json(reply, deleteResponse(responses, ownerOf(req), req.params.id)),
      );
      scope.get<{ Params: { id: string } }>('/responses/:id/input_items', (req, reply) =>
        json(reply, listInputItems(responses, ownerOf(req), req.params.id, req.query)),
      );
      done();
    },
    { prefix: '/v1' },
  );

  void app.register((scope, _opts, done) => {
    scope.setErrorHandler(makeErrorHandler(errors));
    scope.post('/tokenize', (req, reply) => json(reply, tokenize(repository, req.body)));
    scope.post('/detokenize', (req, reply) => json(reply, detokenize(repository, req.body)));
    // vLLM serves rerank and score without the /v1 prefix too; TEI's /rerank takes `texts`.
    scope.post('/rerank', scoring(prepareRerank));
    scope.post('/score', scoring(prepareScore));
    done();
  });
}
