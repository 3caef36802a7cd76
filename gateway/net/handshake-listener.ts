// A TCP listener for the database protocols: connections are bounded while they handshake (a flood
// of half-open connections drops new ones, never live sessions); each is handed to the protocol's
// handler, which resolves once the handshake is over (relaying or refused).
import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { Listener } from './listener.js';
import { destroyAfterOwnEnd } from './half-close.js';
import type { Logger } from '../log/logger.js';

export interface HandshakeListenerOptions {
  name: string;
  host: string;
  port: number;
  maxHandshakes: number;
  log: Logger;
  handle(socket: Socket): Promise<void>;
  /**
   * Asked first, before any byte is read or TLS is set up: a refusal message for a source that may
   * not connect now (locked, over its rate), or null. The refusal is written by `refuse`.
   */
  admit?(addr: string): string | null;
  refuse?(socket: Socket, message: string): void;
  /** Prefix of the listener's own log messages when it differs from `name` (PostgreSQL logs as `pg.`). */
  logPrefix?: string;
  /** Runs before listening (e.g. probing targets). */
  beforeStart?(): Promise<void>;
}

export function createHandshakeListener(o: HandshakeListenerOptions): Listener {
  const sockets = new Set<Socket>();
  let handshaking = 0;
  const server = createServer((socket) => {
    socket.on('error', () => {});
    destroyAfterOwnEnd(socket);
    if (handshaking >= o.maxHandshakes) {
      o.log.warn({ addr: socket.remoteAddress }, `${o.name}.handshake_limit`);
      socket.destroy();
      return;
    }
    // A connection the client reset before this callback ran has no address any more.
    const addr = socket.remoteAddress ?? 'unknown';
    const refusal = o.admit?.(addr);
    if (refusal) {
      // Debug only: at the default level a flood must not fill the log (the authenticator counts them).
      o.log.debug({ addr, reason: refusal }, `${o.logPrefix ?? o.name}.refused_before_handshake`);
      if (o.refuse) o.refuse(socket, refusal);
      else socket.destroy();
      return;
    }
    handshaking++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => sockets.delete(socket));
    void o.handle(socket).finally(() => { handshaking--; });
  });
  server.on('error', (err: Error) => o.log.error({ err: err.message }, `${o.name}.listener_error`));
  return {
    name: o.name,
    start: async () => {
      await o.beforeStart?.();
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => resolve(server.address() as AddressInfo));
      });
    },
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
