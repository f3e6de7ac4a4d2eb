// The defaults `inferd serve --help` prints are the server config schema's: the CLI declares none
// of its own. Every option with a default in the schema is checked, read from the JSON Schema so
// the comparison does not go through the code under test.

import assert from 'node:assert/strict';
import os from 'node:os';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { serverConfigSchema } from '../../../src/config/server-config.js';
import { runCli } from './run-cli.js';

/** The schema's default for each server option that has one. */
function schemaDefaults(): Record<string, unknown> {
  const schema = z.toJSONSchema(serverConfigSchema, { io: 'input' }) as {
    properties: Record<string, { default?: unknown }>;
  };
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(schema.properties)) if ('default' in p) out[key] = p.default;
  return out;
}

/** Each option's help entry (its lines joined, whitespace collapsed), by long flag. */
function optionEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let flag: string | undefined;
  for (const line of help.split('\n')) {
    const start = /^ {2}(?:-\w, )?(--[\w-]+)/.exec(line);
    if (start?.[1] !== undefined) flag = start[1];
    else if (!/^ {4,}\S/.test(line)) flag = undefined;
    if (flag !== undefined) entries.set(flag, `${entries.get(flag) ?? ''} ${line.trim()}`.trim());
  }
  return entries;
}

/** The value after `default:` in an entry, as JSON (commander prints strings quoted), or as written (a size: 64MB). */
function shownDefault(entry: string | undefined): unknown {
  const m = /default: (.+)\)$/.exec(entry ?? '');
  assert.ok(m?.[1] !== undefined, `no default in '${entry}'`);
  return /^\d+(\.\d+)?[KMG]B$/.test(m[1]) ? m[1] : JSON.parse(m[1]);
}

/** A byte count as --help shows it: in the largest binary unit that divides it (64MB = 64 MiB). */
function asSize(v: unknown): string {
  const bytes = v as number;
  for (const [unit, size] of [
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  return String(bytes);
}

/** The serve option that sets each server option, and how the CLI spells the schema's value. */
const OPTIONS: Record<string, [flag: string, asShown?: (v: unknown) => unknown]> = {
  host: ['--host'],
  httpPort: ['--http-port'],
  metricsPort: ['--metrics-port', (v) => v ?? 'off'],
  grpcPort: ['--grpc-port', (v) => v ?? 'off'],
  grpcServer: ['--grpc-server'],
  modelControlMode: ['--model-control-mode'],
  loadModels: ['--load-model'],
  repositoryPollSeconds: ['--repository-poll-secs'],
  logLevel: ['--log-level'],
  logFormat: ['--log-format'],
  maxBodyBytes: ['--max-body-size', asSize],
  maxTensorBytes: ['--max-tensor-size', asSize],
  cacheBytes: ['--cache-size', asSize],
  cpuCores: ['--cpu-cores'],
  autoInlineMaxUs: ['--auto-inline-max-us'],
  drainDelaySeconds: ['--drain-delay-secs'],
  shutdownGraceSeconds: ['--shutdown-grace-secs'],
  batchDir: ['--batch-dir'],
  maxBatchFileBytes: ['--max-batch-file-size', asSize],
  batchConcurrency: ['--batch-concurrency'],
  responsesStoreMax: ['--responses-store-max'],
  streamInterval: ['--stream-interval'],
  maxInflightRequestBytes: ['--max-inflight-request-size', asSize],
  maxUnsentResponseBytes: ['--max-unsent-response-size', asSize],
  maxRequestsPerConnection: ['--max-requests-per-connection'],
  keepAliveTimeoutSeconds: ['--keep-alive-timeout-secs'],
  headersTimeoutSeconds: ['--headers-timeout-secs'],
  requestTimeoutSeconds: ['--request-timeout-secs'],
  maxConnections: ['--max-connections'],
  corsAllowOrigins: ['--cors-allow-origin'],
  // Off by default (null): their flags (--tls-cert-file and the rest) show no default.
  tls: ['--tls-cert-file'],
  grpcTls: ['--grpc-server-cert'],
  // Off by default (null): no default shown.
  apiKeysFile: ['--api-keys-file'],
  anonymousScopes: ['--anonymous-scopes'],
  auditLog: ['--audit-log'],
  httpRestrictedApi: ['--http-restricted-api'],
  grpcRestrictedProtocol: ['--grpc-restricted-protocol'],
  authFailuresPerMinute: ['--auth-failures-per-minute'],
  modelLoadMaxWaiters: ['--model-load-max-waiters'],
  modelLoadTimeoutSeconds: ['--model-load-timeout-secs'],
  pinnedModels: ['--pinned-models'],
  // Off by default (null): no default shown.
  modelMemoryBudgetBytes: ['--model-memory-budget'],
  modelCacheDir: ['--model-cache-dir'],
  feedbackMaxPredictions: ['--feedback-max-predictions'],
  feedbackMaxAgeSeconds: ['--feedback-max-age'],
  // Unset by default (null): no default shown.
  costPerCpuHour: ['--cost-per-cpu-hour'],
  costPerGpuHour: ['--cost-per-gpu-hour'],
  gpuMetricsIntervalMs: ['--gpu-metrics-interval'],
  traceFile: ['--trace-file'],
  traceLevel: ['--trace-level'],
  traceRate: ['--trace-rate'],
  traceCount: ['--trace-count'],
  traceLogFrequency: ['--trace-log-frequency'],
  // Given in the environment (INFERD_API_KEYS), never as a flag: --api-keys-file's help names it.
  apiKeys: ['--api-keys-file'],
};

describe('inferd serve --help', () => {
  it("shows the server config schema's default for every option that has one", async () => {
    const result = await runCli(['serve', '--help']);
    assert.equal(result.code, 0, result.stderr);
    const entries = optionEntries(result.stdout);
    const defaults = schemaDefaults();
    assert.deepEqual(Object.keys(defaults).sort(), Object.keys(OPTIONS).sort(), 'every default has its option');
    for (const [key, value] of Object.entries(defaults)) {
      const [flag, asShown = (v: unknown) => v] = OPTIONS[key] ?? [''];
      const entry = entries.get(flag);
      if (key === 'cpuCores') {
        // The machine's cores: the help names them rather than printing this machine's count.
        assert.equal(value, os.availableParallelism());
        assert.match(entry ?? '', /\(default: all available\)$/);
        continue;
      }
      if (key === 'apiKeys') {
        assert.deepEqual(value, []);
        assert.match(entry ?? '', /INFERD_API_KEYS/, 'the key file option names the environment variable');
        continue;
      }
      if (value === null) {
        assert.ok(entry !== undefined && !entry.includes('default:'), `${flag} is documented, with no default`);
        continue;
      }
      assert.deepEqual(shownDefault(entry), asShown(value), `${flag} shows the default of ${key}`);
    }
    const port = String(defaults.httpPort);
    assert.ok(result.stdout.includes(`curl localhost:${port}/`), 'the example reaches the default port');
  });

  it("points the client commands' --url at a server started with the defaults", async () => {
    const url = `http://127.0.0.1:${String(schemaDefaults().httpPort)}`;
    for (const command of ['infer', 'bench']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(shownDefault(optionEntries(result.stdout).get('--url')), url, `${command} --url`);
    }
  });
});
