// A minimal KServe v2 REST client over node:http with one kept-alive connection (concurrency 1),
// timing each request from the first byte written to the last byte of the response read.

import http from 'node:http';

export interface HttpReply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** From just before the request is written to the end of the response body. */
  readonly latencyNs: number;
}

export interface StatDuration {
  readonly count: number;
  readonly ns: number;
}

/** The fields of Triton's model statistics the benchmark reads. */
export interface InferenceStats {
  readonly success: StatDuration;
  readonly fail: StatDuration;
  readonly queue: StatDuration;
  readonly compute_input: StatDuration;
  readonly compute_infer: StatDuration;
  readonly compute_output: StatDuration;
}

export class KServeClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  request(method: string, path: string, headers: http.OutgoingHttpHeaders = {}, body?: Buffer): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      const start = process.hrtime.bigint();
      const req = http.request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path,
          headers: body === undefined ? headers : { ...headers, 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const latencyNs = Number(process.hrtime.bigint() - start);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks),
              latencyNs,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async getJson(path: string): Promise<unknown> {
    const reply = await this.request('GET', path);
    if (reply.status !== 200) throw new Error(`GET ${path}: HTTP ${reply.status} ${reply.body.toString('utf8')}`);
    return JSON.parse(reply.body.toString('utf8')) as unknown;
  }

  async inferenceStats(model: string): Promise<InferenceStats> {
    const body = (await this.getJson(`/v2/models/${encodeURIComponent(model)}/stats`)) as {
      model_stats?: { inference_stats?: InferenceStats }[];
    };
    const stats = body.model_stats?.[0]?.inference_stats;
    if (stats === undefined) throw new Error(`no statistics for model '${model}'`);
    return stats;
  }

  close(): void {
    this.agent.destroy();
  }
}
