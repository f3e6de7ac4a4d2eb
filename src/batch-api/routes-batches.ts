// The Batch API: POST /v1/batches, GET /v1/batches/{id}, GET /v1/batches, POST
// /v1/batches/{id}/cancel. Creation checks the request and answers at once with the batch in
// `validating`; the runner validates the input file and runs it.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InferdError } from '../errors/index.js';
import { badRequest } from './batch-api-error.js';
import { checkEndpoint } from './batch-endpoints.js';
import type { BatchRunner } from './batch-runner.js';
import type { BatchStore } from './batch-store.js';
import { COMPLETION_WINDOW, COMPLETION_WINDOW_SECONDS, nowSeconds, type BatchObject } from './batch-types.js';
import type { FileStore } from './file-store.js';
import { page, queryLimit, queryString, type Query } from './list-query.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from '../util/bounded-json.js';

interface IdParams {
  id: string;
}

/** OpenAI's metadata limits: 16 pairs, keys up to 64 characters, values up to 512. */
function checkMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('"metadata" must be an object', 'metadata');
  const entries = Object.entries(value);
  if (entries.length > 16) throw badRequest('"metadata" may hold at most 16 keys', 'metadata');
  for (const [k, v] of entries) {
    if (k.length > 64) throw badRequest(`metadata key '${k.slice(0, 64)}…' is longer than 64 characters`, 'metadata');
    if (typeof v !== 'string' || v.length > 512) {
      throw badRequest(`metadata value of '${k}' must be a string of at most 512 characters`, 'metadata');
    }
  }
  return Object.fromEntries(entries);
}

function parseJsonBody(body: unknown): Record<string, unknown> {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  if (jsonDepthExceeds(bytes))
    throw new InferdError('INF_ERR_MALFORMED_BODY', `request JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InferdError('INF_ERR_MALFORMED_BODY', `malformed JSON in request body: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest('request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

export function registerBatchRoutes(
  app: FastifyInstance,
  store: BatchStore,
  files: FileStore,
  runner: BatchRunner,
): void {
  app.post('/batches', async (request) => {
    const body = parseJsonBody(request.body);
    const inputFileId = body.input_file_id;
    if (typeof inputFileId !== 'string' || inputFileId === '') {
      throw badRequest('"input_file_id" is required', 'input_file_id', 'missing_required_parameter');
    }
    const endpoint = checkEndpoint(body.endpoint);
    if (body.completion_window !== COMPLETION_WINDOW) {
      throw badRequest(
        `"completion_window" must be "${COMPLETION_WINDOW}", got ${JSON.stringify(body.completion_window)}`,
        'completion_window',
      );
    }
    const metadata = checkMetadata(body.metadata);
    const file = files.get(inputFileId, 'input_file_id');
    if (file.purpose !== 'batch') {
      throw badRequest(
        `file '${inputFileId}' has purpose '${file.purpose}'; a batch input needs purpose "batch"`,
        'input_file_id',
      );
    }
    const now = nowSeconds();
    const record = store.newRecord({
      object: 'batch',
      endpoint,
      errors: null,
      input_file_id: inputFileId,
      completion_window: COMPLETION_WINDOW,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      in_progress_at: null,
      expires_at: now + COMPLETION_WINDOW_SECONDS,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata,
    });
    await store.save(record);
    const created: BatchObject = record.batch;
    runner.submit(record);
    request.log.info({ batch: created.id, file: inputFileId, endpoint }, 'batch created');
    return created;
  });

  app.get('/batches/:id', (request: FastifyRequest<{ Params: IdParams }>) => store.get(request.params.id).batch);

  app.get('/batches', (request: FastifyRequest<{ Querystring: Query }>) => {
    const q = request.query;
    const all = store.list().map((r) => r.batch);
    return page(all, queryString(q, 'after'), queryLimit(q, 20, 100));
  });

  app.post('/batches/:id/cancel', async (request: FastifyRequest<{ Params: IdParams }>) =>
    runner.cancel(request.params.id),
  );
}
