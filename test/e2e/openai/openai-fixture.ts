// A repository for the OpenAI edge's end-to-end tests: the demo decoder kjv-tiny (its config
// extended per test), the demo embedding model kjv-embed when present, and the tensor model
// `simple`; a real server on port 0 and the official openai client pointed at it.

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import type { ExampleFile } from '../../../tools/examples/example-models.js';
import {
  EXAMPLES_DIR,
  makeRepository,
  removeRepository,
  simpleVariant,
  startTestServer,
  type TestServer,
} from '../../helpers/test-server.js';

async function copyModel(name: string, extraConfig: string): Promise<ExampleFile[]> {
  const dir = path.join(EXAMPLES_DIR, name);
  const files: ExampleFile[] = [];
  for (const file of await readdir(path.join(dir, '1'))) {
    files.push({ path: `${name}/1/${file}`, bytes: await readFile(path.join(dir, '1', file)) });
  }
  const config = await readFile(path.join(dir, 'config.yaml'), 'utf8');
  files.push({ path: `${name}/config.yaml`, bytes: `${config}\n${extraConfig}` });
  return files;
}

export const HAS_EMBED_MODEL = existsSync(path.join(EXAMPLES_DIR, 'kjv-embed/1/model.onnx'));

export interface OpenAIFixture {
  readonly server: TestServer;
  readonly client: OpenAI;
  post(urlPath: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Starts the server on a fresh repository; `kjvConfig` is YAML appended to kjv-tiny's config.yaml. */
export async function startOpenAIServer(kjvConfig = ''): Promise<OpenAIFixture> {
  const files = [
    ...(await copyModel('kjv-tiny', kjvConfig)),
    ...(HAS_EMBED_MODEL ? await copyModel('kjv-embed', '') : []),
    ...(await simpleVariant('simple')),
  ];
  const repo = await makeRepository(files);
  const batchDir = await mkdtemp(path.join(os.tmpdir(), 'inferd-openai-batches-'));
  const server = await startTestServer({ modelRepository: repo, grpcPort: null, batchDir });
  const client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'x', maxRetries: 0 });
  return {
    server,
    client,
    async post(urlPath, body) {
      const res = await fetch(server.url + urlPath, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      await server.close();
      await removeRepository(repo);
      await rm(batchDir, { recursive: true, force: true });
    },
  };
}

/** The value of one Prometheus sample line, e.g. `inferd:num_requests_running{model_name="kjv-tiny"}`. */
export async function metricValue(server: TestServer, name: string): Promise<number | undefined> {
  const text = await (await fetch(server.url + '/metrics')).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' '))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Polls until the metric has the value (the engine updates its gauges between steps); returns the last value seen. */
export async function settledMetric(server: TestServer, name: string, value: number): Promise<number | undefined> {
  let seen = await metricValue(server, name);
  for (let i = 0; i < 300 && seen !== value; i++) {
    await new Promise((r) => setTimeout(r, 10));
    seen = await metricValue(server, name);
  }
  return seen;
}
