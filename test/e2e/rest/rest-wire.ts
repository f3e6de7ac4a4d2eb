// Shared fixtures for the REST end-to-end tests: a server on the example repository with only the
// models a file needs, HTTP calls that keep the exact response bytes, and the binary tensor format.

import assert from 'node:assert/strict';
import net from 'node:net';
import type { ServerConfigInput } from '../../../src/config/server-config.js';
import { EXAMPLES_DIR, startTestServer, type TestServer } from '../../helpers/test-server.js';

/**
 * Starts the real server on port 0 over the committed example repository, loading only `models`
 * (explicit control mode), so each file starts in about a second instead of loading every model.
 */
export function startExamplesServer(
  models: readonly string[],
  options: Partial<ServerConfigInput> = {},
): Promise<TestServer> {
  return startTestServer({
    modelRepository: EXAMPLES_DIR,
    modelControlMode: 'explicit',
    loadModels: [...models],
    logLevel: 'warn',
    ...options,
  });
}

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  /** The body as UTF-8 text. */
  readonly text: string;
}

/** A JSON object read from a reply; fields are checked by the assertions that use them. */
export type JsonObject = Record<string, unknown>;

export async function request(
  url: string,
  init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.headers === undefined ? {} : { headers: init.headers }),
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
}

/** POSTs a JSON infer request (objects are serialized; strings and bytes go as they are). */
export function postInfer(
  server: TestServer,
  model: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  return request(`${server.url}/v2/models/${model}/infer`, {
    body: payload,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function parseJson(reply: Reply): JsonObject {
  const value: unknown = JSON.parse(reply.text);
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `not a JSON object: ${reply.text}`);
  return value as JsonObject;
}

/** The `outputs` of an infer response, by name. */
export function outputsByName(response: JsonObject): Map<string, JsonObject> {
  const outputs = response.outputs;
  assert.ok(Array.isArray(outputs), 'response has an outputs array');
  return new Map((outputs as JsonObject[]).map((o) => [String(o.name), o]));
}

export function output(response: JsonObject, name: string): JsonObject {
  const o = outputsByName(response).get(name);
  assert.ok(o !== undefined, `response has output '${name}'`);
  return o;
}

/**
 * Asserts a v2 error reply: the status, a JSON body of exactly {"error": string} whose message
 * contains every fragment, and no stack trace or source path in it. Returns the message.
 */
export function assertError(reply: Reply, status: number, ...fragments: string[]): string {
  assert.equal(reply.status, status, `status of ${reply.text}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  const body = parseJson(reply);
  assert.deepEqual(Object.keys(body), ['error'], `error body ${reply.text}`);
  const message = body.error;
  assert.equal(typeof message, 'string');
  const text = message as string;
  for (const fragment of fragments) assert.ok(text.includes(fragment), `"${text}" should mention "${fragment}"`);
  assert.doesNotMatch(text, /\n\s+at |\.ts:\d|\.js:\d|node_modules/, 'error message carries no stack trace');
  return text;
}

/** The `simple` model's inputs used throughout: INPUT0 = 0..15, INPUT1 = 1 everywhere. */
export const SIMPLE_IN0 = Array.from({ length: 16 }, (_, i) => i);
export const SIMPLE_IN1 = Array.from({ length: 16 }, () => 1);
export const SIMPLE_SUM = SIMPLE_IN0.map((v, i) => v + (SIMPLE_IN1[i] ?? 0));
export const SIMPLE_DIFF = SIMPLE_IN0.map((v, i) => v - (SIMPLE_IN1[i] ?? 0));

export const SIMPLE_JSON_REQUEST = {
  inputs: [
    { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: SIMPLE_IN0 },
    { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: SIMPLE_IN1 },
  ],
};

/** Sends a known-good `simple` request and checks its exact sums, proving the server still serves. */
export async function assertStillServing(server: TestServer): Promise<void> {
  const reply = await postInfer(server, 'simple', SIMPLE_JSON_REQUEST);
  assert.equal(reply.status, 200, reply.text);
  const response = parseJson(reply);
  assert.deepEqual(output(response, 'OUTPUT0').data, SIMPLE_SUM);
  assert.deepEqual(output(response, 'OUTPUT1').data, SIMPLE_DIFF);
}

// ---------------------------------------------------------------------------------------------
// Binary tensor data extension

export function int32Bytes(values: readonly number[]): Buffer {
  return Buffer.from(Int32Array.from(values).buffer);
}

export function readInt32(bytes: Uint8Array): number[] {
  const copy = Uint8Array.from(bytes);
  return Array.from(new Int32Array(copy.buffer, 0, copy.byteLength / 4));
}

export function readFloat32(bytes: Uint8Array): number[] {
  const copy = Uint8Array.from(bytes);
  return Array.from(new Float32Array(copy.buffer, 0, copy.byteLength / 4));
}

/** BYTES elements in the binary format: each a 4-byte little-endian length, then the bytes. */
export function frameBytes(elements: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of elements) {
    const bytes = typeof e === 'string' ? Buffer.from(e, 'utf8') : Buffer.from(e);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length, 0);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
}

/** Splits BYTES binary data into its elements, checking the framing covers it exactly. */
export function unframeBytes(data: Uint8Array): Buffer[] {
  const buf = Buffer.from(data);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    assert.ok(at + 4 <= buf.length, 'length prefix fits');
    const len = buf.readUInt32LE(at);
    assert.ok(at + 4 + len <= buf.length, 'element fits');
    out.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/** A JSON header followed by binary blobs, with the header's byte length. */
export function binaryBody(header: unknown, blobs: readonly Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.length };
}

export interface BinaryReply {
  readonly header: JsonObject;
  /** Binary data of each output that has parameters.binary_data_size, by name. */
  readonly blobs: Map<string, Buffer>;
}

/**
 * Decodes a binary-extension response: checks Content-Type and Inference-Header-Content-Length,
 * then cuts the blobs in output order by their binary_data_size, which must add up to the body.
 */
export function splitBinaryReply(reply: Reply): BinaryReply {
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.headers.get('content-type'), 'application/octet-stream');
  const lengthHeader = reply.headers.get('inference-header-content-length');
  assert.ok(lengthHeader !== null && /^\d+$/.test(lengthHeader), 'Inference-Header-Content-Length present');
  const headerLength = Number(lengthHeader);
  const header = JSON.parse(reply.body.toString('utf8', 0, headerLength)) as JsonObject;
  const blobs = new Map<string, Buffer>();
  let at = headerLength;
  for (const o of [...outputsByName(header).values()]) {
    const params = o.parameters as JsonObject | undefined;
    const size = params?.binary_data_size;
    if (size === undefined) continue;
    assert.equal(typeof size, 'number');
    assert.equal(o.data, undefined, `binary output '${String(o.name)}' has no JSON data`);
    blobs.set(String(o.name), reply.body.subarray(at, at + (size as number)));
    at += size as number;
  }
  assert.equal(at, reply.body.length, 'binary_data_size values cover the body exactly');
  return { header, blobs };
}

// ---------------------------------------------------------------------------------------------
// Raw sockets, for requests whose bytes must be exactly as written

export interface RawReply {
  readonly statusLine: string;
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/** Parses one Content-Length framed HTTP/1.1 response from the front of `buf`, if complete. */
function takeResponse(buf: Buffer): { reply: RawReply; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const statusLine = lines[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? '0');
  const body = buf.subarray(end + 4);
  if (body.length < length) return undefined;
  return {
    reply: { statusLine, status: Number(statusLine.split(' ')[1]), headers, body: body.subarray(0, length) },
    rest: body.subarray(length),
  };
}

/**
 * Writes each request in turn on one TCP connection, waiting for each response (Content-Length
 * framed, as this server always sends) before writing the next, as a keep-alive client does.
 */
export function rawConversation(port: number, requests: readonly Uint8Array[], timeoutMs = 5000): Promise<RawReply[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const replies: RawReply[] = [];
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms; got ${received.toString('latin1')}`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let taken;
      while ((taken = takeResponse(received)) !== undefined) {
        replies.push(taken.reply);
        received = taken.rest;
        const next = requests[replies.length];
        if (next === undefined) {
          clearTimeout(timer);
          socket.destroy();
          resolve(replies);
          return;
        }
        socket.write(next);
      }
    });
    const first = requests[0];
    if (first === undefined) {
      clearTimeout(timer);
      socket.destroy();
      resolve([]);
      return;
    }
    socket.write(first);
  });
}

/** One request on a fresh connection, its bytes exactly as given. */
export async function rawExchange(port: number, bytes: Uint8Array, timeoutMs = 5000): Promise<RawReply> {
  const [reply] = await rawConversation(port, [bytes], timeoutMs);
  assert.ok(reply !== undefined);
  return reply;
}

/** A RawReply seen through the same assertions as a fetch Reply. */
export function rawToReply(raw: RawReply): Reply {
  const headers = new Headers();
  for (const [k, v] of raw.headers) headers.set(k, v);
  return { status: raw.status, headers, body: raw.body, text: raw.body.toString('utf8') };
}
