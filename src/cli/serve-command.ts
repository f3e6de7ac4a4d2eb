// `inferd serve`: start the server and stop it gracefully on SIGTERM / SIGINT.

import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  CORS_ORIGIN_EXPECTED,
  isCorsOrigin,
  LOG_FORMATS,
  LOG_LEVELS,
  MODEL_CONTROL_MODES,
  SERVER_DEFAULTS,
  TRACE_LEVELS,
  type ServerConfig,
} from '../config/server-config.js';
import { startServer } from '../server.js';
import {
  byteSize,
  byteSizeOrZero,
  collect,
  integer,
  portOrOff,
  portOrOffValue,
  nonNegativeNumber,
  positiveNumber,
  sizeText,
} from './parse-options.js';

interface ServeOptions {
  modelRepository: string;
  host: string;
  httpPort: number;
  metricsPort: number | 'off';
  grpcPort: number | 'off';
  grpcServer: ServerConfig['grpcServer'];
  modelControlMode: ServerConfig['modelControlMode'];
  loadModel: string[];
  repositoryPollSecs: number;
  logLevel: ServerConfig['logLevel'];
  logFormat: ServerConfig['logFormat'];
  maxBodySize: number;
  maxTensorSize: number;
  cacheSize: number;
  cpuCores?: number;
  autoInlineMaxUs: number;
  drainDelaySecs: number;
  shutdownGraceSecs: number;
  batchDir: string;
  maxBatchFileSize: number;
  batchConcurrency: number;
  responsesStoreMax: number;
  streamInterval: number;
  maxInflightRequestSize: number;
  maxUnsentResponseSize: number;
  maxRequestsPerConnection: number;
  keepAliveTimeoutSecs: number;
  headersTimeoutSecs: number;
  requestTimeoutSecs: number;
  maxConnections: number;
  apiKeysFile?: string;
  anonymousScopes?: string[];
  httpRestrictedApi: string[];
  grpcRestrictedProtocol: string[];
  auditLog?: string;
  authFailuresPerMinute: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsClientCaFile?: string;
  grpcUseSsl?: boolean;
  grpcServerCert?: string;
  grpcServerKey?: string;
  grpcRootCert?: string;
  grpcUseSslMutual?: boolean;
  corsAllowOrigin: string[];
  modelMemoryBudget?: number;
  pinnedModels: string[];
  modelLoadMaxWaiters: number;
  modelLoadTimeoutSecs: number;
  modelCacheDir?: string;
  feedbackMaxPredictions: number;
  feedbackMaxAge: number;
  costPerCpuHour?: number;
  costPerGpuHour?: number;
  gpuMetricsInterval: number;
  traceFile: string;
  traceLevel: ServerConfig['traceLevel'];
  traceRate: number;
  traceCount: number;
  traceLogFrequency: number;
}

/** A comma-separated list, repeatable. */
function commaList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

/** --model-memory-budget: a size such as 200MB, 2GiB or a plain byte count. */
function memoryBudget(value: string): number {
  try {
    return byteSize(value);
  } catch {
    throw new InvalidArgumentError(`expected a memory budget such as 200MB, 2GiB or 209715200 (bytes), got '${value}'`);
  }
}

/** Triton's boolean option values: --grpc-use-ssl=true, --grpc-use-ssl 0, or the bare flag. */
function tritonBool(value: string): boolean {
  const v = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new InvalidArgumentError(`expected true or false, got '${value}'`);
}

/** Repeatable, and each value may list several: --cors-allow-origin a,b --cors-allow-origin c. */
function collectOrigins(value: string, previous: string[] = []): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new InvalidArgumentError(`${CORS_ORIGIN_EXPECTED}, got '${value}'`);
  for (const item of items)
    if (!isCorsOrigin(item)) throw new InvalidArgumentError(`${CORS_ORIGIN_EXPECTED}, got '${item}'`);
  return [...previous, ...items];
}

type TlsSetting = NonNullable<ServerConfig['tls']>;

/** A TLS flag combination that cannot start; the message names the flags. */
export class TlsFlagError extends Error {}

/**
 * The TLS settings of the serve flags: `tls` (--tls-*) for every listener, and `grpcTls`
 * (Triton's --grpc-* forms) for the gRPC listener. Both forms may be given for gRPC only when
 * they agree. Throws a TlsFlagError naming the flags otherwise.
 */
export function tlsSettings(opts: Partial<ServeOptions>): { tls: TlsSetting | null; grpcTls: TlsSetting | null } {
  const { tlsCertFile: cert, tlsKeyFile: key, tlsClientCaFile: clientCa } = opts;
  if (cert !== undefined && key === undefined)
    throw new TlsFlagError('--tls-cert-file needs --tls-key-file (the private key of the certificate)');
  if (key !== undefined && cert === undefined)
    throw new TlsFlagError('--tls-key-file needs --tls-cert-file (the certificate of the private key)');
  if (clientCa !== undefined && cert === undefined)
    throw new TlsFlagError(
      "--tls-client-ca-file needs --tls-cert-file and --tls-key-file (the server's own certificate and key)",
    );
  const tls: TlsSetting | null =
    cert !== undefined && key !== undefined
      ? { certFile: cert, keyFile: key, ...(clientCa === undefined ? {} : { clientCaFile: clientCa }) }
      : null;

  // Triton: --grpc-use-ssl-mutual preempts --grpc-use-ssl; --grpc-root-cert is used with it only.
  const mutual = opts.grpcUseSslMutual === true;
  const ssl = mutual || opts.grpcUseSsl === true;
  const grpcFiles = (
    [
      ['--grpc-server-cert', opts.grpcServerCert],
      ['--grpc-server-key', opts.grpcServerKey],
      ['--grpc-root-cert', opts.grpcRootCert],
    ] as const
  ).filter(([, file]) => file !== undefined);
  if (!ssl && grpcFiles.length > 0)
    throw new TlsFlagError(
      `${grpcFiles.map(([flag]) => flag).join(', ')} take effect only with --grpc-use-ssl=true (or --grpc-use-ssl-mutual=true)`,
    );
  let grpcTls: TlsSetting | null = null;
  if (ssl) {
    const needs = mutual ? '--grpc-use-ssl-mutual' : '--grpc-use-ssl';
    if (opts.grpcServerCert === undefined) throw new TlsFlagError(`${needs} needs --grpc-server-cert`);
    if (opts.grpcServerKey === undefined) throw new TlsFlagError(`${needs} needs --grpc-server-key`);
    if (mutual && opts.grpcRootCert === undefined)
      throw new TlsFlagError(
        '--grpc-use-ssl-mutual needs --grpc-root-cert (the CA that client certificates must chain to)',
      );
    grpcTls = {
      certFile: opts.grpcServerCert,
      keyFile: opts.grpcServerKey,
      ...(mutual && opts.grpcRootCert !== undefined ? { clientCaFile: opts.grpcRootCert } : {}),
    };
  }
  if (tls === null) return { tls, grpcTls };

  // Both forms speak for the gRPC listener: they must say the same.
  if (opts.grpcUseSsl === false && !mutual)
    throw new TlsFlagError(
      '--tls-cert-file turns TLS on for every listener, gRPC included, but --grpc-use-ssl=false turns it off for gRPC: drop one of them',
    );
  if (grpcTls === null) return { tls, grpcTls };
  const same = (a: string | undefined, b: string | undefined): boolean =>
    a === undefined || b === undefined ? a === b : path.resolve(a) === path.resolve(b);
  const disagree = (a: string, b: string, what: string): TlsFlagError =>
    new TlsFlagError(
      `${a} and ${b} disagree on the gRPC listener's ${what}: give one of them, or the same file to both`,
    );
  if (!same(tls.certFile, grpcTls.certFile)) throw disagree('--tls-cert-file', '--grpc-server-cert', 'certificate');
  if (!same(tls.keyFile, grpcTls.keyFile)) throw disagree('--tls-key-file', '--grpc-server-key', 'private key');
  if (tls.clientCaFile !== undefined && grpcTls.clientCaFile === undefined)
    throw new TlsFlagError(
      '--tls-client-ca-file requires client certificates on every listener, but gRPC has no --grpc-use-ssl-mutual: add --grpc-use-ssl-mutual=true --grpc-root-cert with the same CA, or drop the --grpc-* flags',
    );
  if (tls.clientCaFile === undefined && grpcTls.clientCaFile !== undefined)
    throw new TlsFlagError(
      '--grpc-use-ssl-mutual requires client certificates on gRPC, but --tls-cert-file without --tls-client-ca-file does not: add --tls-client-ca-file with the same CA, or drop the --tls-* flags',
    );
  if (!same(tls.clientCaFile, grpcTls.clientCaFile))
    throw disagree('--tls-client-ca-file', '--grpc-root-cert', 'client CA');
  // They agree: the one setting serves every listener.
  return { tls, grpcTls: null };
}

/** A size option whose help shows its default as a size (64MB), not a byte count. */
function sizeOption(flags: string, description: string, parse: (value: string) => number, value: number): Option {
  return new Option(flags, description).argParser(parse).default(value, sizeText(value));
}

export function serveCommand(): Command {
  // Every default below is the server config schema's; commander prints them in --help. Only
  // --cpu-cores passes none: the schema's is this machine's core count, which its help names.
  const d = SERVER_DEFAULTS;
  return new Command('serve')
    .description('serve the models of a repository over KServe v2 REST and gRPC, with Prometheus metrics')
    .requiredOption(
      '-m, --model-repository <path>',
      'model repository: <repo>/<model>/<version>/model.onnx (+ optional config.yaml)',
    )
    .option(
      '--host <address>',
      'address to listen on (0.0.0.0 = every interface: then configure API keys, or the admin APIs stay off)',
      d.host,
    )
    .option('--http-port <port>', 'KServe v2 REST port (0 = any free port)', integer(0, 65535), d.httpPort)
    .option(
      '--metrics-port <port|off>',
      "separate Prometheus port as Triton has ('off' = only /metrics on the HTTP port)",
      portOrOff,
      portOrOffValue(d.metricsPort),
    )
    .option(
      '--grpc-port <port|off>',
      "KServe v2 gRPC port, Triton's GRPCInferenceService and grpc.health.v1 ('off' = no gRPC; 0 = any free port)",
      portOrOff,
      portOrOffValue(d.grpcPort),
    )
    .addOption(
      new Option(
        '--grpc-server <transport>',
        "what serves gRPC: http2 (Node's own HTTP/2, the leaner and faster) or grpc-js (@grpc/grpc-js, as before; kept for one release)",
      )
        .choices(['http2', 'grpc-js'])
        .default(d.grpcServer),
    )
    .addOption(
      new Option(
        '--model-control-mode <mode>',
        'none: load all at start; poll: also reload on change; explicit: load/unload via the repository API',
      )
        .choices(MODEL_CONTROL_MODES)
        .default(d.modelControlMode),
    )
    .option('--load-model <name>', "model to load at start in explicit mode (repeatable; '*' = all)", collect, [
      ...d.loadModels,
    ])
    .option('--repository-poll-secs <seconds>', 'poll interval in poll mode', positiveNumber, d.repositoryPollSeconds)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(d.logLevel))
    .addOption(
      new Option('--log-format <format>', 'json lines (for log collectors) or pretty (readable, for a terminal)')
        .choices(LOG_FORMATS)
        .default(d.logFormat),
    )
    .option(
      '--trace-file <path>',
      "where request traces are written (Triton's JSON trace format; its folder must exist); with --trace-log-frequency, <path>.0, <path>.1, ...",
      d.traceFile,
    )
    .addOption(
      new Option(
        '--trace-level <level>',
        'what a traced request records: OFF, or TIMESTAMPS and/or TENSORS (repeatable); POST /v2/trace/setting changes it while serving',
      )
        .choices(TRACE_LEVELS)
        .argParser((value: string, previous: string[] | undefined) => {
          if (!(TRACE_LEVELS as readonly string[]).includes(value))
            throw new InvalidArgumentError(`expected one of ${TRACE_LEVELS.join(', ')}, got '${value}'`);
          // The default is replaced by the first level given, not added to.
          return previous === undefined || previous === d.traceLevel ? [value] : [...previous, value];
        })
        .default(d.traceLevel),
    )
    .option('--trace-rate <n>', 'trace one request in every n', integer(1), d.traceRate)
    .option('--trace-count <n>', 'traces to take before tracing stops (-1 = no end)', integer(-1), d.traceCount)
    .option(
      '--trace-log-frequency <n>',
      'write the traces every n traces, each batch to <trace-file>.<index> (0 = all into --trace-file, at shutdown or when the settings change)',
      integer(0),
      d.traceLogFrequency,
    )
    .addOption(sizeOption('--max-body-size <size>', 'largest request body accepted', byteSize, d.maxBodyBytes))
    .addOption(
      sizeOption(
        '--max-tensor-size <size>',
        'largest single tensor accepted, checked before allocating',
        byteSize,
        d.maxTensorBytes,
      ),
    )
    .addOption(
      sizeOption(
        '--cache-size <size>',
        'response cache budget for models with response_cache.enable (0 = off)',
        byteSizeOrZero,
        d.cacheBytes,
      ),
    )
    .option('--cpu-cores <n>', 'cores the runtime may use in total (default: all available)', integer(1, 4096))
    .option(
      '--auto-inline-max-us <us>',
      'models left at optimization.inline_execution: auto run on the main thread when one execution takes at most this long (timed at load; a worker-thread hop costs about as much); 0 = always worker threads',
      nonNegativeNumber,
      d.autoInlineMaxUs,
    )
    .option(
      '--drain-delay-secs <seconds>',
      'on SIGTERM: readiness false at once, but keep accepting and serving this long while load balancers stop routing here (Kubernetes: a few seconds)',
      nonNegativeNumber,
      d.drainDelaySeconds,
    )
    .option(
      '--shutdown-grace-secs <seconds>',
      'after the drain delay: time allowed for in-flight requests to finish before they are cut',
      positiveNumber,
      d.shutdownGraceSeconds,
    )
    .option('--batch-dir <path>', 'folder of the batch API (/v1/files, /v1/batches), created on first use', d.batchDir)
    .addOption(
      sizeOption('--max-batch-file-size <size>', 'largest batch input file accepted', byteSize, d.maxBatchFileBytes),
    )
    .option(
      '--batch-concurrency <n>',
      'batch lines in flight at once (they queue below real-time requests)',
      integer(1, 1024),
      d.batchConcurrency,
    )
    .option(
      '--responses-store-max <n>',
      'responses of POST /v1/responses kept in memory for GET /v1/responses/{id} and previous_response_id; the least recently used go first (later ids are 404); 0 = keep none',
      integer(0, 10_000_000),
      d.responsesStoreMax,
    )
    .option(
      '--stream-interval <n>',
      "tokens of a streamed completions or chat answer sent per event, as vLLM's --stream-interval: 1 sends each token as it is generated; n writes to each client's socket n times less often (each write is a system call), for more tokens/s and coarser streaming (answers with logprobs or tool calls stream per token)",
      integer(1, 1024),
      d.streamInterval,
    )
    .addOption(
      sizeOption(
        '--max-inflight-request-size <size>',
        'request bytes held at once over every connection (a JSON body counts 12 times: its text and parsed values); past it a 503 with Retry-After before the body is read',
        byteSize,
        d.maxInflightRequestBytes,
      ),
    )
    .addOption(
      sizeOption(
        '--max-unsent-response-size <size>',
        'answer bytes clients may leave unread over every connection; past it new inference and batch requests get a 503 with Retry-After',
        byteSize,
        d.maxUnsentResponseBytes,
      ),
    )
    .option(
      '--max-requests-per-connection <n>',
      'HTTP/1.1 requests one connection may have in progress; pipelined ones past it wait, unread',
      integer(1, 4096),
      d.maxRequestsPerConnection,
    )
    .option(
      '--keep-alive-timeout-secs <seconds>',
      'an idle keep-alive HTTP connection is closed after this long',
      positiveNumber,
      d.keepAliveTimeoutSeconds,
    )
    .option(
      '--headers-timeout-secs <seconds>',
      "a client must send a request's headers within this long (slow clients are cut: 408)",
      positiveNumber,
      d.headersTimeoutSeconds,
    )
    .option(
      '--request-timeout-secs <seconds>',
      'a client must send a whole request, body included, within this long (0 = no limit)',
      nonNegativeNumber,
      d.requestTimeoutSeconds,
    )
    .option(
      '--max-connections <n>',
      'open HTTP connections accepted at once; past it new ones are closed (0 = no limit)',
      integer(0, 1_000_000),
      d.maxConnections,
    )
    .option(
      '--api-keys-file <path>',
      'API keys with scopes, expiry and quotas (YAML/JSON, keys stored as SHA-256; re-read on change). Keys without scopes: env INFERD_API_KEYS=k1,k2',
    )
    .option(
      '--anonymous-scopes <scopes>',
      'scopes of callers without a key (comma list: health, read, infer, infer:<glob>, metrics, admin:repository, admin:batch). Unset: health when keys are configured; without keys, everything on loopback and all but admin elsewhere',
      commaList,
    )
    .option(
      '--http-restricted-api <rule>',
      "Triton's form: <api>[,<api>...]:<header>=<value> (repeatable); those API groups need that header",
      collect,
      [],
    )
    .option(
      '--grpc-restricted-protocol <rule>',
      "Triton's form for gRPC: the same, sent as metadata triton-grpc-protocol-<header>",
      collect,
      [],
    )
    .option('--audit-log <path>', 'JSON Lines file of admin actions (without it, they go to the server log)')
    .option(
      '--auth-failures-per-minute <n>',
      'failed authentications one address may make per minute before it must wait (0 = no limit)',
      integer(0, 1_000_000),
      d.authFailuresPerMinute,
    )
    .option(
      '--tls-cert-file <path>',
      'TLS certificate chain (PEM) for the REST, gRPC and metrics listeners; with --tls-key-file',
    )
    .option('--tls-key-file <path>', 'private key (PEM, unencrypted) of --tls-cert-file')
    .option(
      '--tls-client-ca-file <path>',
      'mTLS: clients must present a certificate signed by this CA (PEM), or the TLS handshake fails',
    )
    .option(
      '--grpc-use-ssl [bool]',
      "Triton's form: TLS on the gRPC listener only, with --grpc-server-cert and --grpc-server-key",
      tritonBool,
    )
    .option('--grpc-server-cert <path>', "Triton's form: the gRPC listener's certificate chain (PEM)")
    .option('--grpc-server-key <path>', "Triton's form: the gRPC listener's private key (PEM)")
    .option(
      '--grpc-root-cert <path>',
      "Triton's form: the CA (PEM) that gRPC client certificates must chain to, with --grpc-use-ssl-mutual",
    )
    .option(
      '--grpc-use-ssl-mutual [bool]',
      "Triton's form: mTLS on the gRPC listener (implies --grpc-use-ssl; needs --grpc-root-cert)",
      tritonBool,
    )
    .option(
      '--cors-allow-origin <origin>',
      "answer CORS from this origin, e.g. https://app.example.com (repeatable or comma-separated; '*' = every origin; none = no CORS headers)",
      collectOrigins,
      [],
    )
    .option(
      '--model-memory-budget <size>',
      'bytes the loaded models may take together, e.g. 200MB or 2GiB: idle models are unloaded least recently used first and loaded again on request (none = every model stays loaded)',
      memoryBudget,
    )
    .option(
      '--pinned-models <names>',
      'models the memory budget never unloads, loaded at start (comma-separated, repeatable)',
      commaList,
      [],
    )
    .option(
      '--model-load-max-waiters <n>',
      'requests one model may have waiting for its on-demand load; past it a 503 with Retry-After',
      integer(1, 1_000_000),
      d.modelLoadMaxWaiters,
    )
    .option(
      '--model-load-timeout-secs <seconds>',
      'a request waits this long for an on-demand load, then gets a 503 with Retry-After (the load goes on)',
      positiveNumber,
      d.modelLoadTimeoutSeconds,
    )
    .option(
      '--model-cache-dir <path>',
      "folder of optimised models that reloads start from (without it: the OS temporary folder's inferd-model-cache when --model-memory-budget is set, else no cache)",
    )
    .option(
      '--feedback-max-predictions <n>',
      'answered requests kept so a late label can be joined to them (POST /v2/feedback); the oldest go first; 0 = keep none',
      integer(0, 100_000_000),
      d.feedbackMaxPredictions,
    )
    .option(
      '--feedback-max-age <seconds>',
      'how long an answered request waits for its label; a later label is refused with 410',
      positiveNumber,
      d.feedbackMaxAgeSeconds,
    )
    .option(
      '--cost-per-cpu-hour <n>',
      'price of one CPU core for an hour (a number of 0 or more, in your currency): the statistics, metrics and inferd bench then show cost per 1,000 inferences (none = CPU-seconds only)',
      nonNegativeNumber,
    )
    .option(
      '--cost-per-gpu-hour <n>',
      'price of one GPU for an hour, in the same currency, for models on a GPU provider (none = GPU-seconds only)',
      nonNegativeNumber,
    )
    .option(
      '--gpu-metrics-interval <ms>',
      'how often nvidia-smi is read for the per-GPU metrics nv_gpu_utilization, nv_gpu_memory_total_bytes, nv_gpu_memory_used_bytes and nv_gpu_power_usage (0 = off; without nvidia-smi on PATH there are none)',
      integer(0, 3_600_000),
      d.gpuMetricsIntervalMs,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ inferd serve --model-repository examples/models
  $ inferd serve -m ./models --model-control-mode explicit --load-model simple --http-port 9000
  $ inferd serve -m ./models --grpc-port off        (REST only)
  $ inferd keys create --id team-a --scopes infer,read --file keys.yaml
  $ inferd serve -m ./models --host 0.0.0.0 --api-keys-file keys.yaml
  $ inferd serve -m ./models --tls-cert-file server.pem --tls-key-file server.key
  $ curl localhost:${d.httpPort}/v2/models/simple`,
    )
    .action(async (opts: ServeOptions, command: Command) => {
      let tls: ReturnType<typeof tlsSettings>;
      try {
        tls = tlsSettings(opts);
      } catch (err) {
        if (err instanceof TlsFlagError) command.error(`error: ${err.message}`);
        throw err;
      }
      // A signal while the models load stops the process at once: nothing is in flight yet. (As a
      // container's PID 1, node would otherwise ignore SIGTERM until this handler exists.)
      const duringStartUp = (signal: NodeJS.Signals): void => {
        process.stderr.write(`inferd: ${signal} during start-up: exiting\n`);
        process.exit(0);
      };
      process.on('SIGTERM', duringStartUp);
      process.on('SIGINT', duringStartUp);
      const server = await startServer({
        modelRepository: opts.modelRepository,
        host: opts.host,
        httpPort: opts.httpPort,
        metricsPort: opts.metricsPort === 'off' ? null : opts.metricsPort,
        grpcPort: opts.grpcPort === 'off' ? null : opts.grpcPort,
        grpcServer: opts.grpcServer,
        modelControlMode: opts.modelControlMode,
        loadModels: opts.loadModel,
        repositoryPollSeconds: opts.repositoryPollSecs,
        logLevel: opts.logLevel,
        logFormat: opts.logFormat,
        maxBodyBytes: opts.maxBodySize,
        maxTensorBytes: opts.maxTensorSize,
        cacheBytes: opts.cacheSize,
        ...(opts.cpuCores === undefined ? {} : { cpuCores: opts.cpuCores }),
        autoInlineMaxUs: opts.autoInlineMaxUs,
        drainDelaySeconds: opts.drainDelaySecs,
        shutdownGraceSeconds: opts.shutdownGraceSecs,
        batchDir: opts.batchDir,
        maxBatchFileBytes: opts.maxBatchFileSize,
        batchConcurrency: opts.batchConcurrency,
        responsesStoreMax: opts.responsesStoreMax,
        streamInterval: opts.streamInterval,
        maxInflightRequestBytes: opts.maxInflightRequestSize,
        maxUnsentResponseBytes: opts.maxUnsentResponseSize,
        maxRequestsPerConnection: opts.maxRequestsPerConnection,
        keepAliveTimeoutSeconds: opts.keepAliveTimeoutSecs,
        headersTimeoutSeconds: opts.headersTimeoutSecs,
        requestTimeoutSeconds: opts.requestTimeoutSecs,
        maxConnections: opts.maxConnections,
        apiKeysFile: opts.apiKeysFile ?? null,
        apiKeys: (process.env['INFERD_API_KEYS'] ?? '')
          .split(',')
          .map((k) => k.trim())
          .filter((k) => k !== ''),
        anonymousScopes: opts.anonymousScopes ?? null,
        httpRestrictedApi: opts.httpRestrictedApi,
        grpcRestrictedProtocol: opts.grpcRestrictedProtocol,
        auditLog: opts.auditLog ?? null,
        authFailuresPerMinute: opts.authFailuresPerMinute,
        tls: tls.tls,
        grpcTls: tls.grpcTls,
        corsAllowOrigins: opts.corsAllowOrigin,
        modelMemoryBudgetBytes: opts.modelMemoryBudget ?? null,
        pinnedModels: opts.pinnedModels,
        modelLoadMaxWaiters: opts.modelLoadMaxWaiters,
        modelLoadTimeoutSeconds: opts.modelLoadTimeoutSecs,
        modelCacheDir: opts.modelCacheDir ?? null,
        feedbackMaxPredictions: opts.feedbackMaxPredictions,
        feedbackMaxAgeSeconds: opts.feedbackMaxAge,
        costPerCpuHour: opts.costPerCpuHour ?? null,
        costPerGpuHour: opts.costPerGpuHour ?? null,
        gpuMetricsIntervalMs: opts.gpuMetricsInterval,
        traceFile: opts.traceFile,
        traceLevel: opts.traceLevel,
        traceRate: opts.traceRate,
        traceCount: opts.traceCount,
        traceLogFrequency: opts.traceLogFrequency,
      });
      let signals = 0;
      const stop = (signal: string): void => {
        signals++;
        if (signals > 1) {
          server.logger.warn(`second ${signal}: exiting now`);
          process.exit(1);
        }
        server.logger.info({ signal }, 'signal received');
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            server.logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.off('SIGTERM', duringStartUp);
      process.off('SIGINT', duringStartUp);
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // SIGHUP re-reads the API key file at once (it is also polled every 2 s).
      process.on('SIGHUP', () => {
        server.reloadKeys().then(
          (changed) => server.logger.info({ changed }, 'SIGHUP: API key file checked'),
          (err: unknown) => server.logger.error({ err }, 'SIGHUP: API key file not reloaded'),
        );
      });
    });
}
