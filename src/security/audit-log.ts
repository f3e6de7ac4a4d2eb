// The audit log of admin actions (loading and unloading models, indexing the repository, files
// and batches): who (the key id, never the key), from where, what, when, and the result. Lines go
// to their own JSON Lines file (--audit-log, created owner-only) or, without one, to the server
// log at info level with `audit: true`.

import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { InferdError } from '../errors/index.js';

export interface AuditEntry {
  /** Key id, 'anonymous', or 'unauthenticated' (refused before a caller was known). */
  readonly who: string;
  readonly peer: string;
  readonly protocol: 'http' | 'grpc';
  /** The route (`POST /v2/repository/models/:model/load`) or RPC (`RepositoryModelLoad`). */
  readonly action: string;
  /** The path parameters or the RPC's target (model name, file or batch id). */
  readonly target: Readonly<Record<string, string>>;
  /** HTTP status, or gRPC status code. */
  readonly status: number;
  readonly requestId?: string;
}

/** Where audit lines go. */
export interface AuditSink {
  write(line: Record<string, unknown>): void;
}

export class AuditLog {
  constructor(
    private readonly sink: AuditSink,
    private readonly now: () => number = Date.now,
  ) {}

  record(entry: AuditEntry): void {
    const ok = entry.protocol === 'http' ? entry.status < 400 : entry.status === 0;
    this.sink.write({
      time: new Date(this.now()).toISOString(),
      ...entry,
      result: ok
        ? 'ok'
        : entry.status === 401 || entry.status === 403 || entry.status === 16 || entry.status === 7
          ? 'refused'
          : 'failed',
    });
  }
}

/** The server log as the sink: one info line per action, marked `audit: true`. */
export function loggerSink(log: { info(obj: object, msg: string): void }): AuditSink {
  // The log line has its own time.
  return { write: ({ time: _time, ...line }) => log.info({ audit: true, ...line }, 'audit') };
}

/** A JSON Lines file as the sink, appended to (mode 0600 when created). */
export function fileSink(file: string, onError?: (err: Error) => void): AuditSink & { close(): Promise<void> } {
  let fd: number;
  try {
    // Opened now, so a path that cannot be written fails start-up rather than the first action.
    fd = openSync(file, 'a', 0o600);
  } catch (err) {
    throw new InferdError(
      'INF_ERR_INVALID_CONFIG',
      `cannot open the audit log ${file} (--audit-log): ${(err as Error).message}`,
    );
  }
  const stream: WriteStream = createWriteStream(file, { fd });
  stream.on('error', (err) => onError?.(err));
  return {
    write: (line) => {
      stream.write(`${JSON.stringify(line)}\n`);
    },
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}
