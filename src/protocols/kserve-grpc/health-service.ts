// grpc.health.v1.Health (grpc/grpc doc/health-checking.md): SERVING while the server is ready,
// NOT_SERVING before start-up loading finishes and once shutdown begins. Known services: "" (the
// whole server) and "inference.GRPCInferenceService".

import type { ServerState } from '../common/server-state.js';
import { serverStreamMethod, unaryMethod, type ServerStreamCall, type ServiceHandlers } from './grpc-call.js';
import { GRPC_STATUS } from './grpc-status.js';
import type { HealthCheckRequest, ServingStatus } from './wire-types.js';

const SERVICES = new Set(['', 'inference.GRPCInferenceService']);

export interface HealthService {
  readonly implementation: ServiceHandlers;
  /** Tells every watcher of a known service the current status (call when readiness changes). */
  notifyWatchers(): void;
  /** Tells every watcher NOT_SERVING and ends its call (shutdown must not wait on watchers). */
  endWatches(): void;
}

type WatchCall = ServerStreamCall<HealthCheckRequest, { status: ServingStatus }>;

export function healthService(server: ServerState): HealthService {
  const watchers = new Set<WatchCall>();
  const status = (): ServingStatus => (server.ready() ? 'SERVING' : 'NOT_SERVING');
  const implementation: ServiceHandlers = {
    Check: unaryMethod<HealthCheckRequest, { status: ServingStatus }>((call, callback) => {
      const service = call.request.service ?? '';
      if (!SERVICES.has(service)) {
        callback({ code: GRPC_STATUS.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
        return;
      }
      callback(null, { status: status() });
    }),
    Watch: serverStreamMethod((call: WatchCall) => {
      const service = call.request.service ?? '';
      // Watch answers an unknown service with SERVICE_UNKNOWN and keeps the call open.
      call.write({ status: SERVICES.has(service) ? status() : 'SERVICE_UNKNOWN' });
      if (SERVICES.has(service)) watchers.add(call);
      call.onCancelled(() => {
        watchers.delete(call);
      });
    }),
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
