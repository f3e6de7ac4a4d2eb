// The composition root: wires the repository, the protocol edges and observability, and owns
// start-up (listen first, so liveness answers and a taken port fails before any model loads; then
// load) and the zero-loss drain: readiness false at once, keep serving for the drain delay, stop
// accepting, answer everything whose bytes arrived, close each connection after its last
// response, then unload.

import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BatchApi } from './batch-api/batch-api.js';
import { Experiments } from './experiments/experiments.js';
import { ServingPath } from './experiments/serving.js';
import { resolveServerConfig, type ServerConfig, type ServerConfigInput } from './config/server-config.js';
import { saturationOf } from './model-kinds/saturation.js';
import type { WarmupHook } from './model-kinds/warmup.js';
import { createLogger, type Logger } from './observability/logger.js';
import { CostAccountant } from './observability/cost.js';
import { GpuMonitor } from './observability/gpu-monitor.js';
import { NvidiaSmi } from './observability/nvidia-smi.js';
import { Metrics } from './observability/metrics.js';
import { Predictions } from './monitoring/predictions.js';
import { DriftMonitors } from './monitoring/drift-monitors.js';
import { registerFeedbackRoutes } from './protocols/kserve-http/routes-feedback.js';
import { buildGrpcServer, type GrpcEdge } from './protocols/kserve-grpc/grpc-server.js';
import { ConnectionDrain } from './protocols/common/connection-drain.js';
import { LogControl } from './observability/log-settings.js';
import { RequestTracer } from './monitoring/request-tracer.js';
import { checkTraceFolder } from './monitoring/trace-settings.js';
import { limitRequestsPerConnection, UnsentAnswers } from './protocols/common/request-gate.js';
import { buildHttpApp, buildMetricsServer, registerMetricsRoute } from './protocols/common/http-app.js';
import { registerUsageRoute, type RouteRecord } from './protocols/common/http-access.js';
import type { ServerPhase, ServerState } from './protocols/common/server-state.js';
import { registerRestEdge } from './protocols/kserve-http/rest-edge.js';
import { registerDriftRoutes } from './protocols/kserve-http/routes-drift.js';
import { registerInferStreamRoutes } from './protocols/kserve-ws/routes-infer-stream.js';
import { registerOpenAIRoutes } from './protocols/openai/openai-api.js';
import { runOpenAIRequest } from './protocols/openai/openai-request.js';
import type { ModelSource } from './protocols/openai/engine-lookup.js';
import {
  freedModelMemoryMayStayResident,
  glibcVersion,
  RECOMMENDED_MALLOC_SETTING,
} from './repository/malloc-settings.js';
import { ModelRepository, type RetryTimer } from './repository/model-repository.js';
import { ResponseCache } from './scheduler/response-cache.js';
import { AccessPolicy, isLoopbackHost, parseRestrictedApiRules } from './security/access-policy.js';
import { KeyStore, keysFromEnvironment } from './security/api-keys.js';
import { AuditLog, fileSink, loggerSink } from './security/audit-log.js';
import { QuotaLedger } from './security/quota.js';
import { failureGate, QuotaGate } from './security/quota-gate.js';
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
  /** Every HTTP route of the REST listener with its access declaration (the live route table). */
  readonly routes: readonly RouteRecord[];
  /** Re-reads the API key file now if it changed (it is also polled); resolves true when keys changed. */
  reloadKeys(): Promise<boolean>;
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
  /** The clock of key expiry, quotas and the failure limiter (ms since the epoch); Date.now by default. */
  readonly now?: () => number;
  /** The timer the TLS files are polled on (tests tick it by hand). */
  readonly tlsPollTimer?: PollTimer;
  /** The repository's timer: retry loads, on-demand load timeouts (tests drive their own). */
  readonly repositoryTimer?: RetryTimer;
  /** The timer experiment files are re-read on and canary analysis runs on (tests drive their own). */
  readonly experimentTimer?: RetryTimer;
  /** The memory budget's reading of the process's resident bytes around a load (tests give their own). */
  readonly residentMemory?: () => number;
  /** Called before every warmup execution of every model (tests hold a load in its warmup). */
  readonly warmupHook?: WarmupHook;
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

/** --model-cache-dir, or under the memory budget a folder in the OS temporary directory; else none. */
function optimizedModelCacheDir(config: ServerConfig): string | undefined {
  if (config.modelCacheDir !== null) return path.resolve(config.modelCacheDir);
  return config.modelMemoryBudgetBytes === null ? undefined : path.join(os.tmpdir(), 'inferd-model-cache');
}

export async function startServer(input: ServerConfigInput, options?: StartOptions): Promise<RunningServer> {
  const config = resolveServerConfig(input);
  // Traces are written long after start, when no one is there to be told the folder is missing.
  const traceFolderMissing = checkTraceFolder(config.traceFile, '--trace-file', 'INF_ERR_INVALID_CONFIG');
  if (traceFolderMissing !== undefined) throw traceFolderMissing;
  const logger = createLogger(config.logLevel, options?.logDestination, config.logFormat);
  // Reads and checks the TLS files before the listeners are built; then polls them.
  const tls = ServerTls.open(
    { tls: config.tls, grpcTls: config.grpcTls },
    { logger, ...(options?.tlsPollTimer === undefined ? {} : { timer: options.tlsPollTimer }) },
  );
  const metrics = new Metrics();
  // Per-GPU gauges from nvidia-smi, when it is on PATH and lists a GPU (docs/gpu.md).
  const gpuSmi = config.gpuMetricsIntervalMs > 0 ? NvidiaSmi.find() : undefined;
  const gpuMonitor =
    gpuSmi === undefined
      ? undefined
      : await GpuMonitor.start(gpuSmi, metrics, { intervalMs: config.gpuMetricsIntervalMs, logger });
  const cacheDir = optimizedModelCacheDir(config);
  const repository = new ModelRepository({
    path: config.modelRepository,
    controlMode: config.modelControlMode,
    loadModels: config.loadModels,
    pollSeconds: config.repositoryPollSeconds,
    cpuCores: config.cpuCores,
    autoInlineMaxUs: config.autoInlineMaxUs,
    metrics,
    logger,
    ...(config.cacheBytes > 0 ? { cache: new ResponseCache(config.cacheBytes) } : {}),
    ...(cacheDir === undefined ? {} : { optimizedModelCacheDir: cacheDir }),
    ...(options?.repositoryTimer === undefined ? {} : { retryTimer: options.repositoryTimer }),
    ...(options?.warmupHook === undefined ? {} : { warmupHook: options.warmupHook }),
    ...(config.modelMemoryBudgetBytes === null
      ? {}
      : {
          memoryBudget: {
            budgetBytes: config.modelMemoryBudgetBytes,
            pinned: config.pinnedModels,
            maxWaiters: config.modelLoadMaxWaiters,
            loadTimeoutMs: config.modelLoadTimeoutSeconds * 1000,
            ...(options?.residentMemory === undefined ? {} : { residentMemory: options.residentMemory }),
          },
        }),
  });
  if (config.modelMemoryBudgetBytes !== null && freedModelMemoryMayStayResident(process.env, glibcVersion()))
    logger.warn(
      `--model-memory-budget unloads models, but glibc's malloc may keep their memory resident: start inferd with ${RECOMMENDED_MALLOC_SETTING} in its environment (README, "Performance")`,
    );
  const timers = options?.timers ?? realTimers;
  let security: Security;
  try {
    security = await openSecurity(config, logger, metrics, options?.now ?? Date.now);
  } catch (err) {
    tls.stop();
    throw err;
  }
  // Predictions kept for the labels that arrive later (POST /v2/feedback).
  const predictions = new Predictions({
    maxEntries: config.feedbackMaxPredictions,
    maxAgeMs: config.feedbackMaxAgeSeconds * 1000,
    metrics,
  });
  // Experiments: names clients call that route among model versions (experiments/).
  const experiments = new Experiments({
    models: repository,
    repositoryPath: config.modelRepository,
    registry: metrics.registry,
    logger,
    pollMs: config.repositoryPollSeconds * 1000,
    accuracy: (experiment, variant) => {
      const c = predictions.accuracy({ experiment, variant }).classification;
      return { n: c.n, x: c.correct };
    },
    ...(options?.experimentTimer === undefined ? {} : { timer: options.experimentTimer }),
  });
  // Drift of each model's inputs and outputs against its reference (monitoring/drift-monitors.ts).
  const drift = new DriftMonitors({ repository: config.modelRepository, metrics, logger });
  // Triton's request traces (--trace-*, /v2/trace/setting).
  const tracer = new RequestTracer({
    initial: {
      traceFile: config.traceFile,
      traceLevel: config.traceLevel,
      traceRate: config.traceRate,
      traceCount: config.traceCount,
      logFrequency: config.traceLogFrequency,
    },
    logger,
  });
  const serving = new ServingPath({
    experiments,
    predictions,
    tracer,
    drift,
    logger,
    acquire: (name, version) => repository.acquire(name, version),
    find: (name, version) => (repository.isReady(name, version) ? repository.resolve(name, version) : undefined),
  });
  // The OpenAI edge resolves names without loading; an experiment's name picks a loaded variant.
  const openAISource: ModelSource = {
    resolve: (name, version) => repository.resolve(name, version),
    servingVersions: (name) => repository.servingVersions(name),
    route: (name, key) => {
      const arrivalNs = process.hrtime.bigint();
      const routed = experiments.routeNow(name, key);
      return routed?.variant === undefined
        ? undefined
        : {
            mv: routed.mv,
            variant: routed.variant.name,
            settle: (err) => serving.settle(routed, arrivalNs, err),
          };
    },
  };
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
  const unsentAnswers = new UnsentAnswers();
  const routes: RouteRecord[] = [];
  const http = buildHttpApp({
    logger,
    server: serverState,
    maxBodyBytes: config.maxBodyBytes,
    access: { policy: security.http, audit: security.audit, quotas: security.quotas, now: security.now, routes },
    memoryGate: {
      requestBudget: config.maxInflightRequestBytes,
      unsent: { budget: config.maxUnsentResponseBytes, answers: unsentAnswers },
      watch: (stats) => metrics.watchMemoryGate(stats),
    },
    https: tls.httpsOptions,
    corsAllowOrigins: config.corsAllowOrigins,
    countError: (reason) => metrics.requestErrors.inc({ protocol: 'http', reason }),
  });
  tls.keepCurrent(http.server);
  applyConnectionLimits(http.server, config);
  // Before the drain tracker: it counts every request of a connection, waiting ones included.
  limitRequestsPerConnection(http.server, config.maxRequestsPerConnection, unsentAnswers);
  const httpConnections = new ConnectionDrain(http.server);
  registerRestEdge(http, {
    repository,
    serving,
    server: serverState,
    maxTensorBytes: config.maxTensorBytes,
    logging: new LogControl(logger),
    tracer,
  });
  // A key limited to some models labels only their predictions.
  registerFeedbackRoutes(http, predictions, (request, model) => {
    if (request.principal !== undefined)
      security.http.authorize(request.principal, 'inference', 'POST /v2/feedback', model);
  });
  registerDriftRoutes(http, drift);
  registerInferStreamRoutes(http, {
    repository,
    serving,
    maxTensorBytes: config.maxTensorBytes,
    maxBodyBytes: config.maxBodyBytes,
    unsent: unsentAnswers,
    countError: (reason) => metrics.requestErrors.inc({ protocol: 'websocket', reason }),
  });
  registerOpenAIRoutes(http, {
    repository: openAISource,
    maxBodyBytes: config.maxBodyBytes,
    tokens: (request) => security.quotas.tokenBudget(request.principal),
    responsesStoreMax: config.responsesStoreMax,
    streamInterval: config.streamInterval,
    owner: (request) => request.principal?.id,
  });
  registerUsageRoute(http, security.quotas);
  registerMetricsRoute(http, metrics);
  const batchApi = await BatchApi.open({
    dir: path.resolve(config.batchDir),
    repository,
    logger,
    maxFileBytes: config.maxBatchFileBytes,
    maxLineBytes: config.maxBodyBytes,
    maxTensorBytes: config.maxTensorBytes,
    concurrency: config.batchConcurrency,
    runOpenAI: (url, body, context) => runOpenAIRequest(openAISource, url, body, context),
  });
  batchApi.register(http);
  let metricsServer: FastifyInstance | undefined;
  const grpc: GrpcEdge | undefined =
    config.grpcPort === null
      ? undefined
      : buildGrpcServer({
          repository,
          serving,
          logger,
          server: serverState,
          maxMessageBytes: config.maxBodyBytes,
          maxTensorBytes: config.maxTensorBytes,
          access: { policy: security.grpc, audit: security.audit, quotas: security.quotas, now: security.now },
          countError: (reason) => metrics.requestErrors.inc({ protocol: 'grpc', reason }),
          predictions,
          transport: config.grpcServer,
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
        grpc.listen(config.host, config.grpcPort, tls.grpc),
        'gRPC',
        '--grpc-port',
        config.grpcPort,
      );
    if (config.metricsPort !== null) {
      metricsServer = buildMetricsServer(metrics, logger, tls.httpsOptions, {
        policy: security.metrics,
        now: security.now,
      });
      tls.keepCurrent(metricsServer.server);
      applyConnectionLimits(metricsServer.server, config);
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
    await experiments.start();
  } catch (err) {
    // A port in use (or any start-up failure) must not leave workers and listeners running.
    grpc?.forceClose();
    gpuMonitor?.stop();
    await Promise.allSettled([http.close(), metricsServer?.close(), repository.close(), security.close()]);
    tls.stop();
    await Promise.allSettled([http.close(), metricsServer?.close(), repository.close()]);
    throw err;
  }
  // CPU- and GPU-seconds per inference, and currency per 1,000 with prices (docs/monitoring.md).
  // Started once the start-up loads are done: the figures cover serving, not loading.
  const cost = new CostAccountant({
    versions: () => repository.servingVersions(),
    prices: { cpuPerHour: config.costPerCpuHour, gpuPerHour: config.costPerGpuHour },
    metrics,
  });
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
  security.logGuards(grpc !== undefined);

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
      experiments.stop();
      await Promise.race([repository.close(), grace]);
      // The traces of the requests answered are written once none is left running.
      await tracer.close();
      cost.stop();
      gpuMonitor?.stop();
      await security.close();
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
    routes,
    reloadKeys: () => security.reloadKeys(),
    url: `${tls.scheme}://${host.includes(':') ? `[${host}]` : host}:${httpPort}`,
    close,
  };
}

/** Node's timeouts of an HTTP listener and its connection limit, from the server options. */
function applyConnectionLimits(server: HttpServer, config: ServerConfig): void {
  server.keepAliveTimeout = config.keepAliveTimeoutSeconds * 1000;
  server.headersTimeout = config.headersTimeoutSeconds * 1000;
  server.requestTimeout = config.requestTimeoutSeconds * 1000;
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections;
}

/** How often the API key file is checked for changes. */
const KEY_FILE_POLL_MS = 2000;

interface Security {
  readonly http: AccessPolicy;
  readonly grpc: AccessPolicy;
  /** The metrics listener: the REST policy without Triton's header rules (Triton has none there). */
  readonly metrics: AccessPolicy;
  readonly quotas: QuotaGate;
  readonly now: () => number;
  readonly audit: AuditLog;
  reloadKeys(): Promise<boolean>;
  /** Logs, per listener, what is exposed and how it is guarded. */
  logGuards(grpcOn: boolean): void;
  close(): Promise<void>;
}

/** Keys, access policies (REST and metrics share one; gRPC names Triton's headers its own way), audit. */
async function openSecurity(
  config: ServerConfig,
  logger: Logger,
  metrics: Metrics,
  now: () => number,
): Promise<Security> {
  const envKeys = keysFromEnvironment(config.apiKeys.join(','));
  const keyed = config.apiKeysFile !== null || envKeys.length > 0;
  const keys = keyed ? await KeyStore.open(config.apiKeysFile ?? undefined, envKeys) : undefined;
  const loopback = isLoopbackHost(config.host);
  const failures = failureGate(config.authFailuresPerMinute);
  const common = {
    keys,
    anonymousScopes: config.anonymousScopes ?? undefined,
    loopback,
    listenAddress: config.host,
    ...(failures === undefined ? {} : { failures }),
  };
  const http = new AccessPolicy({
    ...common,
    rules: parseRestrictedApiRules(config.httpRestrictedApi, '--http-restricted-api'),
    ruleHeaderPrefix: '',
  });
  const grpc = new AccessPolicy({
    ...common,
    rules: parseRestrictedApiRules(config.grpcRestrictedProtocol, '--grpc-restricted-protocol'),
    ruleHeaderPrefix: 'triton-grpc-protocol-',
  });
  const metricsPolicy = new AccessPolicy({ ...common, rules: [], ruleHeaderPrefix: '' });
  const quotas = new QuotaGate(new QuotaLedger({ now }, metrics));
  const file =
    config.auditLog === null
      ? undefined
      : fileSink(config.auditLog, (err) => logger.error({ err, file: config.auditLog }, 'audit log write failed'));
  const audit = new AuditLog(file ?? loggerSink(logger));
  const events = {
    reloaded: (count: number) => logger.info({ keys: count, file: config.apiKeysFile }, 'API keys reloaded'),
    reloadFailed: (err: unknown) =>
      logger.error({ err, file: config.apiKeysFile }, 'API key file not reloaded; the keys in force stay'),
  };
  const poll =
    keys?.file === undefined
      ? undefined
      : setInterval(() => void keys.reloadIfChanged(events), KEY_FILE_POLL_MS).unref();
  return {
    http,
    grpc,
    metrics: metricsPolicy,
    quotas,
    now,
    audit,
    reloadKeys: () => keys?.reloadIfChanged(events) ?? Promise.resolve(false),
    logGuards(grpcOn) {
      logger.info({ host: config.host }, `REST, WebSocket, OpenAI and batch API: ${http.describe()}`);
      if (grpcOn) logger.info({ host: config.host }, `gRPC: ${grpc.describe()}`);
      if (!loopback && !keyed)
        logger.warn(
          { host: config.host },
          `listening on ${config.host} without API keys: every model can be called by whoever reaches this address; configure keys with --api-keys-file or INFERD_API_KEYS`,
        );
    },
    async close() {
      if (poll !== undefined) clearInterval(poll);
      await file?.close();
    },
  };
}
