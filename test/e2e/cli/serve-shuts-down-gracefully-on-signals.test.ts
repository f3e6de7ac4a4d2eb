// `inferd serve` on SIGTERM or SIGINT stops accepting connections at once, lets the requests in
// flight finish with 200, then exits with code 0 without waiting out the grace period.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { makeRepository, removeRepository } from '../../helpers/repository-files.js';
import { arrivedRequests, inferSlow, slowModel, waitFor } from '../repository/fixtures.js';
import { startServe } from './run-cli.js';

/** GET on a fresh connection (no pooling): resolves with the status or rejects with the socket error. */
function freshGet(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

describe('graceful shutdown', () => {
  let repo = '';

  before(async () => {
    repo = await makeRepository(slowModel('slow'));
  });

  after(async () => {
    await removeRepository(repo);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`finishes in-flight requests and exits 0 on ${signal}`, async () => {
      const serve = startServe(['-m', repo, '--host', '127.0.0.1', '--http-port', '0', '--metrics-port', 'off']);
      try {
        const serving = await serve.waitForLog((l) => l.msg === 'inferd is serving');
        const port = Number(serving.httpPort);
        assert.ok(port > 0);
        const url = `http://127.0.0.1:${port}`;

        let finished = 0;
        const inFlight = [1, 2, 3].map((v) =>
          inferSlow(url, 'slow', v).then((r) => {
            finished++;
            return r;
          }),
        );
        await waitFor(
          async () => (await arrivedRequests(url, { model: 'slow', version: '1' })) === 3,
          10_000,
          'three requests to reach the server',
        );

        serve.child.kill(signal);
        await serve.waitForLog((l) => String(l.msg).startsWith('shutting down'));
        await assert.rejects(freshGet(port, '/v2/health/live'), { code: 'ECONNREFUSED' });
        assert.ok(finished < 3, 'the new connection was refused while requests were still in flight');

        const replies = await Promise.all(inFlight);
        assert.deepEqual(
          replies.map((r) => [r.status, r.body.outputs?.[0]?.data[0]]),
          [
            [200, 1],
            [200, 2],
            [200, 3],
          ],
        );
        // The default grace period is 30 s: exiting well before it means the keep-alive
        // connections of the finished requests did not hold the shutdown.
        const repliedAt = Date.now();
        assert.deepEqual(await serve.exited, { code: 0, signal: null });
        assert.ok(Date.now() - repliedAt < 5000, `exited ${Date.now() - repliedAt} ms after the last reply`);
        const signalLine = serve.logs.find((l) => l.msg === 'signal received');
        assert.equal(signalLine?.signal, signal);
        assert.deepEqual(serve.otherLines, []);
      } finally {
        serve.child.kill('SIGKILL');
      }
    });
  }
});
