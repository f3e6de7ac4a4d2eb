// The Files API subset batches need: POST /v1/files (multipart: purpose=batch, file), GET
// /v1/files, GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}.

import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InferdError } from '../errors/index.js';
import { badRequest, fileTooLarge } from './batch-api-error.js';
import type { BatchRunner } from './batch-runner.js';
import type { FileStore } from './file-store.js';
import { page, queryLimit, queryString, type Query } from './list-query.js';
import { multipartBoundary, parseMultipart } from './multipart.js';

/** Room for the multipart framing and the purpose field around the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
const MAX_FILENAME_LENGTH = 255;
/** Uploads are read whole into memory: those in flight may declare this many largest bodies together. */
const UPLOAD_BUDGET_BODIES = 2;

interface IdParams {
  id: string;
}

export function registerFileRoutes(
  app: FastifyInstance,
  files: FileStore,
  runner: BatchRunner,
  maxFileBytes: number,
): void {
  const bodyLimit = maxFileBytes + MULTIPART_OVERHEAD_BYTES;
  const budget = UPLOAD_BUDGET_BODIES * bodyLimit;
  let reserved = 0;
  // Refused before the body is read, by its declared length (a chunked one counts as the largest),
  // so concurrent uploads cannot hold more than the budget in memory; released when the response
  // is done or the connection drops.
  const reserveUpload = (request: FastifyRequest, reply: FastifyReply): void => {
    const declared = Number(request.headers['content-length']);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, bodyLimit) : bodyLimit;
    if (reserved > 0 && reserved + bytes > budget) {
      throw new InferdError(
        'INF_ERR_QUEUE_FULL',
        `too many uploads in progress (${reserved} bytes being received); retry when they finish`,
        { apiCode: 'too_many_uploads' },
      );
    }
    reserved += bytes;
    let held = true;
    reply.raw.once('close', () => {
      if (held) reserved -= bytes;
      held = false;
    });
  };

  app.post(
    '/files',
    { bodyLimit, config: { bodyAsBytes: true }, onRequest: async (req, reply) => reserveUpload(req, reply) },
    async (request, reply) => {
      const boundary = multipartBoundary(request.headers['content-type']);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const parts = parseMultipart(body, boundary, { maxParts: 8, maxHeaderBytes: 16 * 1024 });
      const purposePart = parts.find((p) => p.name === 'purpose' && p.filename === undefined);
      const filePart = parts.find((p) => p.name === 'file');
      if (purposePart === undefined)
        throw badRequest('the "purpose" field is required', 'purpose', 'missing_required_parameter');
      const purpose = purposePart.data.toString('utf8').trim();
      if (purpose !== 'batch') {
        throw badRequest(
          `purpose '${purpose}' is not accepted; this server stores files for the batch API only (purpose "batch")`,
          'purpose',
          'invalid_purpose',
        );
      }
      if (filePart === undefined)
        throw badRequest('the "file" field is required', 'file', 'missing_required_parameter');
      if (filePart.data.length === 0) throw badRequest('the uploaded file is empty', 'file', 'empty_file');
      if (filePart.data.length > maxFileBytes) {
        throw fileTooLarge(`the file is ${filePart.data.length} bytes, over the limit of ${maxFileBytes} bytes`);
      }
      const filename = (filePart.filename ?? 'upload.jsonl').slice(0, MAX_FILENAME_LENGTH);
      const file = await files.create(filePart.data, filename, 'batch');
      request.log.info({ file: file.id, bytes: file.bytes }, 'file uploaded');
      void reply.type('application/json');
      return file;
    },
  );

  app.get('/files', (request: FastifyRequest<{ Querystring: Query }>) => {
    const q = request.query;
    const order = queryString(q, 'order') ?? 'desc';
    if (order !== 'asc' && order !== 'desc')
      throw badRequest(`"order" must be "asc" or "desc", got '${order}'`, 'order');
    const all = files.list(order, queryString(q, 'purpose'));
    return page(all, queryString(q, 'after'), queryLimit(q, 10_000, 10_000));
  });

  app.get('/files/:id', (request: FastifyRequest<{ Params: IdParams }>) => files.get(request.params.id));

  app.get('/files/:id/content', async (request: FastifyRequest<{ Params: IdParams }>, reply) => {
    const file = files.get(request.params.id);
    void reply
      .type('application/octet-stream')
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`);
    return reply.send(createReadStream(files.contentPath(file.id)));
  });

  app.delete('/files/:id', async (request: FastifyRequest<{ Params: IdParams }>) => {
    const { id } = request.params;
    files.get(id);
    if (runner.usesFile(id)) {
      throw badRequest(
        `file '${id}' is the input of a batch that has not finished; cancel the batch first`,
        'file_id',
        'file_in_use',
      );
    }
    await files.delete(id);
    return { id, object: 'file', deleted: true };
  });
}
