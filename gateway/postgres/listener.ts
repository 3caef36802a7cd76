// The PostgreSQL listener: bounded handshakes with a deadline (the shared handshake listener).
import type { Listener } from '../net/listener.js';
import { createHandshakeListener } from '../net/handshake-listener.js';
import { handlePgConnection, type PgDeps } from './client-connection.js';

export function createPgListener(deps: PgDeps, opts: { host: string; port: number; maxHandshakes: number }): Listener {
  return createHandshakeListener({ name: 'postgres', ...opts, log: deps.log, handle: (s) => handlePgConnection(deps, s) });
}
