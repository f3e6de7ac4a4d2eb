// What the KServe v2 gRPC edge costs against REST with binary tensors: unary ModelInfer vs POST
// .../infer (binary) at concurrency 1 and 64, on each gRPC transport (--grpc-server http2, the
// default, and grpc-js), in interleaved rounds so drift on a shared machine falls on every case
// alike. Each gRPC case runs with the @grpc/grpc-js client users run, and with a lean node:http2
// client sending pre-encoded frames (what the server costs when the client is not the bottleneck);
// the server's event-loop CPU time per inference (from /proc) is shown beside. Also ModelStreamInfer with 64
// requests outstanding on one stream, and, as grpc-js's floor, a bare grpc-js server answering
// canned bytes. Prints ratios in one table.
// Run: npm run bench:grpc (or node --import tsx bench/grpc-vs-rest.ts --help).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProtos } from '../src/protocols/kserve-grpc/proto-definitions.js';
import { measureLoad, type LoadMeasurement, type LoadOptions } from './lib/concurrent-load.js';
import {
  binaryRequest,
  readOutputs,
  sampleTensor,
  type SampleDatatype,
  type SampleTensor,
} from './lib/kserve-bodies.js';
import { freePort } from './lib/inferd-process.js';
import { KServeClient } from './lib/kserve-client.js';
import { describeMachine } from './lib/machine.js';
import type { TimedOperation } from './lib/measurement-windows.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const HOST = '127.0.0.1';

const USAGE = `usage: node --import tsx bench/grpc-vs-rest.ts [options]
  --models <a,b>      models from examples/models (default simple,mlp)
  --concurrency <a,b> unary concurrencies (default 1,64); the last is also the stream depth
  --rounds <n>        interleaved rounds of every case (default 3); tables show medians
  --warmup-ms <n>     warm-up per case (default 500)
  --window-ms <n>     one measurement window (default 1000)
  --windows <n>       windows per case (default 2)
  --out <file>        JSON results (default bench/results/grpc-vs-rest.json)
The servers are bin/inferd.js (dist/, built by npm run build), one per gRPC transport, each in
its own process with both protocols on.`;

type Message = Record<string, unknown>;
type Transport = 'http2' | 'grpc-js';
/**
 * rest-binary: REST on the http2 server; grpc-unary / grpc-unary-grpc-js: the grpc-js client on the
 * http2 / grpc-js transport; lean-unary / lean-unary-grpc-js: the lean client on each;
 * grpc-stream: ModelStreamInfer on the http2 transport; grpc-bare: the bare grpc-js server.
 */
type Path =
  | 'rest-binary'
  | 'grpc-unary'
  | 'grpc-unary-grpc-js'
  | 'lean-unary'
  | 'lean-unary-grpc-js'
  | 'grpc-stream'
  | 'grpc-bare';

interface CaseResult {
  readonly model: string;
  readonly path: Path;
  readonly concurrency: number;
  readonly round: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p99Us: number;
  /** The server's event-loop (main thread) CPU time per inference, or null where not measured. */
  readonly serverCpuUs: number | null;
  readonly stable: boolean;
}

/**
 * CPU seconds (user + system) of a process's main thread, from /proc (NaN where there is none):
 * the event loop, where the protocol edges run. The model's worker threads (onnxruntime's pool
 * spins while it waits) are left out, so this is what each edge itself costs.
 */
function mainThreadCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface InferdServer {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts inferd with REST and gRPC on free ports; resolves once /v2/health/ready answers 200. */
async function startServer(models: readonly string[], transport: Transport): Promise<InferdServer> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const args = [
    path.join(REPO_ROOT, 'bin', 'inferd.js'),
    'serve',
    ...['--model-repository', path.join(REPO_ROOT, 'examples', 'models'), '--host', HOST],
    ...['--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--metrics-port', 'off'],
    ...['--log-level', 'warn', '--model-control-mode', 'explicit', '--grpc-server', transport],
    ...models.flatMap((m) => ['--load-model', m]),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const probe = new KServeClient(HOST, httpPort);
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`inferd exited (code ${child.exitCode}) before it was ready`);
      const ok = await probe.request('GET', '/v2/health/ready').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error('inferd was not ready after 30 s');
      await sleep(100);
    }
  } finally {
    probe.close();
  }
  return {
    httpPort,
    grpcPort,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A lean unary gRPC client on node:http2: one connection, the request encoded once, each call a
 * stream with the frame and END_STREAM, the answer's status read from its trailers.
 */
function leanUnary(port: number, request: Message): { infer: () => Promise<void>; close: () => void } {
  const method = loadInferenceProtos().inference.service.ModelInfer;
  if (method === undefined) throw new Error('no ModelInfer in the protos');
  const body = method.requestSerialize(request);
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const session = http2.connect(`http://${HOST}:${port}`);
  session.on('error', () => undefined);
  const headers = {
    ':method': 'POST',
    ':path': method.path,
    'content-type': 'application/grpc',
    te: 'trailers',
  };
  return {
    infer: () =>
      new Promise<void>((resolve, reject) => {
        const stream = session.request(headers, { endStream: false });
        let status: string | undefined;
        stream.on('response', (h) => {
          if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        });
        stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
          status = String(t['grpc-status']);
        });
        stream.on('data', () => undefined);
        stream.on('end', () => (status === '0' ? resolve() : reject(new Error(`lean gRPC call: status ${status}`))));
        stream.on('error', reject);
        stream.end(frame);
      }),
    close: () => session.close(),
  };
}

/** The bare grpc-js server (bench/lib/bare-grpc-server.ts) answering with inferd's own responses. */
async function startBareServer(
  canned: Record<string, Message>,
): Promise<{ port: number; pid: number | undefined; stop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'inferd-bare-grpc-'));
  const file = path.join(dir, 'canned.json');
  const encoded = Object.fromEntries(
    Object.entries(canned).map(([model, r]) => [
      model,
      {
        ...r,
        raw_output_contents: ((r.raw_output_contents as Buffer[] | undefined) ?? []).map((b) => b.toString('base64')),
      },
    ]),
  );
  await writeFile(file, JSON.stringify(encoded));
  const port = await freePort();
  const script = path.join(REPO_ROOT, 'bench', 'lib', 'bare-grpc-server.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port), file], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`bare gRPC server exited (code ${code})`)));
  });
  return {
    port,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sample inputs from the model's metadata: batch 1, dynamic dimensions 1. */
async function modelInputs(client: KServeClient, model: string): Promise<SampleTensor[]> {
  const meta = (await client.getJson(`/v2/models/${model}`)) as {
    inputs: { name: string; datatype: SampleDatatype; shape: number[] }[];
  };
  return meta.inputs.map((i) =>
    sampleTensor(
      i.name,
      i.datatype,
      i.shape.map((d) => (d < 0 ? 1 : d)),
    ),
  );
}

function grpcRequest(model: string, inputs: readonly SampleTensor[]): Message {
  return {
    model_name: model,
    inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    raw_input_contents: inputs.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
  };
}

type UnaryCall = (req: Message, cb: (err: grpc.ServiceError | null, res?: Message) => void) => void;

function grpcUnary(client: grpc.Client): (req: Message) => Promise<Message> {
  const call = (client as unknown as Record<string, UnaryCall>).ModelInfer!.bind(client);
  return (req) =>
    new Promise((resolve, reject) => call(req, (err, res) => (err === null ? resolve(res ?? {}) : reject(err))));
}

/** One ModelStreamInfer stream; each call writes a request and resolves with its response, matched by id. */
function grpcStream(client: grpc.Client): { infer(req: Message): Promise<Message>; close(): void } {
  const open = (client as unknown as Record<string, () => grpc.ClientDuplexStream<Message, Message>>).ModelStreamInfer!;
  const stream = open.call(client);
  const waiting = new Map<string, { resolve(m: Message): void; reject(e: Error): void }>();
  let next = 0;
  stream.on('data', (m: { error_message: string; infer_response: Message }) => {
    const id = String(m.infer_response.id);
    const w = waiting.get(id);
    waiting.delete(id);
    if (m.error_message !== '') w?.reject(new Error(m.error_message));
    else w?.resolve(m.infer_response);
  });
  stream.on('error', (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
  });
  return {
    infer(req) {
      const id = String(next++);
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        stream.write({ ...req, id });
      });
    },
    close() {
      stream.end();
    },
  };
}

/** The first output of a gRPC response as numbers, to check against the REST answer. */
function firstGrpcOutput(response: Message): number[] {
  const [o] = response.outputs as { datatype: string }[];
  const [raw] = response.raw_output_contents as Buffer[];
  if (o === undefined || raw === undefined) throw new Error('gRPC response has no outputs');
  const copy = new Uint8Array(raw).buffer;
  return Array.from(o.datatype === 'INT32' ? new Int32Array(copy) : new Float32Array(copy));
}

function timed(op: () => Promise<unknown>): TimedOperation {
  return async () => {
    const start = process.hrtime.bigint();
    await op();
    return Number(process.hrtime.bigint() - start);
  };
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The median of a list (the middle value, or the mean of the two middle ones). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'simple,mlp' },
      concurrency: { type: 'string', default: '1,64' },
      rounds: { type: 'string', default: '3' },
      'warmup-ms': { type: 'string', default: '500' },
      'window-ms': { type: 'string', default: '1000' },
      windows: { type: 'string', default: '2' },
      out: { type: 'string', default: path.join(REPO_ROOT, 'bench', 'results', 'grpc-vs-rest.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const models = values.models.split(',').filter((m) => m !== '');
  const concurrencies = values.concurrency.split(',').map(Number);
  const rounds = Number(values.rounds);
  const windows = Number(values.windows);
  const options: LoadOptions = {
    warmupMs: Number(values['warmup-ms']),
    windowMs: Number(values['window-ms']),
    windows,
    maxWindows: windows * 2,
    tolerance: 0.1,
  };
  const streamDepth = Math.max(...concurrencies);
  const servers: Record<Transport, InferdServer> = {
    http2: await startServer(models, 'http2'),
    'grpc-js': await startServer(models, 'grpc-js'),
  };
  const protos = loadInferenceProtos();
  const channelOptions = {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.enable_channelz': 0,
  };
  const results: CaseResult[] = [];
  const canned: Record<string, Message> = {};
  const requests: Record<string, Message> = {};
  const measure = async (
    model: string,
    p: Path,
    round: number,
    ops: readonly TimedOperation[],
    pid: number | undefined,
  ): Promise<void> => {
    const cpu = (): Promise<number> => Promise.resolve(mainThreadCpuSeconds(pid));
    const m: LoadMeasurement<number> = await measureLoad(ops, options, cpu);
    const used = m.accepted.reduce((s, a) => s + (a.after - a.before), 0);
    const serverCpuUs = Number.isFinite(used) && m.count > 0 ? (used / m.count) * 1e6 : null;
    results.push({
      model,
      path: p,
      concurrency: ops.length,
      round,
      throughput: m.throughput,
      p50Us: m.p50Us,
      p99Us: m.p99Us,
      serverCpuUs,
      stable: m.stable,
    });
    console.error(
      `  r${round} ${model} ${p} c${ops.length}: ${fmt(m.throughput)} inf/s, p99 ${fmt(m.p99Us)} µs` +
        `${serverCpuUs === null ? '' : `, server ${fmt(serverCpuUs)} µs CPU/inf`}${m.stable ? '' : ' (unstable)'}`,
    );
  };
  try {
    const meta = new KServeClient(HOST, servers.http2.httpPort);
    const clients = {
      http2: new protos.inference(
        `${HOST}:${servers.http2.grpcPort}`,
        grpc.credentials.createInsecure(),
        channelOptions,
      ),
      'grpc-js': new protos.inference(
        `${HOST}:${servers['grpc-js'].grpcPort}`,
        grpc.credentials.createInsecure(),
        channelOptions,
      ),
    };
    const bodies = new Map<string, ReturnType<typeof binaryRequest>>();
    for (const model of models) {
      const inputs = await modelInputs(meta, model);
      const body = binaryRequest(inputs);
      bodies.set(model, body);
      const request = grpcRequest(model, inputs);
      requests[model] = request;
      // Every protocol and transport must give the same answer before anything is timed.
      const restAnswer = JSON.stringify(
        [...readOutputs(await meta.request('POST', `/v2/models/${model}/infer`, body.headers, body.body)).values()][0],
      );
      for (const transport of ['http2', 'grpc-js'] as const) {
        const response = await grpcUnary(clients[transport])(request);
        if (transport === 'http2') canned[model] = response;
        if (JSON.stringify(firstGrpcOutput(response)) !== restAnswer)
          throw new Error(`${model}: REST and gRPC (${transport}) outputs differ`);
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const model of models) {
        const body = bodies.get(model);
        const request = requests[model];
        if (body === undefined || request === undefined) continue;
        for (const c of concurrencies) {
          const restClients = Array.from({ length: c }, () => new KServeClient(HOST, servers.http2.httpPort));
          const restOps = restClients.map((client) =>
            timed(async () => {
              const reply = await client.request('POST', `/v2/models/${model}/infer`, body.headers, body.body);
              if (reply.status !== 200) throw new Error(`REST infer: HTTP ${reply.status}`);
            }),
          );
          const leans = {
            http2: leanUnary(servers.http2.grpcPort, request),
            'grpc-js': leanUnary(servers['grpc-js'].grpcPort, request),
          };
          // One channel (one HTTP/2 connection) carries every concurrent call, as gRPC clients do.
          const cases: [Path, readonly TimedOperation[], number | undefined][] = [
            ['rest-binary', restOps, servers.http2.pid],
            [
              'grpc-unary',
              Array.from({ length: c }, () => timed(() => grpcUnary(clients.http2)(request))),
              servers.http2.pid,
            ],
            [
              'grpc-unary-grpc-js',
              Array.from({ length: c }, () => timed(() => grpcUnary(clients['grpc-js'])(request))),
              servers['grpc-js'].pid,
            ],
            ['lean-unary', Array.from({ length: c }, () => timed(leans.http2.infer)), servers.http2.pid],
            [
              'lean-unary-grpc-js',
              Array.from({ length: c }, () => timed(leans['grpc-js'].infer)),
              servers['grpc-js'].pid,
            ],
          ];
          // Each round starts at a different case, so a slow spell does not always fall on one.
          for (let i = 0; i < cases.length; i++) {
            const [p, ops, pid] = cases[(i + round - 1) % cases.length]!;
            await measure(model, p, round, ops, pid);
          }
          for (const client of restClients) client.close();
          leans.http2.close();
          leans['grpc-js'].close();
        }
        const stream = grpcStream(clients.http2);
        const streamOps = Array.from({ length: streamDepth }, () => timed(() => stream.infer(request)));
        await measure(model, 'grpc-stream', round, streamOps, servers.http2.pid);
        stream.close();
      }
    }
    clients.http2.close();
    clients['grpc-js'].close();
    meta.close();
  } finally {
    await Promise.all([servers.http2.stop(), servers['grpc-js'].stop()]);
  }
  // grpc-js's floor, measured with inferd stopped so both get the same machine.
  const bare = await startBareServer(canned);
  try {
    const bareClient = new protos.inference(`${HOST}:${bare.port}`, grpc.credentials.createInsecure(), channelOptions);
    const bareInfer = grpcUnary(bareClient);
    for (const model of models) {
      // The same request message as inferd got, so the client and the decoding cost the same.
      const request = requests[model];
      if (request === undefined) continue;
      for (const c of concurrencies) {
        const ops = Array.from({ length: c }, () => timed(() => bareInfer(request)));
        await measure(model, 'grpc-bare', 1, ops, bare.pid);
      }
    }
    bareClient.close();
  } finally {
    await bare.stop();
  }
  printTable(results, concurrencies, streamDepth);
  const machine = describeMachine(REPO_ROOT);
  await mkdir(path.dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify({ machine, options, rounds, results }, null, 2)}\n`);
  console.log(`\nmachine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}; results in ${values.out}`);
}

function printTable(results: readonly CaseResult[], concurrencies: readonly number[], streamDepth: number): void {
  const models = [...new Set(results.map((r) => r.model))];
  const rounds = [...new Set(results.map((r) => r.round))];
  const one = (model: string, p: Path, c: number, round: number): CaseResult | undefined =>
    results.find((r) => r.model === model && r.path === p && r.concurrency === c && r.round === round);
  const all = (model: string, p: Path, c: number): CaseResult[] =>
    results.filter((r) => r.model === model && r.path === p && r.concurrency === c);
  /** Median throughput over the rounds, or undefined. */
  const tp = (model: string, p: Path, c: number): number | undefined => {
    const rs = all(model, p, c);
    return rs.length === 0 ? undefined : median(rs.map((r) => r.throughput));
  };
  /** Median over rounds of the ratio measured within each round. */
  const ratio = (model: string, a: Path, b: Path, c: number): number | undefined => {
    const values = rounds.flatMap((round) => {
      const x = one(model, a, c, round);
      const y = one(model, b, c, round);
      return x === undefined || y === undefined ? [] : [x.throughput / y.throughput];
    });
    return values.length === 0 ? undefined : median(values);
  };
  const cpu = (model: string, p: Path, c: number): string => {
    const values = all(model, p, c).flatMap((r) => (r.serverCpuUs === null ? [] : [r.serverCpuUs]));
    return values.length === 0 ? '–' : fmt(median(values));
  };
  const n = (v: number | undefined): string => (v === undefined ? '–' : fmt(v));
  const x = (v: number | undefined): string => (v === undefined ? '–' : `${fmt(v, 2)}×`);
  const rows: string[][] = [
    [
      'model',
      'case',
      'REST inf/s',
      'http2 inf/s',
      'grpc-js inf/s',
      'http2/REST',
      'http2/grpc-js',
      'lean: http2/REST',
      'lean: http2/grpc-js',
      'event-loop CPU µs/inf REST · http2 · grpc-js',
      'bare grpc-js inf/s',
    ],
  ];
  for (const model of models)
    for (const c of concurrencies)
      rows.push([
        model,
        `unary c${c}`,
        n(tp(model, 'rest-binary', c)),
        n(tp(model, 'grpc-unary', c)),
        n(tp(model, 'grpc-unary-grpc-js', c)),
        x(ratio(model, 'grpc-unary', 'rest-binary', c)),
        x(ratio(model, 'grpc-unary', 'grpc-unary-grpc-js', c)),
        x(ratio(model, 'lean-unary', 'rest-binary', c)),
        x(ratio(model, 'lean-unary', 'lean-unary-grpc-js', c)),
        `${cpu(model, 'rest-binary', c)} · ${cpu(model, 'lean-unary', c)} · ${cpu(model, 'lean-unary-grpc-js', c)}`,
        n(tp(model, 'grpc-bare', c)),
      ]);
  const streamRows: string[][] = [
    ['model', `unary c${streamDepth} inf/s`, `stream ${streamDepth} outstanding inf/s`, 'stream/unary'],
  ];
  for (const model of models)
    streamRows.push([
      model,
      n(tp(model, 'grpc-unary', streamDepth)),
      n(tp(model, 'grpc-stream', streamDepth)),
      x(ratio(model, 'grpc-stream', 'grpc-unary', streamDepth)),
    ]);
  const print = (table: string[][]): void => {
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    for (const r of table)
      console.log(r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  };
  console.log(
    `\ngRPC unary (the @grpc/grpc-js client) on --grpc-server http2 and grpc-js vs REST binary; "lean" is a
node:http2 client with pre-encoded frames; server CPU: the event loop's per inference (lean clients for gRPC).
Medians of ${rounds.length} interleaved round(s), ratios taken within each round.`,
  );
  print(rows);
  console.log('\nModelStreamInfer (http2), pipelined on one stream, vs the same number of concurrent unary calls');
  print(streamRows);
  if (results.some((r) => !r.stable))
    console.log('\nsome cases did not settle within 10% over their windows (shared, loaded machine?)');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
