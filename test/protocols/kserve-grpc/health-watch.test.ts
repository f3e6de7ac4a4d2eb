// grpc.health.v1 Watch over a real socket: a watcher that connects while the server is starting
// hears NOT_SERVING, then SERVING once readiness changes, then NOT_SERVING and the end at shutdown.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../../src/observability/logger.js';
import { grpcJsTransport } from '../../../src/protocols/kserve-grpc/grpc-js-transport.js';
import type { GrpcTransportOptions, GrpcTransport } from '../../../src/protocols/kserve-grpc/grpc-transport.js';
import { healthService } from '../../../src/protocols/kserve-grpc/health-service.js';
import { http2Transport } from '../../../src/protocols/kserve-grpc/http2-transport.js';
import { loadInferenceProtos } from '../../../src/protocols/kserve-grpc/proto-definitions.js';

type Message = Record<string, unknown>;

const TRANSPORTS: Record<string, (options: GrpcTransportOptions) => GrpcTransport> = {
  http2: http2Transport,
  'grpc-js': grpcJsTransport,
};

for (const [kind, transport] of Object.entries(TRANSPORTS))
  test(`Watch follows readiness from start-up to shutdown (${kind})`, async () => {
    let ready = false;
    const health = healthService({
      name: 'inferd',
      version: 'test',
      phase: () => (ready ? 'serving' : 'starting'),
      ready: () => ready,
    });
    const protos = loadInferenceProtos();
    const server = transport({
      services: [{ definition: protos.health.service, handlers: health.implementation }],
      logger: createLogger('silent'),
      maxMessageBytes: 1 << 20,
      maxConcurrentStreams: 128,
    });
    const port = await server.listen('127.0.0.1', 0, undefined);
    const client = new protos.health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const watch = (
        client as unknown as Record<string, (req: Message) => grpc.ClientReadableStream<Message>>
      ).Watch!.call(client, { service: '' });
      const statuses: unknown[] = [];
      const ended = new Promise<void>((resolve) => watch.once('end', resolve));
      const next = (): Promise<void> =>
        new Promise((resolve) =>
          watch.once('data', (m: Message) => {
            statuses.push(m.status);
            resolve();
          }),
        );
      await next();
      ready = true;
      const serving = next();
      health.notifyWatchers();
      await serving;
      ready = false;
      const notServing = next();
      health.endWatches();
      await notServing;
      await ended;
      assert.deepEqual(statuses, ['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
    } finally {
      client.close();
      server.forceClose();
    }
  });
