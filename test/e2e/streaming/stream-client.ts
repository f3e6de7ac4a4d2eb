// A small test client for the WebSocket infer stream: opens the socket, queues every message it
// receives, and hands them out in arrival order.

import { WebSocket } from 'ws';

export interface Received {
  readonly text: string | undefined;
  /** Binary replies: the 4-byte length prefix, the JSON header and the tensor bytes. */
  readonly binary: Buffer | undefined;
}

export interface StreamClient {
  readonly socket: WebSocket;
  /** The next message, waiting for it if none has arrived. */
  next(): Promise<Received>;
  /** The next message, parsed as JSON (a text message, or a binary one's header). */
  nextJson(): Promise<Record<string, unknown>>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

export function streamUrl(httpUrl: string, model: string, version?: string): string {
  const base = httpUrl.replace(/^http/, 'ws');
  return `${base}/v2/models/${model}${version === undefined ? '' : `/versions/${version}`}/infer/stream`;
}

/** The JSON header of a binary reply, and the bytes after it. */
export function splitBinary(message: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const length = message.readUInt32LE(0);
  return {
    header: JSON.parse(message.toString('utf8', 4, 4 + length)) as Record<string, unknown>,
    data: message.subarray(4 + length),
  };
}

/** A binary request message: the prefix, the JSON header, then the tensor bytes. */
export function binaryMessage(header: unknown, ...blobs: ArrayBufferView[]): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(json.length, 0);
  return Buffer.concat([prefix, json, ...blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))]);
}

export async function openStream(url: string): Promise<StreamClient> {
  const socket = new WebSocket(url);
  const messages: Received[] = [];
  const waiting: ((m: Received) => void)[] = [];
  socket.on('message', (data: Buffer, isBinary) => {
    const m = isBinary ? { text: undefined, binary: data } : { text: data.toString('utf8'), binary: undefined };
    const w = waiting.shift();
    if (w !== undefined) w(m);
    else messages.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const next = (): Promise<Received> => {
    const m = messages.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      waiting.push(resolve);
      void closed.then(({ code }) => reject(new Error(`stream closed (${code}) while a message was awaited`)));
    });
  };
  return {
    socket,
    next,
    async nextJson() {
      const m = await next();
      return m.text !== undefined ? (JSON.parse(m.text) as Record<string, unknown>) : splitBinary(m.binary!).header;
    },
    closed,
  };
}

/** The HTTP status and body of an upgrade the server refuses. */
export function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('error', () => undefined);
  });
}
