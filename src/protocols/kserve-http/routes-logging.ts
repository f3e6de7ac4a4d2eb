// Triton's log settings API: GET /v2/logging answers the settings, POST /v2/logging changes the
// ones given and answers them all (observability/log-settings.ts).

import type { FastifyInstance } from 'fastify';
import { invalidArgument } from '../../errors/index.js';
import { LogSettingsError, type LogControl } from '../../observability/log-settings.js';

export function registerLoggingRoutes(app: FastifyInstance, logging: LogControl): void {
  app.get('/v2/logging', (_request, reply) => reply.send(logging.get()));
  app.post('/v2/logging', (request, reply) => {
    let body: unknown;
    try {
      const raw = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
      body = JSON.parse(raw === '' ? '{}' : raw);
    } catch (err) {
      throw invalidArgument(`malformed JSON in log settings: ${(err as Error).message}`);
    }
    try {
      const settings = logging.update(body);
      request.log.info({ settings }, 'log settings changed');
      return reply.send(settings);
    } catch (err) {
      if (err instanceof LogSettingsError) throw invalidArgument(err.message);
      throw err;
    }
  });
}
