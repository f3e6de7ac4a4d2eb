// HAProxy in front of the replicas: finds (or installs) Debian's haproxy, writes the config, runs
// it in the foreground as a child process, and reads its per-server state and retry counters over
// the stats socket.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BackendServer {
  readonly name: string;
  readonly httpPort: number;
  readonly grpcPort: number;
}

export interface HaproxyLayout {
  readonly host: string;
  readonly httpFrontendPort: number;
  readonly grpcFrontendPort: number;
  readonly servers: readonly BackendServer[];
  /** Health-check interval in ms (also the time a draining replica is seen as DOWN, at most). */
  readonly checkIntervalMs: number;
  /** The stats socket (a Unix socket in the run's folder). */
  readonly statsSocket: string;
  /** HAProxy's retry-on list ('none': no L7 retries, for a control run). */
  readonly retryOn: string;
}

export const DEFAULT_RETRY_ON = 'conn-failure empty-response junk-response response-timeout 0rtt-rejected';

export const HTTP_BACKEND = 'inferd_http';
export const GRPC_BACKEND = 'inferd_grpc';

/** The config, with a comment on every line that matters for a restart without loss. */
export function haproxyConfig(l: HaproxyLayout): string {
  const serverLines = (grpc: boolean): string[] =>
    l.servers.map((s) =>
      grpc
        ? `    server ${s.name} ${l.host}:${s.grpcPort} proto h2 check port ${s.httpPort} check-proto h1`
        : `    server ${s.name} ${l.host}:${s.httpPort} check`,
    );
  return [
    'global',
    '    # Logs go to stdout (HAProxy runs in the foreground with -db); the run keeps them in a file.',
    '    log stdout format raw local0 info',
    `    stats socket ${l.statsSocket} mode 600 level admin`,
    '',
    'defaults',
    '    mode http',
    '    log global',
    '    # One line per request that saw an error, a retry or a redispatch; none for the others.',
    '    option httplog',
    '    option dontlog-normal',
    '    option log-health-checks',
    '    timeout connect 1s',
    '    timeout client 60s',
    '    timeout server 60s',
    '    timeout http-request 10s',
    '    timeout http-keep-alive 60s',
    '    timeout queue 10s',
    '    timeout check 1s',
    '    # L7 retries: a request whose connection failed, or that got no (or a broken) response',
    '    # before any byte of one was forwarded, is sent again, up to 3 times, each time to',
    '    # another server (redispatch). 5xx answers are not retried: they are the server speaking.',
    '    retries 3',
    '    option redispatch 1',
    `    retry-on ${l.retryOn}`,
    '    # A retry needs the whole request at hand: buffer it (bodies up to tune.bufsize, 16 kB).',
    '    option http-buffer-request',
    `    # /ready turns 503 at SIGTERM: seen within one interval, the server is out at once`,
    '    # (fall 1) and back after one good answer (rise 1).',
    `    default-server inter ${l.checkIntervalMs}ms fastinter ${l.checkIntervalMs}ms downinter ${l.checkIntervalMs}ms fall 1 rise 1`,
    '',
    'frontend rest',
    `    bind ${l.host}:${l.httpFrontendPort}`,
    `    default_backend ${HTTP_BACKEND}`,
    '',
    'frontend grpc',
    '    # h2c from the clients: gRPC over cleartext HTTP/2.',
    `    bind ${l.host}:${l.grpcFrontendPort} proto h2`,
    `    default_backend ${GRPC_BACKEND}`,
    '',
    `backend ${HTTP_BACKEND}`,
    '    balance roundrobin',
    '    option httpchk GET /ready',
    '    http-check expect status 200',
    '    # Which replica answered, for the failure list of the report.',
    '    http-response set-header x-served-by %s',
    ...serverLines(false),
    '',
    `backend ${GRPC_BACKEND}`,
    '    balance roundrobin',
    '    # The gRPC port is checked through the same process\'s HTTP port ("port"), over HTTP/1.1',
    '    # ("check-proto h1": the check would otherwise speak the server line\'s h2).',
    '    option httpchk GET /ready',
    '    http-check expect status 200',
    '    http-response set-header x-served-by %s',
    '    # h2c to the servers too ("proto h2"): each gRPC call is one HTTP/2 stream, balanced alone.',
    ...serverLines(true),
    '',
  ].join('\n');
}

/** The haproxy binary: on PATH, or installed with apt-get when this is a Debian-like root shell. */
export function ensureHaproxy(): { binary: string; version: string } {
  const probe = (): string | undefined => {
    for (const binary of ['haproxy', '/usr/sbin/haproxy']) {
      const r = spawnSync(binary, ['-v'], { encoding: 'utf8' });
      if (r.status === 0) return binary;
    }
    return undefined;
  };
  let binary = probe();
  if (binary === undefined) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const hasApt = spawnSync('apt-get', ['--version']).status === 0;
    if (!isRoot || !hasApt) {
      throw new Error(
        "haproxy is not installed: install the 'haproxy' package (Debian/Ubuntu: apt-get install -y haproxy)",
      );
    }
    console.error('haproxy is not installed: apt-get update && apt-get install -y haproxy');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', 'haproxy']]) {
      const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
      if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: install the 'haproxy' package`);
    }
    binary = probe();
    if (binary === undefined) throw new Error("haproxy still missing after apt-get: install the 'haproxy' package");
  }
  const out = spawnSync(binary, ['-v'], { encoding: 'utf8' }).stdout;
  const version = /version (\S+)/.exec(out)?.[1] ?? 'unknown';
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  // retry-on and http-buffer-request with HTX: 2.0; the config is written for 2.6.
  if (major < 2 || (major === 2 && minor < 2)) {
    throw new Error(`haproxy ${version} is too old: 2.2 or newer is needed (Debian 12 ships 2.6)`);
  }
  return { binary, version };
}

export interface RunningHaproxy {
  readonly child: ChildProcess;
  readonly configPath: string;
  readonly logPath: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

export async function startHaproxy(binary: string, dir: string, layout: HaproxyLayout): Promise<RunningHaproxy> {
  const configPath = path.join(dir, 'haproxy.cfg');
  const logPath = path.join(dir, 'haproxy.log');
  await writeFile(configPath, haproxyConfig(layout));
  const check = spawnSync(binary, ['-c', '-f', configPath], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy rejects ${configPath}:\n${check.stdout}${check.stderr}`);
  const fd = openSync(logPath, 'a');
  const child = spawn(binary, ['-db', '-f', configPath], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let done = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    child,
    configPath,
    logPath,
    exited,
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** One row of `show stat`, by column name. */
export type StatRow = Record<string, string>;

export function showStat(socketPath: string): Promise<StatRow[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.end('show stat\n'));
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const lines = text.split('\n').filter((line) => line.length > 0);
      const header = lines[0]?.replace(/^# /, '').split(',') ?? [];
      resolve(
        lines.slice(1).map((line) => {
          const cells = line.split(',');
          return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
        }),
      );
    });
  });
}

/** Waits until HAProxy reports `server` UP in every backend (health checks passed). */
export async function waitServerUp(
  socketPath: string,
  server: string | undefined,
  timeoutMs: number,
  backends: readonly string[] = [HTTP_BACKEND, GRPC_BACKEND],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const rows = await showStat(socketPath);
      const wanted = rows.filter(
        (r) =>
          backends.includes(r.pxname ?? '') &&
          r.svname !== 'BACKEND' &&
          r.svname !== 'FRONTEND' &&
          (server === undefined || r.svname === server),
      );
      // UP from a passed check (L7OK), not the state HAProxy starts a server in before checking it.
      if (wanted.length > 0 && wanted.every((r) => r.status === 'UP' && r.check_status === 'L7OK')) return;
    } catch {
      // The socket is not there yet.
    }
    if (Date.now() > deadline) throw new Error(`HAProxy did not report ${server ?? 'every server'} UP in time`);
    await sleep(50);
  }
}

export interface BackendCounters {
  readonly backend: string;
  /** Requests sent again to the same server after a failure (wretr). */
  readonly retries: number;
  /** Requests sent again to another server (wredis). */
  readonly redispatches: number;
  /** Failed connection attempts (econ). */
  readonly connectionErrors: number;
  /** Responses that failed (eresp: aborted or broken by the server). */
  readonly responseErrors: number;
  /** Requests aborted by the client or the server side during the data transfer. */
  readonly clientAborts: number;
  readonly serverAborts: number;
  readonly http5xx: number;
}

/** What `later` counted since `earlier`, backend by backend. */
export function countersSince(
  later: readonly BackendCounters[],
  earlier: readonly BackendCounters[],
): BackendCounters[] {
  return later.map((l) => {
    const e = earlier.find((x) => x.backend === l.backend);
    const d = (k: Exclude<keyof BackendCounters, 'backend'>): number => l[k] - (e?.[k] ?? 0);
    return {
      backend: l.backend,
      retries: d('retries'),
      redispatches: d('redispatches'),
      connectionErrors: d('connectionErrors'),
      responseErrors: d('responseErrors'),
      clientAborts: d('clientAborts'),
      serverAborts: d('serverAborts'),
      http5xx: d('http5xx'),
    };
  });
}

export async function backendCounters(socketPath: string): Promise<BackendCounters[]> {
  const rows = await showStat(socketPath);
  const n = (r: StatRow, k: string): number => Number(r[k] ?? 0) || 0;
  return rows
    .filter((r) => r.svname === 'BACKEND' && (r.pxname === HTTP_BACKEND || r.pxname === GRPC_BACKEND))
    .map((r) => ({
      backend: r.pxname ?? '',
      retries: n(r, 'wretr'),
      redispatches: n(r, 'wredis'),
      connectionErrors: n(r, 'econ'),
      responseErrors: n(r, 'eresp'),
      clientAborts: n(r, 'cli_abrt'),
      serverAborts: n(r, 'srv_abrt'),
      http5xx: n(r, 'hrsp_5xx'),
    }));
}
