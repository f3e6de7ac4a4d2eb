// `inferd serve`: start the server and stop it gracefully on SIGTERM / SIGINT.

import { Command, Option } from 'commander';
import { LOG_LEVELS, MODEL_CONTROL_MODES, SERVER_DEFAULTS, type ServerConfig } from '../config/server-config.js';
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
  modelControlMode: ServerConfig['modelControlMode'];
  loadModel: string[];
  repositoryPollSecs: number;
  logLevel: ServerConfig['logLevel'];
  maxBodySize: number;
  maxTensorSize: number;
  cacheSize: number;
  cpuCores?: number;
  drainDelaySecs: number;
  shutdownGraceSecs: number;
  batchDir: string;
  maxBatchFileSize: number;
  batchConcurrency: number;
  apiKeysFile?: string;
  anonymousScopes?: string[];
  httpRestrictedApi: string[];
  grpcRestrictedProtocol: string[];
  auditLog?: string;
  authFailuresPerMinute: number;
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
    .option(
      '--max-body-size <size>',
      `largest request body accepted (e.g. ${sizeText(d.maxBodyBytes)})`,
      byteSize,
      d.maxBodyBytes,
    )
    .option(
      '--max-tensor-size <size>',
      'largest single tensor accepted, checked before allocating',
      byteSize,
      d.maxTensorBytes,
    )
    .option(
      '--cache-size <size>',
      'response cache budget for models with response_cache.enable (0 = off)',
      byteSizeOrZero,
      d.cacheBytes,
    )
    .option('--cpu-cores <n>', 'cores the runtime may use in total (default: all available)', integer(1, 4096))
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
    .option('--max-batch-file-size <size>', 'largest batch input file accepted', byteSize, d.maxBatchFileBytes)
    .option(
      '--batch-concurrency <n>',
      'batch lines in flight at once (they queue below real-time requests)',
      integer(1, 1024),
      d.batchConcurrency,
    )
    .option(
      '--api-keys-file <path>',
      'API keys with scopes, expiry and quotas (YAML/JSON, keys stored as SHA-256; re-read on change). Keys without scopes: env INFERD_API_KEYS=k1,k2',
    )
    .option(
      '--anonymous-scopes <scopes>',
      'scopes of callers without a key (comma list: health, read, infer, infer:<glob>, metrics, admin:repository, admin:batch; default: health when keys are configured)',
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
    .option('--audit-log <path>', 'JSON Lines file of admin actions (default: the server log)')
    .option(
      '--auth-failures-per-minute <n>',
      'failed authentications one address may make per minute before it must wait (0 = no limit)',
      integer(0, 1_000_000),
      d.authFailuresPerMinute,
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
  $ curl localhost:${d.httpPort}/v2/models/simple`,
    )
    .action(async (opts: ServeOptions) => {
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
        modelControlMode: opts.modelControlMode,
        loadModels: opts.loadModel,
        repositoryPollSeconds: opts.repositoryPollSecs,
        logLevel: opts.logLevel,
        maxBodyBytes: opts.maxBodySize,
        maxTensorBytes: opts.maxTensorSize,
        cacheBytes: opts.cacheSize,
        ...(opts.cpuCores === undefined ? {} : { cpuCores: opts.cpuCores }),
        drainDelaySeconds: opts.drainDelaySecs,
        shutdownGraceSeconds: opts.shutdownGraceSecs,
        batchDir: opts.batchDir,
        maxBatchFileBytes: opts.maxBatchFileSize,
        batchConcurrency: opts.batchConcurrency,
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
    });
}
