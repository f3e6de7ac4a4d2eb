// What a gRPC transport is given and what it does: serve the services' handlers (grpc-call.ts) on
// one listener, with the access gate in front of every call, the error counter behind it, and the
// message size limit in both directions. Two transports implement it: node:http2 (the default,
// http2-transport.ts) and @grpc/grpc-js (grpc-js-transport.ts, kept selectable for one release).

import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../observability/logger.js';
import type { TlsFileWatcher } from '../../security/tls.js';
import type { AccessGate } from './grpc-access.js';
import type { ServiceHandlers } from './grpc-call.js';

/** A service: its definition (paths, kinds, the protobuf codecs) and its handlers by method name. */
export interface GrpcService {
  readonly definition: grpc.ServiceDefinition;
  readonly handlers: ServiceHandlers;
}

export interface GrpcTransportOptions {
  readonly services: readonly GrpcService[];
  readonly logger: Logger;
  /** Largest message accepted or sent; larger ones fail RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Open calls per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Who may call what; absent = no checks. */
  readonly access?: AccessGate;
  /** Counts each call that ends in an error status, by its status name (INVALID_ARGUMENT, ...). */
  readonly countError?: (reason: string) => void;
}

export interface GrpcTransport {
  /** Binds host:port (0 = a free port), TLS from the watcher (kept current) or plaintext; the bound port. */
  listen(host: string, port: number, tls: TlsFileWatcher | undefined): Promise<number>;
  /** Takes no new calls (GOAWAY) and resolves once every call in flight has ended. */
  close(): Promise<void>;
  /** Ends every connection now. */
  forceClose(): void;
}

/** The handler of every method of the service, checked against the definition's kinds. */
export function methodsOf(
  service: GrpcService,
): { readonly path: string; readonly method: grpc.MethodDefinition<unknown, unknown>; readonly name: string }[] {
  return Object.entries(service.definition).map(([name, method]) => {
    const handler = service.handlers[name];
    if (handler === undefined) throw new Error(`gRPC method ${method.path} has no handler`);
    const kind =
      method.requestStream && method.responseStream
        ? 'bidi'
        : method.responseStream
          ? 'server-stream'
          : method.requestStream
            ? 'client-stream'
            : 'unary';
    if (kind !== handler.kind) throw new Error(`gRPC method ${method.path} is ${kind}; its handler is ${handler.kind}`);
    return { path: method.path, method, name };
  });
}
