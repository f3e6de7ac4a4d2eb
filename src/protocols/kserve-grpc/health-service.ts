// grpc.health.v1.Health (grpc/grpc doc/health-checking.md): SERVING while the server is ready,
// NOT_SERVING before start-up loading finishes and once shutdown begins. Known services: "" (the
// whole server) and "inference.GRPCInferenceService".

import * as grpc from '@grpc/grpc-js';
import type { ServerState } from '../common/server-state.js';
import type { HealthCheckRequest, ServingStatus } from './wire-types.js';

const SERVICES = new Set(['', 'inference.GRPCInferenceService']);

export interface HealthService {
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Tells every watcher of a known service the current status (call when readiness changes). */
  notifyWatchers(): void;
  /** Tells every watcher NOT_SERVING and ends its call (shutdown must not wait on watchers). */
  endWatches(): void;
}

export function healthService(server: ServerState): HealthService {
  const watchers = new Set<grpc.ServerWritableStream<HealthCheckRequest, { status: ServingStatus }>>();
  const status = (): ServingStatus => (server.ready() ? 'SERVING' : 'NOT_SERVING');
  const implementation: grpc.UntypedServiceImplementation = {
    Check: ((call, callback) => {
      const service = call.request.service ?? '';
      if (!SERVICES.has(service)) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
        return;
      }
      callback(null, { status: status() });
    }) as grpc.handleUnaryCall<HealthCheckRequest, { status: ServingStatus }>,
    Watch: ((call) => {
      const service = call.request.service ?? '';
      // Watch answers an unknown service with SERVICE_UNKNOWN and keeps the call open.
      call.write({ status: SERVICES.has(service) ? status() : 'SERVICE_UNKNOWN' });
      if (SERVICES.has(service)) watchers.add(call);
      const forget = (): void => {
        watchers.delete(call);
      };
      call.on('cancelled', forget);
      call.on('error', forget);
    }) as grpc.handleServerStreamingCall<HealthCheckRequest, { status: ServingStatus }>,
  };
  return {
    implementation,
    notifyWatchers() {
      const now = status();
      for (const call of watchers) call.write({ status: now });
    },
    endWatches() {
      for (const call of watchers) {
        call.write({ status: 'NOT_SERVING' });
        call.end();
      }
      watchers.clear();
    },
  };
}
