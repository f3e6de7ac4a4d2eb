// The composition root: wires the repository, the protocol edges and observability, and owns
// start-up and graceful shutdown (stop accepting, finish in-flight work, then exit).

import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BatchApi } from './batch-api/batch-api.js';
import { resolveServerConfig, type ServerConfig, type ServerConfigInput } from './config/server-config.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { buildGrpcServer, type GrpcEdge } from './protocols/kserve-grpc/grpc-server.js';
import { buildHttpApp, buildMetricsServer, registerMetricsRoute } from './protocols/common/http-app.js';
import { registerRestEdge } from './protocols/kserve-http/rest-edge.js';
import { registerInferStreamRoutes } from './protocols/kserve-ws/routes-infer-stream.js';
import { registerOpenAIRoutes } from './protocols/openai/openai-api.js';
import { runOpenAIRequest } from './protocols/openai/openai-request.js';
import { ModelRepository } from './repository/model-repository.js';
import { ResponseCache } from './scheduler/response-cache.js';
import { VERSION } from './version.js';

export interface RunningServer {
  readonly config: ServerConfig;
  readonly repository: ModelRepository;
  readonly logger: Logger;
  /** Bound HTTP port (useful when started on port 0). */
  readonly httpPort: number;
  readonly metricsPort: number | undefined;
  /** Bound gRPC port, or undefined when gRPC is off. */
  readonly grpcPort: number | undefined;
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), unloads models. */
  close(): Promise<void>;
}

export async function startServer(
  input: ServerConfigInput,
  options?: { logDestination?: NodeJS.WritableStream },
): Promise<RunningServer> {
  const config = resolveServerConfig(input);
  const logger = createLogger(config.logLevel, options?.logDestination);
  const metrics = new Metrics();
  const repository = new ModelRepository({
    path: config.modelRepository,
    controlMode: config.modelControlMode,
    loadModels: config.loadModels,
    pollSeconds: config.repositoryPollSeconds,
    cpuCores: config.cpuCores,
    metrics,
    logger,
    ...(config.cacheBytes > 0 ? { cache: new ResponseCache(config.cacheBytes) } : {}),
  });
  let ready = false;
  const serverState = { name: 'inferd', version: VERSION, ready: () => ready };
  // One HTTP listener; each edge is a sibling route group on it.
  const http = buildHttpApp({ logger, server: serverState, maxBodyBytes: config.maxBodyBytes });
  registerRestEdge(http, { repository, server: serverState, maxTensorBytes: config.maxTensorBytes });
  registerInferStreamRoutes(http, {
    repository,
    maxTensorBytes: config.maxTensorBytes,
    maxBodyBytes: config.maxBodyBytes,
  });
  registerOpenAIRoutes(http, { repository, maxBodyBytes: config.maxBodyBytes });
  registerMetricsRoute(http, metrics);
  const batchApi = await BatchApi.open({
    dir: path.resolve(config.batchDir),
    repository,
    logger,
    maxFileBytes: config.maxBatchFileBytes,
    maxLineBytes: config.maxBodyBytes,
    maxTensorBytes: config.maxTensorBytes,
    concurrency: config.batchConcurrency,
    runOpenAI: (url, body, context) => runOpenAIRequest(repository, url, body, context),
  });
  batchApi.register(http);
  let metricsServer: FastifyInstance | undefined;
  const grpc: GrpcEdge | undefined =
    config.grpcPort === null
      ? undefined
      : buildGrpcServer({
          repository,
          logger,
          server: serverState,
          maxMessageBytes: config.maxBodyBytes,
          maxTensorBytes: config.maxTensorBytes,
        });
  let grpcPort: number | undefined;

  try {
    await repository.start();
    await http.listen({ host: config.host, port: config.httpPort });
    if (grpc !== undefined && config.grpcPort !== null) grpcPort = await grpc.listen(config.host, config.grpcPort);
    if (config.metricsPort !== null) {
      metricsServer = buildMetricsServer(metrics, logger);
      await metricsServer.listen({ host: config.host, port: config.metricsPort });
    }
  } catch (err) {
    // A port in use (or any start-up failure) must not leave workers and listeners running.
    grpc?.forceClose();
    await Promise.allSettled([http.close(), metricsServer?.close(), repository.close()]);
    throw err;
  }
  ready = true;
  grpc?.readinessChanged();
  // Batches left unfinished by an earlier run resume once the models are loaded.
  batchApi.start();
  const httpPort = (http.server.address() as AddressInfo).port;
  const metricsPort = metricsServer === undefined ? undefined : (metricsServer.server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  logger.info(
    { httpPort, grpcPort, metricsPort, repository: config.modelRepository, controlMode: config.modelControlMode },
    'inferd is serving',
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      ready = false;
      logger.info('shutting down: no new connections, finishing in-flight requests');
      // Batch lines still queued are withdrawn (they run after a restart); executing ones are recorded.
      const batchStopped = batchApi.stop();
      const deadline = Date.now() + config.shutdownGraceSeconds * 1000;
      const graceLeft = (): Promise<void> =>
        new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref());
      // The grace period bounds the whole shutdown: requests still running when it ends are abandoned.
      await Promise.race([Promise.all([http.close(), grpc?.drain()]), graceLeft()]);
      grpc?.forceClose();
      await metricsServer?.close();
      await Promise.race([batchStopped, graceLeft()]);
      await Promise.race([repository.close(), graceLeft()]);
      logger.info('shut down');
      logger.flush();
    })();
    return closing;
  };

  return {
    config,
    repository,
    logger,
    httpPort,
    metricsPort,
    grpcPort,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${httpPort}`,
    close,
  };
}
