// The gRPC services on @grpc/grpc-js (`--grpc-server grpc-js`): the handlers adapted to grpc-js's
// call objects, the access gate and the error counter as server interceptors, message limits
// raised to the server's body size limit in both directions, TLS through a certificate provider
// that follows the files.

import * as grpc from '@grpc/grpc-js';
import type { AccessGate } from './grpc-access.js';
import type { CallMetadata, CallStatus, MethodHandler, UnaryCall, BidiCall, ServerStreamCall } from './grpc-call.js';
import { methodsOf, type GrpcTransport, type GrpcTransportOptions } from './grpc-transport.js';

function metadataView(metadata: grpc.Metadata): CallMetadata {
  return {
    get: (key) => metadata.get(key)[0],
    getMap: () => metadata.getMap(),
  };
}

function toStatusObject(status: CallStatus): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(status.trailers ?? {})) metadata.set(k, v);
  return { code: status.code, details: status.details, metadata };
}

function deadlineOf(call: { getDeadline(): grpc.Deadline }): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Runs the listener once, on 'cancelled' or 'error', whichever comes first. */
function onceCancelled(call: NodeJS.EventEmitter, listener: () => void): void {
  let ran = false;
  const run = (): void => {
    if (ran) return;
    ran = true;
    listener();
  };
  call.on('cancelled', run);
  call.on('error', run);
}

function adapt(handler: MethodHandler): grpc.UntypedHandleCall {
  switch (handler.kind) {
    case 'unary':
      return ((call, callback) => {
        const view: UnaryCall<unknown> = {
          request: call.request,
          metadata: metadataView(call.metadata),
          deadlineMs: deadlineOf(call),
          onCancelled: (listener) => call.once('cancelled', listener),
        };
        handler.handle(view as UnaryCall<never>, (failure, response) => {
          if (failure === null) callback(null, response);
          else callback(toStatusObject(failure));
        });
      }) as grpc.handleUnaryCall<unknown, unknown>;
    case 'server-stream':
      return ((call) => {
        const view: ServerStreamCall<unknown, unknown> = {
          request: call.request,
          metadata: metadataView(call.metadata),
          deadlineMs: deadlineOf(call),
          onCancelled: (listener) => onceCancelled(call, listener),
          write: (message) => void call.write(message),
          end: () => call.end(),
        };
        handler.handle(view as ServerStreamCall<never, unknown>);
      }) as grpc.handleServerStreamingCall<unknown, unknown>;
    case 'bidi':
      return ((call) => {
        const view: BidiCall<unknown, unknown> = {
          metadata: metadataView(call.metadata),
          deadlineMs: deadlineOf(call),
          onCancelled: (listener) => onceCancelled(call, listener),
          onMessage: (listener) => void call.on('data', listener),
          onEnd: (listener) => void call.on('end', listener),
          write: (message, flushed) => void call.write(message, flushed),
          end: () => call.end(),
          pause: () => void call.pause(),
          resume: () => void call.resume(),
          isPaused: () => call.isPaused(),
        };
        handler.handle(view as BidiCall<never, unknown>);
      }) as grpc.handleBidiStreamingCall<unknown, unknown>;
  }
}

/** Sees every call's status on its way out, access refusals included, and counts the errors. */
function errorCountInterceptor(count: (reason: string) => void): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        if (status.code !== grpc.status.OK) count(grpc.status[status.code] ?? String(status.code));
        next(status);
      },
    });
}

/** The access gate as a server interceptor: one decision per call, ahead of the handler. */
function accessInterceptor(gate: AccessGate): grpc.ServerInterceptor {
  return (method, call) => {
    const access = gate(method.path, call.getPeer());
    let refused = false;
    const refuse = (status: CallStatus): void => {
      refused = true;
      call.sendStatus(toStatusObject(status));
    };
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const refusal = access.admitMetadata(metadataView(metadata));
            if (refusal !== undefined) {
              refuse(refusal);
              return;
            }
            nextMetadata(metadata);
          },
          onReceiveMessage(message: unknown, nextMessage) {
            if (refused) return;
            const refusal = access.admitMessage(message);
            if (refusal !== undefined) {
              refuse(refusal);
              return;
            }
            nextMessage(message);
          },
          // A call the client cancels may never send a status: its concurrency slot is freed here.
          onCancel() {
            access.cancelled();
          },
        });
      },
      sendStatus(status, nextStatus) {
        access.finished(status.code ?? grpc.status.OK);
        nextStatus(status);
      },
    });
  };
}

export function grpcJsTransport(options: GrpcTransportOptions): GrpcTransport {
  // grpc-js writes its own errors to stderr as bare "E ..." lines (a failed bind, say); the server
  // reports those itself, so grpc-js's lines go to the log at debug level.
  grpc.setLogger({
    error: (...args: unknown[]) => options.logger.debug({ grpc: args.map(String).join(' ') }, 'grpc-js'),
  });
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    // Channelz keeps per-call tracing for an admin service inferd does not expose.
    'grpc.enable_channelz': 0,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    interceptors: [
      ...(options.countError === undefined ? [] : [errorCountInterceptor(options.countError)]),
      ...(options.access === undefined ? [] : [accessInterceptor(options.access)]),
    ],
  });
  for (const service of options.services) {
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const { name } of methodsOf(service)) {
      const handler = service.handlers[name];
      if (handler !== undefined) implementation[name] = adapt(handler);
    }
    server.addService(service.definition, implementation);
  }
  return {
    listen(host, port, tls) {
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      const credentials = tls === undefined ? grpc.ServerCredentials.createInsecure() : tls.grpcCredentials();
      return new Promise((resolve, reject) => {
        server.bindAsync(address, credentials, (err, bound) => (err === null ? resolve(bound) : reject(err)));
      });
    },
    close() {
      return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
    forceClose() {
      server.forceShutdown();
    },
  };
}
