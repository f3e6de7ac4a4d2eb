// Triton's trace settings API (protocol extension "trace"): GET answers the settings in force,
// globally or for one model; POST changes the ones given (null clears one) and answers them all
// (monitoring/request-tracer.ts takes and writes the traces).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InferdError, invalidArgument } from '../../errors/index.js';
import type { RequestTracer } from '../../monitoring/request-tracer.js';
import type { ModelRepository } from '../../repository/model-repository.js';

function jsonBody(request: FastifyRequest): unknown {
  const raw = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
  try {
    return JSON.parse(raw === '' ? '{}' : raw);
  } catch (err) {
    throw invalidArgument(`malformed JSON in trace settings: ${(err as Error).message}`);
  }
}

export function registerTraceRoutes(app: FastifyInstance, tracer: RequestTracer, repository: ModelRepository): void {
  /** A model of the repository, loaded or not: settings may be made before it loads. */
  const knownModel = async (request: FastifyRequest): Promise<string> => {
    const { model } = request.params as { model: string };
    const rows = await repository.index(false);
    if (!rows.some((row) => row.name === model))
      throw new InferdError('INF_ERR_MODEL_NOT_FOUND', `unknown model '${model}': it is not in the model repository`);
    return model;
  };

  app.get('/v2/trace/setting', () => tracer.settings());
  app.post('/v2/trace/setting', async (request) => {
    const settings = await tracer.update(jsonBody(request));
    request.log.info({ settings }, 'trace settings changed');
    return settings;
  });
  app.get('/v2/models/:model/trace/setting', async (request) => tracer.settings(await knownModel(request)));
  app.post('/v2/models/:model/trace/setting', async (request) => {
    const model = await knownModel(request);
    const settings = await tracer.update(jsonBody(request), model);
    request.log.info({ model, settings }, 'trace settings of the model changed');
    return settings;
  });
}
