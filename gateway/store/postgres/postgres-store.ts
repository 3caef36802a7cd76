// The PostgreSQL store: several gateway nodes on one shared database (DESIGN.md 3c).
// Placeholder until the implementation lands: it refuses clearly.
import { PortcullisError } from '../../util/errors.js';
import type { Store } from '../store.js';

export interface PostgresStoreOptions {
  /** Connections in the pool. */
  poolSize?: number;
  /** Reports a lost connection (the pool reconnects by itself). */
  onError?: (err: Error) => void;
}

export function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  void url;
  void opts;
  return Promise.reject(new PortcullisError('unavailable', 'the PostgreSQL store is not built yet'));
}
