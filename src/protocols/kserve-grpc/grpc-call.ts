// The calls the gRPC handlers serve, independent of the transport under them: the handlers of
// the three services (inference, health, feedback) are written against these interfaces, and each
// transport (grpc-js-transport.ts, http2-transport.ts) adapts its own call objects to them.

/** A call's status on its way out: the code, the message, and trailing metadata (retry-after). */
export interface CallStatus {
  readonly code: number;
  readonly details: string;
  readonly trailers?: Readonly<Record<string, string>>;
}

/** The request metadata: ASCII values as strings, `-bin` keys as bytes. */
export interface CallMetadata {
  /** The first value of a key (lowercase), or undefined. */
  get(key: string): string | Buffer | undefined;
  /** Every key with its first value. */
  getMap(): Record<string, string | Buffer>;
}

interface CallBase {
  readonly metadata: CallMetadata;
  /** Milliseconds since the epoch of the client's deadline (grpc-timeout), or undefined for none. */
  readonly deadlineMs: number | undefined;
  /** Runs once when the client cancels the call or its deadline passes before it is answered. */
  onCancelled(listener: () => void): void;
}

export interface UnaryCall<Req> extends CallBase {
  readonly request: Req;
}

/** Answers a unary call: a status for a failure, or null and the response. */
export type UnaryCallback<Res> = (failure: CallStatus | null, response?: Res) => void;

export interface ServerStreamCall<Req, Res> extends CallBase {
  readonly request: Req;
  write(message: Res): void;
  /** Ends the call with status OK. */
  end(): void;
}

export interface BidiCall<Req, Res> extends CallBase {
  onMessage(listener: (message: Req) => void): void;
  /** The client half-closed: no more messages come. */
  onEnd(listener: () => void): void;
  /** Queues a message; `flushed` runs once it is handed to HTTP/2 (never on a call that ended meanwhile). */
  write(message: Res, flushed: () => void): void;
  /** Ends the call with status OK. */
  end(): void;
  /** Stops delivering messages (flow control then pushes back on the client) until resume(). */
  pause(): void;
  resume(): void;
  isPaused(): boolean;
}

export type UnaryHandler<Req, Res> = (call: UnaryCall<Req>, callback: UnaryCallback<Res>) => void;
export type ServerStreamHandler<Req, Res> = (call: ServerStreamCall<Req, Res>) => void;
export type BidiHandler<Req, Res> = (call: BidiCall<Req, Res>) => void;

/** One RPC's handler, tagged with its kind so a transport can check it against the service definition. */
export type MethodHandler =
  | { readonly kind: 'unary'; readonly handle: UnaryHandler<never, unknown> }
  | { readonly kind: 'server-stream'; readonly handle: ServerStreamHandler<never, unknown> }
  | { readonly kind: 'bidi'; readonly handle: BidiHandler<never, unknown> };

/** A service's handlers by method name (ModelInfer, Check, ...). */
export type ServiceHandlers = Readonly<Record<string, MethodHandler>>;

export function unaryMethod<Req, Res>(handle: UnaryHandler<Req, Res>): MethodHandler {
  return { kind: 'unary', handle };
}

export function serverStreamMethod<Req, Res>(handle: ServerStreamHandler<Req, Res>): MethodHandler {
  return { kind: 'server-stream', handle };
}

export function bidiMethod<Req, Res>(handle: BidiHandler<Req, Res>): MethodHandler {
  return { kind: 'bidi', handle };
}
