// The MySQL test fixture: a real MariaDB, a real gateway, a gateway user "dba" and a target
// "shop-db" whose vaulted credential is the MariaDB account's password.
import { requireBinary, run } from './common.js';
import { type GatewayPeer, startGateway } from './gateway.js';
import { type MariadbPeer, startMariadb } from './mariadb.js';
import type { StatementRecord } from '../../recorder/statement-record.js';
import { readStatements } from './pg-fixture.js';
import { tlsPinArgs } from './test-ca.js';

export const SHOP_PASSWORD = 'Shop-Vaulted-Canary-5';
export const DBA_PASSWORD = 'dba-Password-1';

export interface MyFixture {
  gw: GatewayPeer;
  db: MariadbPeer;
  /** Runs the mariadb client through the gateway as dba+shop-db with --ssl. */
  client(sql: string, opts?: { password?: string; user?: string; extra?: string[] }): { status: number; stdout: string; stderr: string };
  grant(duration: string): string;
  statements(): StatementRecord[];
  stop(): Promise<void>;
}

export async function startMyFixture(env: NodeJS.ProcessEnv = {}): Promise<MyFixture> {
  const mariadb = requireBinary('mariadb-client', 'mariadb');
  const [gw, db] = await Promise.all([startGateway({ env }), startMariadb()]);
  db.createUser('shopapp', SHOP_PASSWORD, 'shop');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${DBA_PASSWORD}\n`));
  must(gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(db.port), '--account', 'shopapp',
    '--database', 'shop', ...tlsPinArgs(), '--password-stdin'], `${SHOP_PASSWORD}\n`));
  return {
    gw, db,
    client: (sql, opts = {}) => run(mariadb, ['--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', opts.user ?? 'dba+shop-db',
      `-p${opts.password ?? DBA_PASSWORD}`, '--ssl', '--batch', ...(opts.extra ?? []), '-e', sql]),
    grant: (duration) => (JSON.parse(gw.admin(['grant', 'add', '--user', 'dba', '--target', 'shop-db', '--for', duration, '--reason', 'test', '--json']).stdout) as { id: string }).id,
    statements: () => readStatements(gw.dataDir),
    stop: async () => { await Promise.all([gw.stop(), db.stop()]); },
  };
}
