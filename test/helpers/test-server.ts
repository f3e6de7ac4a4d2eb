// Test fixtures: temporary model repositories and a real server started on port 0.

import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ServerConfigInput } from '../../src/config/server-config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { ExampleFile } from '../../tools/examples/example-models.js';

export const EXAMPLES_DIR = path.resolve(import.meta.dirname, '../../examples/models');

/** Writes the files into a fresh temporary repository and returns its path. */
export async function makeRepository(files: readonly ExampleFile[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-repo-'));
  await writeFiles(dir, files);
  return dir;
}

export async function writeFiles(dir: string, files: readonly ExampleFile[]): Promise<void> {
  for (const f of files) {
    const full = path.join(dir, f.path);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, f.bytes);
  }
}

export async function removeRepository(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

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
    { logDestination: destination },
  );
  return Object.assign(server, { logs });
}

/** The example `simple` model under another name, its config extended with `extraConfig` (YAML lines). */
export async function simpleVariant(name: string, extraConfig = ''): Promise<ExampleFile[]> {
  const onnx = await readFile(path.join(EXAMPLES_DIR, 'simple/1/model.onnx'));
  const config = await readFile(path.join(EXAMPLES_DIR, 'simple/config.yaml'), 'utf8');
  return [
    { path: `${name}/1/model.onnx`, bytes: onnx },
    { path: `${name}/config.yaml`, bytes: `${config}${extraConfig}` },
  ];
}
