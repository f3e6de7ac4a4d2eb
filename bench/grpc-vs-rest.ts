// What the KServe v2 gRPC edge costs against REST with binary tensors, on the same server process:
// unary ModelInfer vs POST .../infer (binary), at concurrency 1 and 64, and ModelStreamInfer with
// 64 requests outstanding on one stream vs 64 concurrent unary calls; and, as the transport's floor,
// a bare grpc-js server answering the same RPC with a canned response. Prints ratios in one table.
// Run: npm run bench:grpc (or node --import tsx bench/grpc-vs-rest.ts --help).

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  --warmup-ms <n>     warm-up per case (default 1000)
  --window-ms <n>     one measurement window (default 2000)
  --windows <n>       windows per case (default 3)
  --out <file>        JSON results (default bench/results/grpc-vs-rest.json)
The server is bin/inferd.js (dist/, built by npm run build) in its own process, both protocols on.`;

type Message = Record<string, unknown>;
type Path = 'rest-binary' | 'grpc-unary' | 'grpc-stream' | 'grpc-bare';

interface CaseResult {
  readonly model: string;
  readonly path: Path;
  readonly concurrency: number;
  readonly throughput: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly stable: boolean;
}

/** Starts inferd with REST and gRPC on free ports; resolves once /v2/health/ready answers 200. */
async function startServer(
  models: readonly string[],
): Promise<{ httpPort: number; grpcPort: number; stop(): Promise<void> }> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const args = [
    path.join(REPO_ROOT, 'bin', 'inferd.js'),
    'serve',
    ...['--model-repository', path.join(REPO_ROOT, 'examples', 'models'), '--host', HOST],
    ...['--http-port', String(httpPort), '--grpc-port', String(grpcPort), '--metrics-port', 'off'],
    ...['--log-level', 'warn', '--model-control-mode', 'explicit'],
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
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The bare grpc-js server (bench/lib/bare-grpc-server.ts) answering with inferd's own responses. */
async function startBareServer(canned: Record<string, Message>): Promise<{ port: number; stop(): Promise<void> }> {
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string', default: 'simple,mlp' },
      concurrency: { type: 'string', default: '1,64' },
      'warmup-ms': { type: 'string', default: '1000' },
      'window-ms': { type: 'string', default: '2000' },
      windows: { type: 'string', default: '3' },
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
  const windows = Number(values.windows);
  const options: LoadOptions = {
    warmupMs: Number(values['warmup-ms']),
    windowMs: Number(values['window-ms']),
    windows,
    maxWindows: windows * 2,
    tolerance: 0.1,
  };
  const streamDepth = Math.max(...concurrencies);
  const server = await startServer(models);
  const protos = loadInferenceProtos();
  const channelOptions = {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.enable_channelz': 0,
  };
  const results: CaseResult[] = [];
  const canned: Record<string, Message> = {};
  const requests: Record<string, Message> = {};
  const record = (model: string, p: Path, concurrency: number, m: LoadMeasurement<undefined>): void => {
    results.push({
      model,
      path: p,
      concurrency,
      throughput: m.throughput,
      p50Us: m.p50Us,
      p99Us: m.p99Us,
      stable: m.stable,
    });
    console.error(
      `  ${model} ${p} c${concurrency}: ${fmt(m.throughput)} inf/s, p99 ${fmt(m.p99Us)} µs${m.stable ? '' : ' (unstable)'}`,
    );
  };
  const noSnapshot = (): Promise<undefined> => Promise.resolve(undefined);
  try {
    const meta = new KServeClient(HOST, server.httpPort);
    for (const model of models) {
      const inputs = await modelInputs(meta, model);
      const body = binaryRequest(inputs);
      const request = grpcRequest(model, inputs);
      const grpcClient = new protos.inference(
        `${HOST}:${server.grpcPort}`,
        grpc.credentials.createInsecure(),
        channelOptions,
      );
      const unaryInfer = grpcUnary(grpcClient);
      // Both protocols must give the same answer before anything is timed.
      const restAnswer = [
        ...readOutputs(await meta.request('POST', `/v2/models/${model}/infer`, body.headers, body.body)).values(),
      ][0];
      const grpcResponse = await unaryInfer(request);
      canned[model] = grpcResponse;
      requests[model] = request;
      const grpcAnswer = firstGrpcOutput(grpcResponse);
      if (JSON.stringify(restAnswer) !== JSON.stringify(grpcAnswer))
        throw new Error(`${model}: REST and gRPC outputs differ`);

      for (const c of concurrencies) {
        const restClients = Array.from({ length: c }, () => new KServeClient(HOST, server.httpPort));
        const restOps = restClients.map((client) =>
          timed(async () => {
            const reply = await client.request('POST', `/v2/models/${model}/infer`, body.headers, body.body);
            if (reply.status !== 200) throw new Error(`REST infer: HTTP ${reply.status}`);
          }),
        );
        record(model, 'rest-binary', c, await measureLoad(restOps, options, noSnapshot));
        for (const client of restClients) client.close();
        // One channel (one HTTP/2 connection) carries every concurrent call, as gRPC clients do.
        const grpcOps = Array.from({ length: c }, () => timed(() => unaryInfer(request)));
        record(model, 'grpc-unary', c, await measureLoad(grpcOps, options, noSnapshot));
      }
      const stream = grpcStream(grpcClient);
      const streamOps = Array.from({ length: streamDepth }, () => timed(() => stream.infer(request)));
      record(model, 'grpc-stream', streamDepth, await measureLoad(streamOps, options, noSnapshot));
      stream.close();
      grpcClient.close();
    }
    meta.close();
  } finally {
    await server.stop();
  }
  // The transport's floor, measured with inferd stopped so both get the same machine.
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
        record(model, 'grpc-bare', c, await measureLoad(ops, options, noSnapshot));
      }
    }
    bareClient.close();
  } finally {
    await bare.stop();
  }
  printTable(results, concurrencies, streamDepth);
  const machine = describeMachine(REPO_ROOT);
  await mkdir(path.dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify({ machine, options, results }, null, 2)}\n`);
  console.log(`\nmachine: ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}; results in ${values.out}`);
}

function printTable(results: readonly CaseResult[], concurrencies: readonly number[], streamDepth: number): void {
  const find = (model: string, p: Path, c: number) =>
    results.find((r) => r.model === model && r.path === p && r.concurrency === c);
  const models = [...new Set(results.map((r) => r.model))];
  const rows: string[][] = [
    [
      'model',
      'case',
      'REST inf/s',
      'gRPC inf/s',
      'gRPC/REST',
      'bare grpc-js inf/s',
      'gRPC/bare',
      'REST p99 µs',
      'gRPC p99 µs',
    ],
  ];
  for (const model of models) {
    for (const c of concurrencies) {
      const rest = find(model, 'rest-binary', c);
      const g = find(model, 'grpc-unary', c);
      const bare = find(model, 'grpc-bare', c);
      if (rest === undefined || g === undefined) continue;
      rows.push([
        model,
        `unary c${c}`,
        fmt(rest.throughput),
        fmt(g.throughput),
        `${fmt(g.throughput / rest.throughput, 2)}×`,
        bare === undefined ? '–' : fmt(bare.throughput),
        bare === undefined ? '–' : `${fmt(g.throughput / bare.throughput, 2)}×`,
        fmt(rest.p99Us),
        fmt(g.p99Us),
      ]);
    }
  }
  const streamRows: string[][] = [
    [
      'model',
      'unary c' + streamDepth + ' inf/s',
      `stream ${streamDepth} outstanding inf/s`,
      'stream/unary',
      'unary p99 µs',
      'stream p99 µs',
    ],
  ];
  for (const model of models) {
    const u = find(model, 'grpc-unary', streamDepth);
    const s = find(model, 'grpc-stream', streamDepth);
    if (u === undefined || s === undefined) continue;
    streamRows.push([
      model,
      fmt(u.throughput),
      fmt(s.throughput),
      `${fmt(s.throughput / u.throughput, 2)}×`,
      fmt(u.p99Us),
      fmt(s.p99Us),
    ]);
  }
  const print = (table: string[][]): void => {
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
    for (const r of table)
      console.log(r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  };
  console.log(
    '\ngRPC unary vs REST binary (same server, inferences/s and client p99), and vs a bare grpc-js server (canned answers)',
  );
  print(rows);
  console.log('\nModelStreamInfer, pipelined on one stream, vs the same number of concurrent unary calls');
  print(streamRows);
  if (results.some((r) => !r.stable))
    console.log('\nsome cases did not settle within 10% over their windows (shared, loaded machine?)');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
