// Opens the store a node is configured with: SQLite in the data dir (one node), or a shared
// PostgreSQL (several nodes). Async: PostgreSQL is reached over the network, and its schema is
// migrated (or found newer than this build, and refused) before anything else runs.
import { openPostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface StoreLocation {
  /** null: SQLite at `sqliteFile`. */
  url: string | null;
  sqliteFile: string;
}

export async function openStore(where: StoreLocation, opts: PostgresStoreOptions = {}): Promise<Store> {
  if (where.url === null) return openSqliteStore(where.sqliteFile);
  return openPostgresStore(where.url, opts);
}
