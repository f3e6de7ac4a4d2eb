// The experiments admin API: list and read experiments with their per-variant figures, define or
// replace one (PUT, a JSON body in the shape of experiment.yaml) and remove one defined here.
// Experiments defined by files in the repository are changed by editing those files.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InferdError, invalidArgument } from '../../errors/index.js';
import type { Experiments } from '../../experiments/experiments.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from '../../util/bounded-json.js';

interface NameParams {
  name: string;
}

function jsonBody(body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0)
    throw invalidArgument('the request needs a JSON body: the experiment definition, as in experiment.yaml');
  if (jsonDepthExceeds(body))
    throw new InferdError('INF_ERR_MALFORMED_BODY', `request JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new InferdError('INF_ERR_MALFORMED_BODY', `malformed JSON in request body: ${(err as Error).message}`);
  }
}

export function registerExperimentRoutes(app: FastifyInstance, experiments: Experiments): void {
  app.put('/v2/experiments/:name', (req: FastifyRequest<{ Params: NameParams }>) =>
    experiments.define(req.params.name, jsonBody(req.body)),
  );
  app.get('/v2/experiments', () => ({
    experiments: experiments.list().map((e) => experiments.status(e.name)),
    invalid: [...experiments.brokenFiles()].map(([name, error]) => ({ name, error })),
  }));
  app.get('/v2/experiments/:name', (req: FastifyRequest<{ Params: NameParams }>) =>
    experiments.status(req.params.name),
  );
  app.delete('/v2/experiments/:name', (req: FastifyRequest<{ Params: NameParams }>, reply) => {
    experiments.remove(req.params.name);
    return reply.code(200).type('application/json').send('{}');
  });
}
