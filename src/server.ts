// The composition root: wires the repository, the protocol edges and observability, and owns
// start-up (listen first, so liveness answers and a taken port fails before any model loads; then
// load) and the zero-loss drain: readiness false at once, keep serving for the drain delay, stop
// accepting, answer everything whose bytes arrived, close each connection after its last
// response, then unload.

import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BatchApi } from './batch-api/batch-api.js';
import { resolveServerConfig, type ServerConfig, type ServerConfigInput } from './config/server-config.js';
import { saturationOf } from './model-kinds/saturation.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { buildGrpcServer, type GrpcEdge } from './protocols/kserve-grpc/grpc-server.js';
import { ConnectionDrain } from './protocols/common/connection-drain.js';
import { buildHttpApp, buildMetricsServer, registerMetricsRoute } from './protocols/common/http-app.js';
import type { ServerPhase, ServerState } from './protocols/common/server-state.js';
import { registerRestEdge } from './protocols/kserve-http/rest-edge.js';
import { registerInferStreamRoutes } from './protocols/kserve-ws/routes-infer-stream.js';
import { registerOpenAIRoutes } from './protocols/openai/openai-api.js';
import { runOpenAIRequest } from './protocols/openai/openai-request.js';
import { ModelRepository } from './repository/model-repository.js';
import { ResponseCache } from './scheduler/response-cache.js';
import { ServerTls, type PollTimer } from './security/tls.js';
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
  /**
   * Drains: readiness false, serving on for the drain delay, then stops accepting, answers what
   * is in flight (up to the grace period), closes every connection gracefully, unloads models.
   */
  close(): Promise<void>;
}

/** The waits of the shutdown, replaceable so tests drive them without sleeping. */
export interface ShutdownTimers {
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

// Unref'd: the listeners keep the process alive during the drain delay, and a grace period that
// is not used up must not hold the exit.
const realTimers: ShutdownTimers = {
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
};

export interface StartOptions {
  readonly logDestination?: NodeJS.WritableStream;
  readonly timers?: ShutdownTimers;
  /** The timer the TLS files are polled on (tests tick it by hand). */
  readonly tlsPollTimer?: PollTimer;
}

/** A listener that cannot bind says which port, and which flag moves it. */
async function namingTheFlag<T>(listening: Promise<T>, what: string, flag: string, port: number): Promise<T> {
  try {
    return await listening;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const orOff = flag === '--http-port' ? '' : ` (or '${flag} off')`;
    if (text.includes('EADDRINUSE'))
      throw new Error(
        `the ${what} port ${port} is already in use: stop what holds it, or choose another port with ${flag}${orOff}`,
        { cause: err },
      );
    if (text.includes('EACCES'))
      throw new Error(
        `the ${what} port ${port} needs privileges this process lacks: choose a port above 1023 with ${flag}`,
        {
          cause: err,
        },
      );
    throw err;
  }
}

export async function startServer(input: ServerConfigInput, options?: StartOptions): Promise<RunningServer> {
  const config = resolveServerConfig(input);
  const logger = createLogger(config.logLevel, options?.logDestination);
  // Reads and checks the TLS files before anything is built or listens; then polls them.
  const tls = ServerTls.open(
    { tls: config.tls, grpcTls: config.grpcTls },
    { logger, ...(options?.tlsPollTimer === undefined ? {} : { timer: options.tlsPollTimer }) },
  );
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
  const timers = options?.timers ?? realTimers;
  metrics.watchSaturation(() =>
    repository
      .servingVersions()
      .map((mv) => ({ model: mv.name, version: String(mv.version), value: saturationOf(mv) })),
  );
  let phase: ServerPhase = 'starting';
  const serverState: ServerState = {
    name: 'inferd',
    version: VERSION,
    phase: () => phase,
    ready: () => phase === 'serving',
  };
  // One HTTP listener; each edge is a sibling route group on it.
  const http = buildHttpApp({
    logger,
    server: serverState,
    maxBodyBytes: config.maxBodyBytes,
    https: tls.httpsOptions,
    corsAllowOrigins: config.corsAllowOrigins,
  });
  tls.keepCurrent(http.server);
  const httpConnections = new ConnectionDrain(http.server);
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
    // Listen before loading: probes answer during a long load (liveness 200, readiness not yet),
    // and a port in use is reported before minutes of loading are spent.
    await namingTheFlag(
      http.listen({ host: config.host, port: config.httpPort }),
      'REST',
      '--http-port',
      config.httpPort,
    );
    if (grpc !== undefined && config.grpcPort !== null)
      grpcPort = await namingTheFlag(
        grpc.listen(config.host, config.grpcPort, tls.grpcCredentials()),
        'gRPC',
        '--grpc-port',
        config.grpcPort,
      );
    if (config.metricsPort !== null) {
      metricsServer = buildMetricsServer(metrics, logger, tls.httpsOptions);
      tls.keepCurrent(metricsServer.server);
      await namingTheFlag(
        metricsServer.listen({ host: config.host, port: config.metricsPort }),
        'metrics',
        '--metrics-port',
        config.metricsPort,
      );
    }
    logger.debug(
      {
        httpPort: (http.server.address() as AddressInfo).port,
        grpcPort,
        metricsPort: metricsServer === undefined ? undefined : (metricsServer.server.address() as AddressInfo).port,
      },
      'listening; loading the models',
    );
    await repository.start();
  } catch (err) {
    // A port in use (or any start-up failure) must not leave workers and listeners running.
    grpc?.forceClose();
    tls.stop();
    await Promise.allSettled([http.close(), metricsServer?.close(), repository.close()]);
    throw err;
  }
  phase = 'serving';
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
      phase = 'draining';
      grpc?.readinessChanged();
      if (config.drainDelaySeconds > 0) {
        // Endpoints, ingresses and meshes learn of the termination seconds after the signal;
        // what they still send here is answered (each response says Connection: close).
        logger.info(
          { drainDelaySeconds: config.drainDelaySeconds },
          'draining: readiness is false; still serving while load balancers stop routing here',
        );
        await timers.sleep(config.drainDelaySeconds * 1000);
      }
      logger.info('shutting down: no new connections, finishing in-flight requests');
      // The grace period bounds the rest of the shutdown: what still runs when it ends is cut.
      let graceOver = false;
      const grace = timers.sleep(config.shutdownGraceSeconds * 1000).then(() => {
        graceOver = true;
      });
      // Batch lines still queued are withdrawn (they run after a restart); executing ones are recorded.
      const batchStopped = batchApi.stop();
      // Stops accepting; WebSocket streams finish what they accepted and close with 1001; every
      // HTTP connection closes after its last response has been sent; gRPC sends GOAWAY and
      // finishes its calls.
      httpConnections.drain();
      await Promise.race([Promise.all([http.close(), grpc?.drain()]), grace]);
      if (graceOver)
        logger.warn(
          { openConnections: httpConnections.openConnections },
          'grace period over: closing the connections still open',
        );
      httpConnections.destroyAll();
      grpc?.forceClose();
      await metricsServer?.close();
      tls.stop();
      await Promise.race([batchStopped, grace]);
      await Promise.race([repository.close(), grace]);
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
    url: `${tls.scheme}://${host.includes(':') ? `[${host}]` : host}:${httpPort}`,
    close,
  };
}
