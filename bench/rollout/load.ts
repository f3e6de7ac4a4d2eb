// The load: a fixed number of workers, each sending one kind of request after another through
// HAProxy, as real clients do (kept-alive HTTP/1.1 connections, one HTTP/2 channel for gRPC). Every
// request's outcome is recorded with its latency, and every answer is checked: a wrong one is lost.

import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { loadInferenceProtos } from '../../src/protocols/kserve-grpc/proto-definitions.js';

export const KINDS = ['rest-simple', 'rest-mlp', 'grpc-simple', 'sse-chat'] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABELS: Record<Kind, string> = {
  'rest-simple': 'REST simple',
  'rest-mlp': 'REST mlp',
  'grpc-simple': 'gRPC simple',
  'sse-chat': 'SSE chat',
};

export interface Outcome {
  readonly kind: Kind;
  /** The phase in which the request ended (answered or failed): a disruption's losses land in its phase. */
  readonly phase: string;
  /** Start, ms since the load began. */
  readonly startMs: number;
  readonly latencyMs: number;
  readonly ok: boolean;
  readonly error?: string;
  /** The replica that answered (HAProxy's x-served-by), when known. */
  readonly servedBy?: string;
  /** Wall clock of the start, to find the request in the logs. */
  readonly at: string;
}

export interface LoadTarget {
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly timeoutMs: number;
  /** mlp's logits for MLP_INPUTS[i], taken from one replica before the load. */
  readonly mlpReference: readonly (readonly number[])[];
}

/** A request failed or its answer was wrong; `servedBy` says which replica, when known. */
class RequestFailure extends Error {
  constructor(
    message: string,
    readonly servedBy?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function post(agent: http.Agent, t: LoadTarget, path: string, body: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body);
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const req = http.request(
      {
        agent,
        host: t.host,
        port: t.httpPort,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
        timeout: t.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const servedBy = header(res.headers, 'x-served-by');
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => fail(new RequestFailure(`response broken: ${err.message}`, servedBy)));
        res.on('close', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (!res.complete) {
            fail(
              new RequestFailure(
                `response cut: HTTP ${res.statusCode} headers and ${text.length} body bytes received`,
                servedBy,
              ),
            );
            return;
          }
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${t.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      fail(new RequestFailure(err.code === undefined ? err.message : `${err.code}: ${err.message}`)),
    );
    req.end(payload);
  });
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function expectOk(a: HttpAnswer): string | undefined {
  const servedBy = header(a.headers, 'x-served-by');
  if (a.status !== 200) {
    const text = a.body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    throw new RequestFailure(`HTTP ${a.status}: ${text.slice(0, 160)}`, servedBy);
  }
  return servedBy;
}

function randomInts(n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(Math.random() * 2000) - 1000);
}

interface V2Output {
  name: string;
  data: number[];
}

async function restSimple(agent: http.Agent, t: LoadTarget): Promise<string | undefined> {
  const in0 = randomInts(16);
  const in1 = randomInts(16);
  const answer = await post(
    agent,
    t,
    '/v2/models/simple/infer',
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: in0 },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: in1 },
      ],
    }),
  );
  const servedBy = expectOk(answer);
  const outputs = (JSON.parse(answer.body) as { outputs: V2Output[] }).outputs;
  const sum = outputs.find((o) => o.name === 'OUTPUT0')?.data;
  const diff = outputs.find((o) => o.name === 'OUTPUT1')?.data;
  if (!in0.every((v, i) => sum?.[i] === v + (in1[i] ?? 0) && diff?.[i] === v - (in1[i] ?? 0))) {
    throw new RequestFailure('wrong answer: OUTPUT0 != INPUT0 + INPUT1 or OUTPUT1 != INPUT0 - INPUT1', servedBy);
  }
  return servedBy;
}

/** Eight fixed mlp inputs (FP32 [1,256]): their answers are known, so a wrong one shows. */
export const MLP_INPUTS: readonly (readonly number[])[] = Array.from({ length: 8 }, (_, k) =>
  Array.from({ length: 256 }, (_, i) => Math.round(Math.sin(k * 256 + i) * 1000) / 1000),
);

export function mlpBody(input: readonly number[]): string {
  return JSON.stringify({ inputs: [{ name: 'input', shape: [1, 256], datatype: 'FP32', data: input }] });
}

export function mlpLogits(body: string): number[] {
  const outputs = (JSON.parse(body) as { outputs: V2Output[] }).outputs;
  const logits = outputs.find((o) => o.name === 'logits')?.data;
  if (logits?.length !== 10) throw new Error(`mlp answered no [1,10] logits: ${body.slice(0, 160)}`);
  return logits;
}

async function restMlp(agent: http.Agent, t: LoadTarget, n: number): Promise<string | undefined> {
  const k = n % MLP_INPUTS.length;
  const answer = await post(agent, t, '/v2/models/mlp/infer', mlpBody(MLP_INPUTS[k] ?? []));
  const servedBy = expectOk(answer);
  const logits = mlpLogits(answer.body);
  const reference = t.mlpReference[k] ?? [];
  if (!logits.every((v, i) => Math.abs(v - (reference[i] ?? NaN)) <= 1e-4 * Math.max(1, Math.abs(v)))) {
    throw new RequestFailure(`wrong answer: mlp logits differ from the reference for input ${k}`, servedBy);
  }
  return servedBy;
}

const CHAT_BODY = JSON.stringify({
  model: 'kjv-tiny',
  messages: [{ role: 'user', content: 'In the beginning' }],
  max_tokens: 16,
  stream: true,
});

interface ChatChunk {
  object?: string;
  choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
}

/** A streamed chat completion succeeds only if every event parses and the last one is [DONE]. */
async function sseChat(agent: http.Agent, t: LoadTarget): Promise<string | undefined> {
  const answer = await post(agent, t, '/v1/chat/completions', CHAT_BODY);
  const servedBy = expectOk(answer);
  const events = answer.body
    .split('\n\n')
    .filter((e) => e.trim().length > 0)
    .map((e) => e.replace(/^data: /, ''));
  if (events.at(-1) !== '[DONE]') {
    throw new RequestFailure(`stream ended without data: [DONE] after ${events.length} events`, servedBy);
  }
  let finish: string | null | undefined;
  for (const e of events.slice(0, -1)) {
    const chunk = JSON.parse(e) as ChatChunk;
    if (chunk.object !== 'chat.completion.chunk') throw new RequestFailure(`unexpected event: ${e}`, servedBy);
    finish ??= chunk.choices?.[0]?.finish_reason;
  }
  if (finish !== 'stop' && finish !== 'length') {
    throw new RequestFailure(`stream has no finish_reason stop or length (${String(finish)})`, servedBy);
  }
  return servedBy;
}

// ---------------------------------------------------------------------------------------------
// gRPC

type Message = Record<string, unknown>;
type UnaryMethod = (
  request: Message,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Message) => void,
) => grpc.ClientUnaryCall;

function int32Values(response: Message, name: string): number[] | undefined {
  const outputs = (response.outputs ?? []) as { name: string; contents?: { int_contents?: number[] } }[];
  const raw = (response.raw_output_contents ?? []) as Buffer[];
  const i = outputs.findIndex((o) => o.name === name);
  if (i < 0) return undefined;
  const bytes = raw[i];
  if (bytes !== undefined) {
    const copy = Uint8Array.from(bytes);
    return Array.from(new Int32Array(copy.buffer, 0, copy.byteLength / 4));
  }
  return outputs[i]?.contents?.int_contents;
}

function grpcSimple(client: grpc.Client, t: LoadTarget): Promise<string | undefined> {
  const in0 = randomInts(16);
  const in1 = randomInts(16);
  const request: Message = {
    model_name: 'simple',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], contents: { int_contents: in0 } },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], contents: { int_contents: in1 } },
    ],
  };
  const method = (client as unknown as Record<string, UnaryMethod>).ModelInfer;
  if (method === undefined) throw new Error('the inference client has no ModelInfer');
  return new Promise((resolve, reject) => {
    let servedBy: string | undefined;
    const call = method.call(
      client,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + t.timeoutMs },
      (err, response) => {
        if (err !== null) {
          reject(new RequestFailure(`gRPC ${grpc.status[err.code]}: ${err.details}`, servedBy));
          return;
        }
        const sum = int32Values(response ?? {}, 'OUTPUT0');
        const diff = int32Values(response ?? {}, 'OUTPUT1');
        if (!in0.every((v, i) => sum?.[i] === v + (in1[i] ?? 0) && diff?.[i] === v - (in1[i] ?? 0))) {
          reject(new RequestFailure('wrong answer: OUTPUT0/OUTPUT1 are not INPUT0 ± INPUT1', servedBy));
          return;
        }
        resolve(servedBy);
      },
    );
    call.on('metadata', (m: grpc.Metadata) => {
      const v = m.get('x-served-by')[0];
      if (v !== undefined) servedBy = String(v);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Workers

export class Load {
  readonly outcomes: Outcome[] = [];
  phase = 'warm-up';
  private stopped = false;
  private readonly agent: http.Agent;
  private readonly grpcClient: grpc.Client;
  private readonly t0 = performance.now();
  private workers: Promise<void>[] = [];

  constructor(
    private readonly target: LoadTarget,
    private readonly concurrency: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const protos = loadInferenceProtos();
    this.grpcClient = new protos.inference(`${target.host}:${target.grpcPort}`, grpc.credentials.createInsecure());
  }

  /** ms since the load began. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** Worker i sends KINDS[i % 4], so every kind has a quarter of the workers. */
  start(): void {
    this.workers = Array.from({ length: this.concurrency }, (_, i) =>
      this.worker(KINDS[i % KINDS.length] ?? 'rest-simple'),
    );
  }

  /** Lets every worker finish its request in flight, then closes the connections. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
    this.agent.destroy();
    this.grpcClient.close();
  }

  private async worker(kind: Kind): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const at = new Date().toISOString();
      const start = this.now();
      try {
        const servedBy = await this.one(kind, n);
        this.outcomes.push({
          kind,
          phase: this.phase,
          startMs: start,
          latencyMs: this.now() - start,
          ok: true,
          servedBy,
          at,
        });
      } catch (err) {
        const failure = err instanceof RequestFailure ? err : new RequestFailure(String(err));
        this.outcomes.push({
          kind,
          phase: this.phase,
          startMs: start,
          latencyMs: this.now() - start,
          ok: false,
          error: failure.message,
          servedBy: failure.servedBy,
          at,
        });
      }
    }
  }

  private one(kind: Kind, n: number): Promise<string | undefined> {
    switch (kind) {
      case 'rest-simple':
        return restSimple(this.agent, this.target);
      case 'rest-mlp':
        return restMlp(this.agent, this.target, n);
      case 'grpc-simple':
        return grpcSimple(this.grpcClient, this.target);
      case 'sse-chat':
        return sseChat(this.agent, this.target);
    }
  }
}
