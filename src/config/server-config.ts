// Server options with their defaults (units in the names), validated once and frozen.

import os from 'node:os';
import { z } from 'zod';
import { InferdError } from '../errors/index.js';
import { deepFreeze } from './deep-freeze.js';
import { formatIssues, issuesFromZod } from './config-issues.js';

const port = z.number().int().min(0).max(65535);
const MiB = 1024 * 1024;

export const MODEL_CONTROL_MODES = ['none', 'poll', 'explicit'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** JSON lines for log collectors, or readable lines for a terminal (observability/logger.ts). */
export const LOG_FORMATS = ['json', 'pretty'] as const;
/** Triton's trace levels: OFF, or what a traced request records (timestamps, tensors, or both). */
export const TRACE_LEVELS = ['OFF', 'TIMESTAMPS', 'TENSORS'] as const;

/** A TLS identity's PEM files; `clientCaFile` turns on mTLS (clients must present a certificate it signed). */
const tlsFiles = z
  .object({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    clientCaFile: z.string().min(1).optional(),
  })
  .strict();

/** What a bad origin is told (the config check and --cors-allow-origin). */
export const CORS_ORIGIN_EXPECTED =
  "expected an origin such as https://app.example.com (scheme and host, no path) or '*'";

/** An origin as browsers send it (scheme://host[:port], no path), or '*'. */
const corsOrigin = z.string().min(1).refine(isCorsOrigin, { message: CORS_ORIGIN_EXPECTED });

/** '*', or an origin as browsers send it in the Origin header. */
export function isCorsOrigin(text: string): boolean {
  if (text === '*') return true;
  try {
    return new URL(text).origin === text;
  } catch {
    return false;
  }
}

export const serverConfigSchema = z
  .object({
    modelRepository: z.string().min(1),
    /** Loopback unless told otherwise: a server reachable from elsewhere is a decision (--host 0.0.0.0). */
    host: z.string().min(1).default('127.0.0.1'),
    httpPort: port.default(8000),
    /** Separate metrics listener as Triton has on 8002; null = only `/metrics` on the HTTP port. */
    metricsPort: port.nullable().default(8002),
    /** KServe v2 gRPC listener (Triton's 8001); null = no gRPC. */
    grpcPort: port.nullable().default(8001),
    /** What serves gRPC: Node's own HTTP/2 (lean), or @grpc/grpc-js (kept selectable for one release). */
    grpcServer: z.enum(['http2', 'grpc-js']).default('http2'),
    modelControlMode: z.enum(MODEL_CONTROL_MODES).default('none'),
    /** Models loaded at start in explicit mode ('*' = all). */
    loadModels: z.array(z.string().min(1)).default([]),
    repositoryPollSeconds: z.number().positive().default(15),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** JSON lines (for log collectors), or readable lines for a terminal. */
    logFormat: z.enum(LOG_FORMATS).default('json'),
    /** Largest request body accepted, in bytes. */
    maxBodyBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /** Largest single tensor accepted, in bytes; checked against the declared shape before allocating. */
    maxTensorBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /** Byte budget of the response cache shared by models with `response_cache.enable`; 0 = off. */
    cacheBytes: z
      .number()
      .int()
      .nonnegative()
      .default(64 * MiB),
    /** Cores the runtime may use in total; instances × intra-op threads stay within it. */
    cpuCores: z.number().int().positive().default(os.availableParallelism()),
    /**
     * Models left at `inline_execution: auto` run on the main thread when one execution of a zero
     * sample takes at most this many microseconds (about what the two worker-thread hops of a
     * request cost); 0: such models run in worker threads.
     */
    autoInlineMaxUs: z.number().nonnegative().max(1_000_000).default(200),
    /**
     * On SIGTERM, readiness turns false at once and the server goes on accepting and serving for
     * this long, while load balancers (Kubernetes endpoints, ingresses) stop routing to it.
     */
    drainDelaySeconds: z.number().nonnegative().max(3600).default(0),
    /** After the drain delay: time allowed for in-flight requests to finish before they are cut. */
    shutdownGraceSeconds: z.number().nonnegative().default(30),
    /** Folder of the batch API's files and batches, created on first use (relative: to the working directory). */
    batchDir: z.string().min(1).default('.inferd/batches'),
    /** Largest batch input file POST /v1/files accepts (OpenAI's limit). */
    maxBatchFileBytes: z
      .number()
      .int()
      .positive()
      .default(200 * MiB),
    /**
     * Request bytes the HTTP listener may hold at once, over every connection: each request's body,
     * and for a JSON body what decoding it holds (JSON_DECODE_FACTOR times its length in all); past
     * it a request is a 503 with Retry-After before its body is read. At least the largest body
     * and batch file accepted.
     */
    maxInflightRequestBytes: z
      .number()
      .int()
      .positive()
      .default(512 * MiB),
    /**
     * Answer bytes written to HTTP and WebSocket connections and not yet read by their clients, over
     * every connection; past it new inference and batch API requests are a 503 with Retry-After
     * (health, metadata, statistics and metrics still answer).
     */
    maxUnsentResponseBytes: z
      .number()
      .int()
      .positive()
      .default(256 * MiB),
    /** An idle keep-alive HTTP connection is closed after this long (Node's keepAliveTimeout). */
    keepAliveTimeoutSeconds: z.number().positive().max(3600).default(5),
    /** A client must send a request's headers within this long (Node's headersTimeout; slowloris). */
    headersTimeoutSeconds: z.number().positive().max(3600).default(60),
    /** A client must send a whole request, body included, within this long (Node's requestTimeout; 0 = none). */
    requestTimeoutSeconds: z.number().nonnegative().max(86_400).default(300),
    /** Open HTTP connections accepted at once (REST listener); past it new ones are closed; 0 = no limit. */
    maxConnections: z.number().int().nonnegative().default(0),
    /** HTTP/1.1 requests one connection may have in progress; pipelined ones past it wait unread. */
    maxRequestsPerConnection: z.number().int().min(1).max(4096).default(8),
    /** Lines of the running batch in flight at once (queued or executing), at the lowest priority. */
    batchConcurrency: z.number().int().min(1).max(1024).default(8),
    /** Responses of POST /v1/responses kept for GET and previous_response_id; the least recently used go first; 0 = keep none. */
    responsesStoreMax: z.number().int().nonnegative().max(10_000_000).default(1000),
    /** Tokens of a streamed completion or chat answer per event (vLLM's --stream-interval); 1 = each as it comes. */
    streamInterval: z.number().int().min(1).max(1024).default(1),
    /** Key file (YAML or JSON; each key as its SHA-256, with scopes, expiry, quotas), re-read when it changes. */
    apiKeysFile: z.string().min(1).nullable().default(null),
    /** Keys given directly (the CLI reads them from INFERD_API_KEYS): each holds every scope. */
    apiKeys: z.array(z.string().min(1)).default([]),
    /**
     * Scopes of callers without credentials; null = the default: 'health' when keys are configured,
     * otherwise everything on loopback and everything but the admin APIs elsewhere.
     */
    anonymousScopes: z.array(z.string().min(1)).nullable().default(null),
    /** Triton's `--http-restricted-api` rules: `<api>[,<api>...]:<header>=<value>`. */
    httpRestrictedApi: z.array(z.string().min(1)).default([]),
    /** Triton's `--grpc-restricted-protocol` rules, the same form (metadata `triton-grpc-protocol-<header>`). */
    grpcRestrictedProtocol: z.array(z.string().min(1)).default([]),
    /** JSON Lines file of admin actions; null = the server log. */
    auditLog: z.string().min(1).nullable().default(null),
    /** Failed authentications one address may make per minute before it is refused for a while; 0 = no limit. */
    authFailuresPerMinute: z.number().int().nonnegative().default(10),
    /** TLS on the REST (with WebSocket and OpenAI), metrics and gRPC listeners; null = plain. */
    tls: tlsFiles.nullable().default(null),
    /** TLS for the gRPC listener alone (Triton's --grpc-use-ssl flags), in place of `tls`; null = as `tls`. */
    grpcTls: tlsFiles.nullable().default(null),
    /** Origins the REST listener answers CORS requests from ('*' = every origin); empty = no CORS headers. */
    corsAllowOrigins: z.array(corsOrigin).default([]),
    /**
     * Bytes the loaded model versions may take together; past it, idle versions are unloaded least
     * recently used first and a request for an unloaded model loads it. null = no budget (every
     * model stays loaded, as without this option).
     */
    modelMemoryBudgetBytes: z.number().int().positive().nullable().default(null),
    /** Models the memory budget never unloads (loaded at start). Needs modelMemoryBudgetBytes. */
    pinnedModels: z.array(z.string().min(1)).default([]),
    /** Requests one model may have waiting for its on-demand load; past it, 503 with Retry-After. */
    modelLoadMaxWaiters: z.number().int().min(1).max(1_000_000).default(64),
    /** A request waits this long for an on-demand load before a 503 with Retry-After (the load goes on). */
    modelLoadTimeoutSeconds: z.number().positive().max(3600).default(30),
    /**
     * Folder of optimised models (onnxruntime's optimised graph, keyed by model content and session
     * options) that later loads of the same model start from. null = a folder in the OS temporary
     * directory when the memory budget is on, and no cache otherwise.
     */
    modelCacheDir: z.string().min(1).nullable().default(null),
    /** Answered requests kept for delayed labels (POST /v2/feedback); 0 = keep none. */
    feedbackMaxPredictions: z.number().int().nonnegative().max(100_000_000).default(100_000),
    /** How long an answered request waits for its label before it is dropped. */
    feedbackMaxAgeSeconds: z
      .number()
      .positive()
      .max(30 * 86_400)
      .default(3600),
    /** Price of one CPU core for an hour, in a currency of your choice, for cost per inference; null = unset. */
    costPerCpuHour: z.number().nonnegative().nullable().default(null),
    /** Price of one GPU for an hour, in the same currency; null = unset. */
    costPerGpuHour: z.number().nonnegative().nullable().default(null),
    /** How often nvidia-smi is read for the nv_gpu_* metrics (Triton's --metrics-interval-ms); 0 = off. */
    gpuMetricsIntervalMs: z.number().int().nonnegative().default(2000),
    /** Triton's trace settings at start (GET/POST /v2/trace/setting changes them): where traces go. */
    traceFile: z.string().default(''),
    /** ['OFF'], or TIMESTAMPS and/or TENSORS. */
    traceLevel: z.array(z.enum(TRACE_LEVELS)).min(1).default(['OFF']),
    /** One request in this many is traced. */
    traceRate: z.number().int().min(1).default(1000),
    /** Traces to take before tracing stops; -1 = no end. */
    traceCount: z.number().int().min(-1).default(-1),
    /** Traces per file (traceFile.0, .1, ...); 0 = all in traceFile, written at shutdown or when settings change. */
    traceLogFrequency: z.number().int().nonnegative().default(0),
  })
  .strict();

/**
 * The defaults of the options that have one, read from the schema: the CLI's option defaults and
 * --help texts are built from these, so the `.default()`s above stay the one declaration. Frozen.
 */
export const SERVER_DEFAULTS = deepFreeze(serverConfigSchema.omit({ modelRepository: true }).parse({}));

/** Where a server started with the defaults answers on this machine (the CLI clients' default --url). */
export const LOCAL_SERVER_URL = `http://127.0.0.1:${SERVER_DEFAULTS.httpPort}`;

export type ServerConfigInput = z.input<typeof serverConfigSchema>;
export type ServerConfig = Readonly<z.output<typeof serverConfigSchema>>;

export function resolveServerConfig(input: ServerConfigInput): ServerConfig {
  const result = serverConfigSchema.safeParse(input);
  if (!result.success) {
    throw new InferdError('INF_ERR_INVALID_CONFIG', formatIssues(issuesFromZod('server options', result.error)));
  }
  const { headersTimeoutSeconds, requestTimeoutSeconds } = result.data;
  if (requestTimeoutSeconds > 0 && headersTimeoutSeconds > requestTimeoutSeconds)
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `--headers-timeout-secs (${headersTimeoutSeconds}) must not be longer than --request-timeout-secs (${requestTimeoutSeconds}): the headers are part of the request`,
    );
  if (result.data.pinnedModels.length > 0 && result.data.modelMemoryBudgetBytes === null)
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `--pinned-models (${result.data.pinnedModels.join(', ')}) needs --model-memory-budget: without a budget no model is ever unloaded`,
    );
  const { traceLevel, traceFile } = result.data;
  if (traceLevel.includes('OFF') && traceLevel.length > 1)
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `--trace-level OFF cannot be combined with ${traceLevel.filter((l) => l !== 'OFF').join(', ')}`,
    );
  if (!traceLevel.includes('OFF') && traceFile === '')
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `--trace-level ${traceLevel.join(',')} needs --trace-file: the traces are written to that file`,
    );
  const largest = Math.max(result.data.maxBodyBytes, result.data.maxBatchFileBytes);
  if (result.data.maxInflightRequestBytes < largest)
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `--max-inflight-request-size (${result.data.maxInflightRequestBytes} bytes) is smaller than the largest request accepted (${largest} bytes, --max-body-size / --max-batch-file-size): one such request could never be received`,
    );
  return deepFreeze(result.data);
}
