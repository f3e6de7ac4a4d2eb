// Closing an HTTP/1.1 listener without losing a byte. Node's `server.close()` also calls
// `closeIdleConnections()`, which destroys every socket with no request in progress, and a socket
// whose response has ended counts as idle even while that response still sits unsent in the
// socket's buffer: slow readers and large answers were cut off mid-body. This tracker replaces
// that step with a graceful one: a socket with no request in progress is ended (its buffered bytes
// are flushed, then FIN), one with a request in progress is ended once its last response has gone
// out, and a socket on which bytes of a new request have arrived waits for that request. Upgraded
// sockets (WebSocket) are left to their own shutdown. Over HTTPS the sockets tracked are the TLS
// sockets the requests arrive on ('secureConnection'), not the TCP sockets under them.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

interface Tracked {
  /** Requests received on the socket whose response has not closed yet. */
  active: number;
  /** socket.bytesRead when its last response closed: more means a new request is arriving. */
  bytesReadWhenIdle: number;
}

export class ConnectionDrain {
  private readonly sockets = new Map<Socket, Tracked>();
  private draining = false;

  constructor(server: Server) {
    server.on(server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.set(socket, { active: 0, bytesReadWhenIdle: 0 });
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      const tracked = this.sockets.get(socket);
      if (tracked === undefined) return;
      tracked.active++;
      res.once('close', () => {
        tracked.active--;
        if (tracked.active > 0) return;
        tracked.bytesReadWhenIdle = socket.bytesRead;
        if (this.draining) this.endIfIdle(socket, tracked);
      });
    });
    // An upgraded socket belongs to its protocol (the WebSocket edge closes its streams with 1001).
    server.on('upgrade', (req: IncomingMessage) => this.sockets.delete(req.socket));
    // server.close() (fastify's close calls it) would destroy idle sockets with their unsent bytes.
    server.closeIdleConnections = () => this.drain();
  }

  /** Open HTTP connections (upgraded ones excluded). */
  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * From now on every connection closes gracefully once it has no request in progress: idle ones
   * at once, busy ones after their last response. New connections are the listener's business.
   */
  drain(): void {
    this.draining = true;
    for (const [socket, tracked] of this.sockets) this.endIfIdle(socket, tracked);
  }

  /** Ends what is left at once (the grace period is over). */
  destroyAll(): void {
    for (const socket of this.sockets.keys()) socket.destroy();
    this.sockets.clear();
  }

  private endIfIdle(socket: Socket, tracked: Tracked): void {
    if (tracked.active > 0 || socket.bytesRead > tracked.bytesReadWhenIdle) return;
    // end(), not destroy(): what the socket still buffers is sent before the FIN.
    if (!socket.writableEnded) socket.end();
  }
}
