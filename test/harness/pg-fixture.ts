// The PostgreSQL test fixture: a real PostgreSQL 15 (scram-sha-256), a real gateway, a gateway user
// "dba" and a target "orders-db" whose vaulted credential is the database role's password.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { RecordingLayout, recordingsRoot } from '../../recorder/layout.js';
import { parseStatementLine } from '../../recorder/statement-reader.js';
import type { StatementRecord } from '../../recorder/statement-record.js';
import { requireBinary, run } from './common.js';
import { type GatewayOptions, type GatewayPeer, startGateway } from './gateway.js';
import { type PostgresPeer, startPostgres } from './postgres.js';
import { tlsCaArgs } from './test-ca.js';

export const DB_PASSWORD = 'Db-Vaulted-Canary-42';
export const DBA_PASSWORD = 'dba-Password-1';

export interface PgFixture {
  gw: GatewayPeer;
  pg: PostgresPeer;
  /** libpq connection string through the gateway. */
  conninfo(extra?: string): string;
  /** Runs psql through the gateway as dba. */
  psql(args: string[], opts?: { password?: string; input?: string; conninfo?: string }): { status: number; stdout: string; stderr: string };
  grant(duration: string): string;
  /** Every statement record written so far, across sessions. */
  statements(): StatementRecord[];
  stop(): Promise<void>;
}

/** gateway: more startGateway options (prepare writes a config before serve starts: no restart). */
export async function startPgFixture(env: NodeJS.ProcessEnv = {}, gateway: Omit<GatewayOptions, 'env'> = {}): Promise<PgFixture> {
  const psql = requireBinary('postgresql-client-15', 'psql');
  const [gw, pg] = await Promise.all([startGateway({ ...gateway, env }), startPostgres()]);
  pg.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
  pg.sql('CREATE DATABASE orders OWNER app');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${DBA_PASSWORD}\n`));
  must(gw.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
    '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`));
  const conninfo = (extra = ''): string => `host=127.0.0.1 port=${gw.ports.postgres} user=dba+orders-db dbname=orders sslmode=require connect_timeout=10 ${extra}`;
  return {
    gw, pg, conninfo,
    psql: (args, opts = {}) => run(psql, ['-X', '-v', 'ON_ERROR_STOP=1', opts.conninfo ?? conninfo(), ...args], {
      env: { ...process.env, PGPASSWORD: opts.password ?? DBA_PASSWORD }, input: opts.input,
    }),
    grant: (duration) => (JSON.parse(gw.admin(['grant', 'add', '--user', 'dba', '--target', 'orders-db', '--for', duration, '--reason', 'test', '--json']).stdout) as { id: string }).id,
    statements: () => readStatements(gw.dataDir),
    stop: async () => { await Promise.all([gw.stop(), pg.stop()]); },
  };
}

/**
 * Statement records (statements.ndjson) of every session under a gateway's data dir, read with the
 * recorder's reader; a whole line it cannot read fails the test.
 */
export function readStatements(dataDir: string): StatementRecord[] {
  const root = recordingsRoot(dataDir);
  return readdirSync(root).flatMap((id) => {
    const path = RecordingLayout.of(root, id).statements;
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    // A line without its newline is still being written: not a record yet.
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => {
      const r = parseStatementLine(l);
      if (!r.ok) throw new Error(`unreadable statement record in ${path}: ${r.problem}: ${l.slice(0, 200)}`);
      return r.record;
    });
  });
}
