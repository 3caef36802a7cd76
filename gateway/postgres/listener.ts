// The PostgreSQL listener. Connections are bounded while they handshake (a flood of half-open
// connections drops new ones, never live sessions) and each handshake has a deadline.
import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { Listener } from '../cli/serve.js';
import { handlePgConnection, type PgDeps } from './client-connection.js';

export function createPgListener(deps: PgDeps, opts: { host: string; port: number; maxHandshakes: number }): Listener {
  const sockets = new Set<Socket>();
  let handshaking = 0;
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (handshaking >= opts.maxHandshakes) {
      deps.log.warn({ addr: socket.remoteAddress }, 'pg.handshake_limit');
      socket.destroy();
      return;
    }
    handshaking++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => sockets.delete(socket));
    void handlePgConnection(deps, socket).finally(() => { handshaking--; });
  });
  server.on('error', (err: Error) => deps.log.error({ err: err.message }, 'pg.listener_error'));
  return {
    name: 'postgres',
    start: () => new Promise<AddressInfo>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve(server.address() as AddressInfo));
    }),
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
