// The MySQL listener: bounded handshakes with a deadline, like the PostgreSQL one. At start it
// probes the MySQL targets for their greeting, so clients see the real server version.
import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { Listener } from '../cli/serve.js';
import type { TargetRecord } from '../store/records.js';
import { handleMyConnection, type MyDeps } from './client-connection.js';
import { probeGreeting } from './upstream.js';

export function createMyListener(deps: MyDeps, opts: { host: string; port: number; maxHandshakes: number; targets: () => TargetRecord[] }): Listener {
  const sockets = new Set<Socket>();
  let handshaking = 0;
  const server = createServer((socket) => {
    socket.on('error', () => {});
    if (handshaking >= opts.maxHandshakes) {
      deps.log.warn({ addr: socket.remoteAddress }, 'mysql.handshake_limit');
      socket.destroy();
      return;
    }
    handshaking++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => sockets.delete(socket));
    void handleMyConnection(deps, socket).finally(() => { handshaking--; });
  });
  server.on('error', (err: Error) => deps.log.error({ err: err.message }, 'mysql.listener_error'));
  return {
    name: 'mysql',
    start: async () => {
      for (const t of opts.targets().filter((x) => x.kind === 'mysql')) {
        try {
          deps.greetings.learn(await probeGreeting(t));
        } catch {
          deps.log.warn({ target: t.name }, 'mysql.probe_failed');
        }
      }
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => resolve(server.address() as AddressInfo));
      });
    },
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
