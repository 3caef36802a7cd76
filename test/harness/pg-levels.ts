// Access levels on a real PostgreSQL 15 (postgres.ts), for the provisioner and ephemeral-account
// tests: a database with a table `items`, level roles pc_read (SELECT) and pc_write (INSERT, UPDATE),
// and a provisioner login role with CREATEROLE and nothing else. Also the TargetRecord of that
// target as the vaulted provisioner sees it (verify-full against the test CA) and direct logins to
// the server with node-postgres, the password in memory only (never a process argument).
import pg from 'pg';
import type { TargetRecord } from '../../gateway/store/records.js';
import type { PostgresPeer } from './postgres.js';
import { testTls } from './test-ca.js';

export const PROVISIONER = 'portcullis_prov';
export const PROVISIONER_PASSWORD = 'Prov-Vaulted-Canary-77';
export const LEVELS = [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_read', 'pc_write'] }];

export interface PgLevels {
  database: string;
  provisioner: string;
  password: string;
}

/** Creates the database, table, level roles and the provisioner (CREATEROLE, not superuser). */
export function setUpPgLevels(peer: PostgresPeer, database = 'orders'): PgLevels {
  peer.sql(`CREATE ROLE ${PROVISIONER} LOGIN CREATEROLE PASSWORD '${PROVISIONER_PASSWORD}'`);
  peer.sql(`CREATE DATABASE ${database}`);
  peer.sql([
    'CREATE ROLE pc_read NOLOGIN', 'CREATE ROLE pc_write NOLOGIN',
    'CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)', "INSERT INTO items (name) VALUES ('first')",
    'GRANT SELECT ON items TO pc_read', 'GRANT INSERT, UPDATE ON items TO pc_write', 'GRANT USAGE ON SEQUENCE items_id_seq TO pc_write',
    // PostgreSQL 15 no longer lets every role create in public; the write level may (objects it leaves behind are what reassign/drop is about).
    'GRANT CREATE ON SCHEMA public TO pc_write',
  ].join('; '), database);
  return { database, provisioner: PROVISIONER, password: PROVISIONER_PASSWORD };
}

/** The target record of that PostgreSQL as an ephemeral-credential target whose vaulted account is `account`. */
export function pgTargetRecord(peer: PostgresPeer, over: Partial<TargetRecord> = {}): TargetRecord {
  return {
    id: 'tgt_pgprov', name: 'orders-db', kind: 'postgres', host: '127.0.0.1', port: peer.port, account: PROVISIONER, credentialKind: 'password',
    credentialSealed: '', hostKey: null, database: 'orders', tlsMode: 'verify-full', tlsCaPem: testTls().caPem, tlsFingerprint: null,
    allowWeakUpstreamAuth: false, rsaKeyFingerprint: null, tags: [], credentialMode: 'ephemeral', levels: LEVELS, rotate: 'off',
    ephemeralReassignTo: null, ephemeralKeepHome: false, pendingCredentialSealed: null, rotatedAt: null, createdAt: 0, ...over,
  };
}

/** A credential as the vault hands it out (its secret a fresh Buffer the login wipes). */
export function pgCredential(account: string, password: string): { kind: 'password'; account: string; secret: Buffer; wipe(): void } {
  const secret = Buffer.from(password);
  return { kind: 'password', account, secret, wipe: () => secret.fill(0) };
}

/** A direct login to the server (TLS verified by the test CA); the caller ends it. */
export async function pgDirect(peer: PostgresPeer, user: string, password: string, database = 'orders'): Promise<pg.Client> {
  const c = new pg.Client({
    host: '127.0.0.1', port: peer.port, user, password, database, connectionTimeoutMillis: 10_000,
    ssl: { ca: testTls().caPem, servername: 'localhost' },
  });
  // A backend ended by the server (pg_terminate_backend) errors the idle client: expected in these tests.
  c.on('error', () => {});
  await c.connect();
  return c;
}
