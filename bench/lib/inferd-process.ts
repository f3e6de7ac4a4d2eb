// Runs bin/inferd.js as a child process on a free local port, exactly as a user starts it, and
// stops it again. Its log lines go to stderr so that they never mix with the printed results.

import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KServeClient } from './kserve-client.js';

export interface InferdProcess {
  readonly host: string;
  readonly port: number;
  /** The server process's id (e.g. to read its memory from /proc); absent if the spawn gave none. */
  readonly pid?: number;
  stop(): Promise<void>;
}

export interface InferdProcessOptions {
  readonly repoRoot: string;
  readonly modelRepository: string;
  readonly models: readonly string[];
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  readonly nodeArgs: readonly string[];
  /** Cores the server's runtime may use (its --cpu-cores). */
  readonly cpuCores: number;
  readonly readyTimeoutMs: number;
  /** More `inferd serve` arguments (e.g. --api-keys-file). */
  readonly serveArgs?: readonly string[];
  /** The server process's environment (e.g. with malloc settings); this process's by default. */
  readonly env?: NodeJS.ProcessEnv;
}

const HOST = '127.0.0.1';

/** A local port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export async function startInferd(options: InferdProcessOptions): Promise<InferdProcess> {
  const port = await freePort();
  const args = [
    ...options.nodeArgs,
    path.join(options.repoRoot, 'bin', 'inferd.js'),
    'serve',
    '--model-repository',
    options.modelRepository,
    '--host',
    HOST,
    '--http-port',
    String(port),
    '--metrics-port',
    'off',
    '--log-level',
    'warn',
    '--cpu-cores',
    String(options.cpuCores),
    '--model-control-mode',
    'explicit',
    ...options.models.flatMap((m) => ['--load-model', m]),
    ...(options.serveArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  child.stdout.pipe(process.stderr);
  child.stderr.pipe(process.stderr);
  let exited: string | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `exit code ${code ?? 'none'}, signal ${signal ?? 'none'}`;
      resolve();
    }),
  );

  const probe = new KServeClient(HOST, port);
  const deadline = Date.now() + options.readyTimeoutMs;
  try {
    for (;;) {
      if (exited !== undefined) throw new Error(`inferd exited before it was ready (${exited})`);
      try {
        const reply = await probe.request('GET', '/v2/health/ready');
        if (reply.status === 200) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`inferd was not ready after ${options.readyTimeoutMs} ms`);
      await sleep(100);
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    probe.close();
  }

  return {
    host: HOST,
    port,
    pid: child.pid,
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const timeout = sleep(10_000).then(() => {
        if (exited === undefined) child.kill('SIGKILL');
      });
      await Promise.race([exitPromise, timeout]);
      await exitPromise;
    },
  };
}
