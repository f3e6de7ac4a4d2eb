// The inferd replicas: each one a `node bin/inferd.js serve` process on its own fixed ports, as a
// user starts it, with its JSON log lines kept in a file of the run's folder. A replacement takes
// the ports of the process it replaces.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const MODELS = ['simple', 'mlp', 'kjv-tiny'] as const;

export interface ReplicaSlot {
  /** r0, r1, r2: the HAProxy server name too. */
  readonly name: string;
  readonly httpPort: number;
  readonly grpcPort: number;
}

export interface ReplicaOptions {
  readonly repoRoot: string;
  readonly host: string;
  readonly logDir: string;
  readonly drainDelaySecs: number;
  readonly cpuCores: number;
}

export interface ExitRecord {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Wall clock of the exit. */
  readonly atMs: number;
}

export class Replica {
  readonly logPath: string;
  readonly exited: Promise<ExitRecord>;
  private exit: ExitRecord | undefined;
  private readonly child: ChildProcess;
  private readonly host: string;

  constructor(
    readonly slot: ReplicaSlot,
    readonly generation: number,
    options: ReplicaOptions,
  ) {
    this.host = options.host;
    this.logPath = path.join(options.logDir, `${slot.name}-gen${generation}.log`);
    const args = [
      path.join(options.repoRoot, 'bin', 'inferd.js'),
      'serve',
      '-m',
      path.join(options.repoRoot, 'examples', 'models'),
      '--host',
      options.host,
      '--http-port',
      String(slot.httpPort),
      '--grpc-port',
      String(slot.grpcPort),
      '--metrics-port',
      'off',
      '--model-control-mode',
      'explicit',
      ...MODELS.flatMap((m) => ['--load-model', m]),
      '--cpu-cores',
      String(options.cpuCores),
      '--drain-delay-secs',
      String(options.drainDelaySecs),
      '--shutdown-grace-secs',
      '30',
    ];
    const fd = openSync(this.logPath, 'a');
    this.child = spawn(process.execPath, args, { cwd: options.repoRoot, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal, atMs: Date.now() };
        resolve(this.exit);
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exit === undefined) this.child.kill(signal);
  }

  /** Polls GET /ready on the replica's own HTTP port until it answers 200. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exit !== undefined) {
        throw new Error(
          `${this.slot.name} exited before it was ready (code ${this.exit.code}, signal ${this.exit.signal}); log: ${this.logPath}`,
        );
      }
      if ((await readyStatus(this.host, this.slot.httpPort)) === 200) return;
      if (Date.now() > deadline) throw new Error(`${this.slot.name} was not ready after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** SIGTERM, a few seconds for the drain, then SIGKILL: for the clean-up at the end. */
  async stop(): Promise<void> {
    if (this.exit !== undefined) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.exited, sleep(5000)]);
    this.signal('SIGKILL');
    await this.exited;
  }
}

function readyStatus(host: string, port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/ready', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}
