// The PostgreSQL listener: bounded handshakes with a deadline (the shared handshake listener). A
// source that is locked or over its connection rate is answered with a FATAL before TLS (libpq
// reports an error in reply to its SSLRequest), so refusing it costs no handshake.
import type { Listener } from '../net/listener.js';
import { createHandshakeListener } from '../net/handshake-listener.js';
import { handlePgConnection, type PgDeps } from './client-connection.js';
import { errorOrNotice } from './wire/server-messages.js';

export function createPgListener(deps: PgDeps, opts: { host: string; port: number; maxHandshakes: number }): Listener {
  return createHandshakeListener({
    name: 'postgres', logPrefix: 'pg', ...opts, log: deps.log, handle: (s) => handlePgConnection(deps, s),
    admit: (addr) => deps.authn.admitConnection(addr),
    refuse: (s, message) => { s.end(errorOrNotice('E', 'FATAL', '28000', message)); },
  });
}
