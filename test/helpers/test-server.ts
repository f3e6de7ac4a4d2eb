// Test fixtures: a real server started on port 0 (and, re-exported, temporary model repositories;
// tests that start no server import those from repository-files.ts, without loading the server).

import { Writable } from 'node:stream';
import type { ServerConfigInput } from '../../src/config/server-config.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';

export { EXAMPLES_DIR, makeRepository, removeRepository, simpleVariant, writeFiles } from './repository-files.js';

export interface TestServer extends RunningServer {
  /** Parsed JSON log lines written so far. */
  readonly logs: Record<string, unknown>[];
}

/**
 * Starts the real server on 127.0.0.1 with HTTP and gRPC on port 0 (no separate metrics port unless
 * asked), capturing logs.
 */
export async function startTestServer(
  options: Partial<ServerConfigInput> & { modelRepository: string },
  start: Pick<
    StartOptions,
    'timers' | 'now' | 'residentMemory' | 'repositoryTimer' | 'experimentTimer' | 'warmupHook'
  > = {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  let pending = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      pending += chunk.toString('utf8');
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ raw: line });
        }
      }
      done();
    },
  });
  const server = await startServer(
    {
      host: '127.0.0.1',
      httpPort: 0,
      metricsPort: null,
      grpcPort: 0,
      logLevel: 'debug',
      cpuCores: 2,
      shutdownGraceSeconds: 5,
      ...options,
    },
    { logDestination: destination, ...start },
  );
  return Object.assign(server, { logs });
}
