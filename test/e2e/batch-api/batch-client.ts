// A minimal client of the OpenAI-shaped Files and Batch APIs for the end-to-end tests: uploads
// with the platform's FormData (real multipart), JSON calls that keep the status, and polling.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { TestServer } from '../../helpers/test-server.js';

export type Json = Record<string, unknown>;

export interface JsonReply {
  readonly status: number;
  readonly body: Json;
}

export interface BatchJson extends Json {
  id: string;
  status: string;
  output_file_id: string | null;
  error_file_id: string | null;
  request_counts: { total: number; completed: number; failed: number };
  errors: {
    object: 'list';
    data: { code: string; message: string; param: string | null; line: number | null }[];
  } | null;
}

export async function call(server: TestServer, method: string, path: string, body?: unknown): Promise<JsonReply> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
  });
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    assert.fail(`${method} ${path} answered ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body: parsed };
}

export async function upload(
  server: TestServer,
  content: string,
  { purpose = 'batch', filename = 'requests.jsonl' } = {},
): Promise<JsonReply> {
  const form = new FormData();
  form.append('purpose', purpose);
  form.append('file', new Blob([content], { type: 'application/jsonl' }), filename);
  const res = await fetch(`${server.url}/v1/files`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as Json };
}

/** Uploads the lines as a JSONL file and creates a batch on it; returns the created batch. */
export async function submitBatch(
  server: TestServer,
  lines: readonly unknown[],
  endpoint = '/v2/infer',
): Promise<BatchJson> {
  const file = await upload(server, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  assert.equal(file.status, 200, JSON.stringify(file.body));
  const batch = await call(server, 'POST', '/v1/batches', {
    input_file_id: file.body.id,
    endpoint,
    completion_window: '24h',
  });
  assert.equal(batch.status, 200, JSON.stringify(batch.body));
  return batch.body as BatchJson;
}

export async function getBatch(server: TestServer, id: string): Promise<BatchJson> {
  const reply = await call(server, 'GET', `/v1/batches/${id}`);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body as BatchJson;
}

/** Polls until the batch satisfies `done` (by default: reaches a final status). */
export async function waitForBatch(
  server: TestServer,
  id: string,
  done: (b: BatchJson) => boolean = (b) => ['completed', 'failed', 'expired', 'cancelled'].includes(b.status),
  timeoutMs = 60_000,
): Promise<BatchJson> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const batch = await getBatch(server, id);
    if (done(batch)) return batch;
    if (Date.now() > until) assert.fail(`batch ${id} still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The lines of a file's content, parsed. */
export async function fileLines(server: TestServer, fileId: string): Promise<Json[]> {
  const res = await fetch(`${server.url}/v1/files/${fileId}/content`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.ok(text.endsWith('\n'), 'a JSONL file ends with a newline');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Json);
}

/** A v2 infer request line for the example `simple` model (INPUT0 + INPUT1 → OUTPUT0 sum, OUTPUT1 difference). */
export function simpleLine(customId: string, a: number, b: number, url = '/v2/models/simple/infer'): Json {
  return {
    custom_id: customId,
    method: 'POST',
    url,
    body: {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(a) },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: new Array<number>(16).fill(b) },
      ],
    },
  };
}

/**
 * Holds the server's in-flight upload budget: two uploads declaring `declared` bytes, of which only
 * a few are sent, stay open (one refused because a probe was counted at that moment is sent again)
 * until `release()`.
 */
export function holdUploads(url: string, declared: number): { release(): void } {
  const held: http.ClientRequest[] = [];
  let releasing = false;
  const hold = (): void => {
    const req = http.request(`${url}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=zz', 'content-length': String(declared) },
    });
    req.on('error', () => undefined);
    req.on('response', (res) => {
      res.resume();
      if (!releasing) hold();
    });
    req.write('--zz\r\n');
    held.push(req);
  };
  hold();
  hold();
  return {
    release() {
      releasing = true;
      for (const req of held) req.destroy();
    },
  };
}
