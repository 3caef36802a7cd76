// The MySQL listener: bounded handshakes with a deadline (the shared handshake listener). At start
// it probes the MySQL targets for their greeting, so clients see the real server version.
import type { Listener } from '../net/listener.js';
import { createHandshakeListener } from '../net/handshake-listener.js';
import type { TargetRecord } from '../session/adapter.js';
import { handleMyConnection, type MyDeps } from './client-connection.js';
import { probeGreeting } from './upstream.js';

export function createMyListener(deps: MyDeps, opts: { host: string; port: number; maxHandshakes: number; targets: () => Promise<TargetRecord[]> }): Listener {
  return createHandshakeListener({
    name: 'mysql', host: opts.host, port: opts.port, maxHandshakes: opts.maxHandshakes, log: deps.log,
    handle: (s) => handleMyConnection(deps, s),
    beforeStart: async () => {
      for (const t of (await opts.targets()).filter((x) => x.kind === 'mysql')) {
        try {
          deps.greetings.learn(await probeGreeting(t));
        } catch {
          deps.log.warn({ target: t.name }, 'mysql.probe_failed');
        }
      }
    },
  });
}
