// A port in use is reported before any model loads, naming the port and the flag that moves it
// (it used to surface after every model had loaded, as grpc-js's "No address added out of total 1
// resolved" plus a stray "E" line on stderr).

import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../../../src/server.js';
import { EXAMPLES_DIR } from '../../helpers/repository-files.js';

function holdPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('a taken port', () => {
  let holder: net.Server;
  let port = 0;

  before(async () => {
    holder = await holdPort();
    port = (holder.address() as net.AddressInfo).port;
  });

  after(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  for (const [flag, ports] of [
    ['--http-port', () => ({ httpPort: port, grpcPort: 0 })],
    ['--grpc-port', () => ({ httpPort: 0, grpcPort: port })],
    ['--metrics-port', () => ({ httpPort: 0, grpcPort: 0, metricsPort: port })],
  ] as const) {
    it(`is named with ${flag}, before any model loads`, async () => {
      const logs: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, done) {
          logs.push(chunk.toString('utf8'));
          done();
        },
      });
      await assert.rejects(
        startServer(
          { modelRepository: EXAMPLES_DIR, host: '127.0.0.1', metricsPort: null, logLevel: 'debug', ...ports() },
          { logDestination: destination },
        ),
        (err: Error) => {
          assert.match(err.message, new RegExp(`port ${port} is already in use: .*${flag}`));
          return true;
        },
      );
      assert.ok(!logs.some((l) => l.includes('"model ready"')), 'no model was loaded');
    });
  }
});
