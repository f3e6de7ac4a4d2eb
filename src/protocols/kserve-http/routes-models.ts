// Health, server metadata, model metadata / readiness / config, statistics and the repository
// extension, as KServe v2 and Triton's extensions define them.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InferdError, invalidArgument } from '../../errors/index.js';
import type { ModelRepository } from '../../repository/model-repository.js';
import type { Experiments } from '../../experiments/experiments.js';
import { assertValidModelName } from '../../repository/model-name.js';
import { modelConfigView, modelMetadataView } from '../common/model-views.js';
import { assertNoLoadOverrides, statisticsVersions } from '../common/repository-queries.js';
import { EXTENSIONS, type ServerState } from '../common/server-state.js';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from '../../util/bounded-json.js';

interface ModelParams {
  model: string;
  version?: string;
}

function emptyStatus(reply: FastifyReply, status: number): void {
  void reply.code(status).header('content-length', '0').send();
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) return {};
    if (jsonDepthExceeds(body))
      throw new InferdError('INF_ERR_MALFORMED_BODY', `request JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new InferdError('INF_ERR_MALFORMED_BODY', `malformed JSON in request body: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw invalidArgument('request body must be a JSON object');
    return parsed as Record<string, unknown>;
  }
  return body as Record<string, unknown>;
}

export function registerModelRoutes(
  app: FastifyInstance,
  repository: ModelRepository,
  server: ServerState,
  experiments: Experiments,
): void {
  app.get('/v2/health/live', (_req, reply) => emptyStatus(reply, 200));
  app.get('/v2/health/ready', (_req, reply) => emptyStatus(reply, server.ready() ? 200 : 400));
  app.get('/v2', () => ({ name: server.name, version: server.version, extensions: EXTENSIONS }));
  // What users of other servers try first: a map of the API at the root, vLLM's /version, and a
  // model list under /v2/models (KServe v2 has none; the repository index is the full answer).
  app.get('/', () => ({
    name: server.name,
    version: server.version,
    ready: server.ready(),
    endpoints: {
      kserve_v2: '/v2',
      models: '/v2/models',
      repository_index: 'POST /v2/repository/index',
      openai: '/v1/models',
      live: '/v2/health/live',
      ready: '/v2/health/ready',
      metrics: '/metrics',
    },
  }));
  app.get('/version', () => ({ version: server.version }));
  app.get('/v2/models', async () => ({
    models: (await repository.index(false)).map((e) => ({
      name: e.name,
      ...(e.version === '' ? {} : { version: e.version }),
      state: e.state,
      ...(e.reason === '' ? {} : { reason: e.reason }),
    })),
    note: 'one row per serving version; POST /v2/repository/index is the KServe repository extension',
  }));

  // Metadata and config come from the loaded graph: under a memory budget they load the model.
  const metadata = async (req: FastifyRequest<{ Params: ModelParams }>) => {
    // An experiment answers with the metadata of the variant a call would get now, under its own name.
    const routed = await experiments.route(req.params.model, req.params.version, undefined);
    if (routed !== undefined) return { ...modelMetadataView(routed.mv, []), name: req.params.model };
    const mv = await repository.acquire(req.params.model, req.params.version);
    return modelMetadataView(
      mv,
      repository.servingVersions(mv.name).map((v) => v.version),
    );
  };
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  const ready = (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    assertValidModelName(req.params.model);
    const experiment = experiments.get(req.params.model);
    if (experiment !== undefined && (req.params.version ?? '') === '')
      return emptyStatus(
        reply,
        experiment.variants.some((v) => repository.isReady(v.definition.model, v.versionText)) ? 200 : 400,
      );
    emptyStatus(reply, repository.isReady(req.params.model, req.params.version) ? 200 : 400);
  };
  app.get('/v2/models/:model/ready', ready);
  app.get('/v2/models/:model/versions/:version/ready', ready);

  const config = async (req: FastifyRequest<{ Params: ModelParams }>) =>
    modelConfigView(await repository.acquire(req.params.model, req.params.version));
  app.get('/v2/models/:model/config', config);
  app.get('/v2/models/:model/versions/:version/config', config);

  const stats = (req: FastifyRequest<{ Params: Partial<ModelParams> }>) => ({
    model_stats: statisticsVersions(repository, req.params.model, req.params.version).map((mv) => mv.stats.toJSON()),
  });
  app.get('/v2/models/stats', stats);
  app.get('/v2/models/:model/stats', stats);
  app.get('/v2/models/:model/versions/:version/stats', stats);

  app.post('/v2/repository/index', async (req) => {
    const body = asObject(req.body);
    if (body.ready !== undefined && typeof body.ready !== 'boolean')
      throw invalidArgument('"ready" must be true or false');
    return repository.index(body.ready === true);
  });
  app.post('/v2/repository/models/:model/load', async (req: FastifyRequest<{ Params: ModelParams }>, reply) => {
    const body = asObject(req.body);
    const params = body.parameters;
    if (typeof params === 'object' && params !== null) assertNoLoadOverrides(Object.keys(params));
    await repository.load(req.params.model);
    return reply.code(200).type('application/json').send('{}');
  });
  app.post('/v2/repository/models/:model/unload', async (req: FastifyRequest<{ Params: ModelParams }>, reply) => {
    asObject(req.body);
    await repository.unload(req.params.model);
    return reply.code(200).type('application/json').send('{}');
  });
}
