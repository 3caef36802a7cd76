// The MySQL listener: bounded handshakes with a deadline (the shared handshake listener). At start
// it probes the MySQL targets for their greeting, so clients see the real server version.
import type { Listener } from '../net/listener.js';
import { createHandshakeListener } from '../net/handshake-listener.js';
import type { TargetRecord } from '../session/adapter.js';
import { handleMyConnection, type MyDeps } from './client-connection.js';
import { probeGreeting } from './upstream.js';
import { errPacket } from './wire/packets.js';

const PROBE_WAIT_MS = 2_000;

export function createMyListener(deps: MyDeps, opts: { host: string; port: number; maxHandshakes: number; targets: () => Promise<TargetRecord[]> }): Listener {
  return createHandshakeListener({
    name: 'mysql', host: opts.host, port: opts.port, maxHandshakes: opts.maxHandshakes, log: deps.log,
    handle: (s) => handleMyConnection(deps, s),
    // Before the greeting and TLS: MySQL's own "host is blocked" answer, in place of the greeting.
    admit: (addr) => deps.authn.admitConnection(addr),
    refuse: (s, message) => { s.end(errPacket(0, 1129, 'HY000', message)); },
    // All targets at once, and the listener waits at most PROBE_WAIT_MS: a target that accepts TCP
    // and never greets must not hold the gateway's start (a late answer is still learned).
    beforeStart: async () => {
      const probes = (await opts.targets()).filter((x) => x.kind === 'mysql').map(async (t) => {
        try {
          deps.greetings.learn(await probeGreeting(t));
        } catch {
          deps.log.warn({ target: t.name }, 'mysql.probe_failed');
        }
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(probes), new Promise<void>((r) => { timer = setTimeout(r, PROBE_WAIT_MS); })]);
      clearTimeout(timer);
    },
  });
}
