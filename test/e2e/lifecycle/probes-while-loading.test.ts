// The server listens before it loads: while a model's load is held (its labels file is a FIFO that
// nobody has written yet), liveness answers 200, readiness says "starting", a model not loaded
// yet is a 503 to retry (not a 404), and gRPC health says NOT_SERVING. Once the load completes the
// server is ready and an unknown model is a 404 again.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { simpleModel } from '../../../tools/examples/example-models.js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';
import { startServer, type RunningServer } from '../../../src/server.js';
import { makeRepository, removeRepository, writeFiles } from '../../helpers/repository-files.js';
import { A16, B16, SIMPLE_CONFIG, inferSimple } from '../repository/fixtures.js';

describe('probes while the models load', () => {
  let repo = '';

  before(async () => {
    repo = await makeRepository(simpleModel());
    // `held` is simple under another name whose labels file blocks its reader until written.
    await writeFiles(repo, [
      { path: 'held/1/model.onnx', bytes: simpleModel()[0]?.bytes ?? new Uint8Array() },
      {
        path: 'held/config.yaml',
        bytes: SIMPLE_CONFIG.replace(
          '{ name: OUTPUT0, data_type: TYPE_INT32, dims: [16] }',
          '{ name: OUTPUT0, data_type: TYPE_INT32, dims: [16], label_filename: labels.txt }',
        ),
      },
    ]);
    execFileSync('mkfifo', [path.join(repo, 'held', 'labels.txt')]);
  });

  after(async () => {
    await removeRepository(repo);
  });

  it('answers liveness at once, readiness and models only once loaded', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const starting = startServer(
      { modelRepository: repo, host: '127.0.0.1', httpPort: 0, grpcPort: 0, metricsPort: null, logLevel: 'debug' },
      { logDestination: destination },
    );
    let server: RunningServer | undefined;
    try {
      const listening = await waitForLine(lines, 'listening; loading the models');
      const url = `http://127.0.0.1:${String(listening.httpPort)}`;

      assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
      assert.equal((await fetch(`${url}/health`)).status, 200);
      assert.equal((await fetch(`${url}/v2/health/ready`)).status, 400);
      const ready = await fetch(`${url}/ready`);
      assert.deepEqual([ready.status, await ready.json()], [503, { status: 'starting' }]);

      const held = await inferSimple(url, 'held', A16, B16);
      assert.equal(held.status, 503);
      const unknown = await fetch(`${url}/v2/models/not-yet/infer`, { method: 'POST', body: '{}' });
      assert.equal(unknown.status, 503);
      assert.ok(unknown.headers.get('retry-after') !== null, 'a 503 while starting says when to retry');
      assert.match(((await unknown.json()) as { error: string }).error, /starting/);

      const protos = loadInferenceProtos();
      const health = new protos.health(`127.0.0.1:${String(listening.grpcPort)}`, grpc.credentials.createInsecure());
      try {
        const status = await new Promise<unknown>((resolve, reject) =>
          (health as unknown as { Check: CheckFn }).Check.call(health, { service: '' }, (err, res) =>
            err ? reject(err) : resolve(res?.status),
          ),
        );
        assert.equal(status, 'NOT_SERVING');
      } finally {
        health.close();
      }

      // Written from another process: opening a FIFO blocks until both ends are open, and this
      // process's I/O threads are the server's too.
      const labels = Array.from({ length: 16 }, (_, i) => `l${i}`).join('\n');
      await promisify(execFile)('sh', [
        '-c',
        'printf "%s\\n" "$1" > "$2"',
        'sh',
        labels,
        path.join(repo, 'held', 'labels.txt'),
      ]);
      server = await starting;
      assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
      assert.deepEqual(await (await fetch(`${url}/ready`)).json(), { status: 'ready' });
      assert.equal((await inferSimple(url, 'held', A16, B16)).status, 200);
      const gone = await fetch(`${url}/v2/models/not-yet/infer`, { method: 'POST', body: '{}' });
      assert.equal(gone.status, 404);
    } finally {
      server ??= await starting;
      await server.close();
    }
  });
});

type CheckFn = (
  request: { service: string },
  callback: (err: grpc.ServiceError | null, res?: { status?: unknown }) => void,
) => void;

async function waitForLine(lines: Record<string, unknown>[], msg: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const line = lines.find((l) => l.msg === msg);
    if (line !== undefined) return line;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no '${msg}' log line`);
}
