// A keep-alive node:http (or node:https) client for the load loop and for the server's metadata and statistics
// endpoints. Infer requests are timed from just before the request is written to the last byte
// of the response, the client latency perf_analyzer reports. An https:// URL trusts the system's
// CAs and those named by NODE_EXTRA_CA_CERTS.

import http from 'node:http';
import https from 'node:https';

export interface HttpReply {
  readonly status: number;
  /** The body, kept only when asked for (metadata) or when the status is an error. */
  readonly body: Buffer;
  readonly latencyNs: number;
}

/** Requests that get no answer in this long fail (and count as errors) rather than hang the run. */
export const REQUEST_TIMEOUT_MS = 60_000;

export class HttpClient {
  readonly baseUrl: string;
  private readonly host: string;
  private readonly port: number;
  private readonly pathPrefix: string;
  private readonly agent: http.Agent;
  private readonly send: typeof http.request;

  /** `maxSockets` bounds the connections; the load loop never has more requests outstanding. */
  constructor(baseUrl: string, maxSockets: number) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new Error(`--url must be a URL such as http://127.0.0.1:8000, got '${baseUrl}'`);
    }
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:')
      throw new Error(`--url must be an http:// or https:// URL, got '${baseUrl}'`);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.baseUrl = `${url.protocol}//${url.host}${this.pathPrefix}`;
    const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.send = secure ? https.request : http.request;
  }

  /** Resolves with the reply whatever its status; rejects only when no reply arrives. */
  request(
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    body: Buffer | undefined,
    keepBody: boolean,
  ): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      const start = process.hrtime.bigint();
      const req = this.send(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          method,
          path: this.pathPrefix + path,
          headers: body === undefined ? headers : { ...headers, 'content-length': body.length },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          const keep = keepBody || status >= 400;
          res.on('data', (chunk: Buffer) => {
            if (keep) chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            const latencyNs = Number(process.hrtime.bigint() - start);
            resolve({ status, body: Buffer.concat(chunks), latencyNs });
          });
        },
      );
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new Error(`no response within ${REQUEST_TIMEOUT_MS / 1000} s`)),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /**
   * GET returning the parsed JSON body and the status. A transport failure becomes an error that
   * names the server, since it is nearly always a wrong --url or a server that is not running.
   */
  async getJson(path: string): Promise<{ status: number; json: unknown }> {
    let reply: HttpReply;
    try {
      reply = await this.request('GET', path, { accept: 'application/json' }, undefined, true);
    } catch (err) {
      throw new Error(`cannot reach the server at ${this.baseUrl}: ${(err as Error).message}`, { cause: err });
    }
    let json: unknown = undefined;
    try {
      json = reply.body.length === 0 ? undefined : JSON.parse(reply.body.toString('utf8'));
    } catch {
      if (reply.status < 400)
        throw new Error(`GET ${this.baseUrl}${path} answered ${reply.status} with a body that is not JSON`);
    }
    return { status: reply.status, json };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The `error` string of a KServe v2 error body, or the status when there is none. */
export function errorMessage(status: number, json: unknown): string {
  if (typeof json === 'object' && json !== null && 'error' in json && typeof json.error === 'string') return json.error;
  return `HTTP ${status}`;
}
