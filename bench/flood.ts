// Hostile and unlucky clients against the server as a user starts it (bin/inferd.js serve, the
// example models, default limits): the server's peak RSS while (1) many clients upload large JSON
// infer bodies at once, (2) many clients upload large batch files at once, (3) clients pipeline
// REST requests for large answers and never read, (4) WebSocket clients stream such requests and
// never read. Meanwhile a probe client sends small `simple` infers and records how it is served.
// The peak is the kernel's high-water mark of the server's RSS (VmHWM, reset before each case);
// each case runs on a fresh server.
// Run: npm run bench:flood (or node --import tsx bench/flood.ts --help).

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startInferd } from './lib/inferd-process.js';
import { describeMachine } from './lib/machine.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const MiB = 1024 * 1024;

const USAGE = `usage: npm run bench:flood -- [options]   (or node --import tsx bench/flood.ts [options])
  --uploaders <n>        clients uploading at once in the upload cases (default 200)
  --json-mb <n>          size of each JSON infer upload in MB (default 40: at 12 times its size to
                         decode, the largest the default budget of 512 MiB admits)
  --upload-mb <n>        size of each batch file upload in MB (default 60)
  --readers <n>          connections that never read, in the unread cases (default 8)
  --pipelined <n>        requests each of them sends (default 60)
  --hold <s>             how long the non-reading clients hold their connections (default 10)
  --out <file>           JSON results (default bench/results/flood.json)
  --help                 this text`;

interface Options {
  readonly uploaders: number;
  readonly jsonBytes: number;
  readonly uploadBytes: number;
  readonly readers: number;
  readonly pipelined: number;
  readonly holdMs: number;
  readonly out: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      uploaders: { type: 'string' },
      'json-mb': { type: 'string' },
      'upload-mb': { type: 'string' },
      readers: { type: 'string' },
      pipelined: { type: 'string' },
      hold: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (v: string | undefined, name: string, fallback: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      console.error(`${name} must be a positive number, got '${v}'\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  return {
    uploaders: Math.round(num(values.uploaders, '--uploaders', 200)),
    jsonBytes: Math.round(num(values['json-mb'], '--json-mb', 40) * 1e6),
    uploadBytes: Math.round(num(values['upload-mb'], '--upload-mb', 60) * 1e6),
    readers: Math.round(num(values.readers, '--readers', 8)),
    pipelined: Math.round(num(values.pipelined, '--pipelined', 60)),
    holdMs: num(values.hold, '--hold', 10) * 1000,
    out: values.out ?? path.join(REPO_ROOT, 'bench/results/flood.json'),
  };
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) / 1024;
}

/** Resets the process's RSS high-water mark (Linux: clear_refs 5). */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/**
 * The probe's loop, run in a process of its own so that the load this program generates (masking
 * WebSocket frames, writing gigabytes) does not delay it: small infers on `simple` every 100 ms
 * until its stdin ends, then one JSON line with the statuses and latencies.
 */
const PROBE_SCRIPT = `
const body = JSON.stringify({ inputs: [
  { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, (_, i) => i) },
  { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: Array.from({ length: 16 }, () => 1) } ] });
let running = true;
process.stdin.resume();
process.stdin.on('end', () => { running = false; });
const latencies = []; let ok = 0; let total = 0;
while (running) {
  const t = performance.now(); total++;
  try {
    const r = await fetch(process.argv[1] + '/v2/models/simple/infer', { method: 'POST', body });
    await r.arrayBuffer(); if (r.status === 200) ok++;
  } catch {}
  latencies.push(performance.now() - t);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
latencies.sort((a, b) => a - b);
const p99Ms = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
console.log(JSON.stringify({ ok, total, p99Ms }));
`;

interface ProbeResult {
  readonly ok: number;
  readonly total: number;
  readonly p99Ms: number;
}

function probe(base: string): { stop: () => Promise<ProbeResult> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE_SCRIPT, base], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.stdin.end();
      await exited;
      return JSON.parse(out) as ProbeResult;
    },
  };
}

/** Sends one request on its own connection and resolves with the status (0 when the connection failed). */
function sendOnce(port: number, head: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (status: number): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(status);
    };
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m?.[1] !== undefined && text.includes('\r\n\r\n')) finish(Number(m[1]));
    });
    socket.on('error', () => finish(/^HTTP\/1\.1 (\d{3})/.exec(text) === null ? 0 : Number(text.slice(9, 12))));
    socket.on('close', () => finish(/^HTTP\/1\.1 (\d{3})/.exec(text) === null ? 0 : Number(text.slice(9, 12))));
    socket.write(head);
    socket.write(body);
  });
}

function countStatuses(statuses: readonly number[]): string {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${n}×${s === 0 ? 'closed' : s}`)
    .join(', ');
}

/** A JSON infer body for `simple` of about `bytes` bytes: one long number array, parsed whole. */
function jsonUpload(bytes: number): Buffer {
  const prefix = '{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,16],"data":[';
  const suffix = '0.5]}]}';
  const count = Math.max(0, Math.floor((bytes - prefix.length - suffix.length) / 4));
  return Buffer.concat([Buffer.from(prefix), Buffer.alloc(count * 4, '0.5,'), Buffer.from(suffix)]);
}

function fileUpload(bytes: number): { body: Buffer; boundary: string } {
  const boundary = 'inferdflood';
  const line = '{"custom_id":"x","method":"POST","url":"/v2/models/simple/infer","body":{}}\n';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="in.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const fill = Math.max(0, bytes - head.length - tail.length);
  return { body: Buffer.concat([head, Buffer.alloc(fill, line), tail]), boundary };
}

interface CaseResult {
  readonly name: string;
  readonly baseMiB: number;
  readonly peakMiB: number;
  readonly outcome: string;
  readonly probe: ProbeResult;
}

/** Runs one case against a fresh server, so that no case inherits another's heap. */
async function runCase(name: string, body: (port: number) => Promise<string>): Promise<CaseResult> {
  const server = await startInferd({
    repoRoot: REPO_ROOT,
    modelRepository: path.join(REPO_ROOT, 'examples/models'),
    models: ['simple', 'identity_fp32'],
    nodeArgs: [],
    cpuCores: 2,
    readyTimeoutMs: 60_000,
    serveArgs: ['--batch-dir', path.join(REPO_ROOT, 'bench/results/flood-batches')],
  });
  try {
    const pid = server.pid;
    if (pid === undefined) throw new Error('the server process has no pid');
    await sleep(500);
    const baseMiB = procStatus(pid, 'VmRSS');
    resetPeak(pid);
    const p = probe(`http://${server.host}:${server.port}`);
    const outcome = await body(server.port);
    const peakMiB = procStatus(pid, 'VmHWM');
    const probeResult = await p.stop();
    console.error(`${name}: base ${baseMiB.toFixed(0)} MiB, peak ${peakMiB.toFixed(0)} MiB; ${outcome}`);
    return { name, baseMiB, peakMiB, outcome, probe: probeResult };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const o = parseOptions();
  const results: CaseResult[] = [];
  {
    const json = jsonUpload(o.jsonBytes);
    results.push(
      await runCase(`${o.uploaders} JSON infer uploads of ${o.jsonBytes / 1e6} MB`, async (port) => {
        const head = `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`;
        const statuses = await Promise.all(Array.from({ length: o.uploaders }, () => sendOnce(port, head, json)));
        return countStatuses(statuses);
      }),
    );
    const file = fileUpload(o.uploadBytes);
    results.push(
      await runCase(`${o.uploaders} batch file uploads of ${o.uploadBytes / 1e6} MB`, async (port) => {
        const head = `POST /v1/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${file.boundary}\r\nContent-Length: ${file.body.length}\r\n\r\n`;
        const statuses = await Promise.all(Array.from({ length: o.uploaders }, () => sendOnce(port, head, file.body)));
        return countStatuses(statuses);
      }),
    );

    const elements = MiB; // 4 MiB answers
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', datatype: 'FP32', shape: [1, elements], parameters: { binary_data_size: 4 * elements } },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      }),
    );
    const tensor = Buffer.alloc(4 * elements);
    const request = Buffer.concat([
      Buffer.from(
        `POST /v2/models/identity_fp32/infer HTTP/1.1\r\nHost: x\r\nInference-Header-Content-Length: ${header.length}\r\nContent-Length: ${header.length + tensor.length}\r\n\r\n`,
      ),
      header,
      tensor,
    ]);
    results.push(
      await runCase(
        `${o.readers} REST connections pipelining ${o.pipelined} requests for 4 MiB answers, never reading`,
        async (port) => {
          const sockets = await Promise.all(
            Array.from(
              { length: o.readers },
              () =>
                new Promise<net.Socket>((resolve) => {
                  const s = net.connect(port, '127.0.0.1', () => resolve(s));
                  s.on('error', () => undefined);
                }),
            ),
          );
          for (const s of sockets) {
            s.pause();
            for (let i = 0; i < o.pipelined; i++) s.write(request);
          }
          await sleep(o.holdMs);
          for (const s of sockets) s.destroy();
          return `held ${o.holdMs / 1000} s, then closed`;
        },
      ),
    );
    const message = Buffer.concat([Buffer.alloc(4), header, tensor]);
    message.writeUInt32LE(header.length, 0);
    results.push(
      await runCase(
        `${o.readers} WebSocket streams sending ${o.pipelined} requests for 4 MiB answers, never reading`,
        async (port) => {
          const sockets = await Promise.all(
            Array.from(
              { length: o.readers },
              () =>
                new Promise<WebSocket>((resolve, reject) => {
                  const ws = new WebSocket(`ws://127.0.0.1:${port}/v2/models/identity_fp32/infer/stream`);
                  ws.once('open', () => resolve(ws));
                  ws.once('error', reject);
                }),
            ),
          );
          for (const ws of sockets) {
            (ws as unknown as { _socket: net.Socket })._socket.pause();
            for (let i = 0; i < o.pipelined; i++) ws.send(message);
          }
          await sleep(o.holdMs);
          for (const ws of sockets) ws.terminate();
          return `held ${o.holdMs / 1000} s, then closed`;
        },
      ),
    );
  }

  const machine = describeMachine(REPO_ROOT);
  console.log(
    `\n${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`,
  );
  console.log(
    'limits: --max-inflight-request-size 512 MiB, --max-unsent-response-size 256 MiB, --max-body-size 64 MiB (defaults)\n',
  );
  console.log('| case | RSS before | peak RSS | peak − before | outcome | probe (simple infer every 100 ms) |');
  console.log('| :-- | --: | --: | --: | :-- | :-- |');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.baseMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB | ${(r.peakMiB - r.baseMiB).toFixed(0)} MiB | ${r.outcome} | ${r.probe.ok}/${r.probe.total} ok, p99 ${r.probe.p99Ms.toFixed(0)} ms |`,
    );
  }
  await mkdir(path.dirname(o.out), { recursive: true });
  await writeFile(o.out, JSON.stringify({ machine, options: o, results }, null, 2));
}

await main();
