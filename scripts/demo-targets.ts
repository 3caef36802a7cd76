// The demo's targets, shared by `npm run demo` and `npm run demo:ha`: a throwaway OpenSSH server,
// PostgreSQL and MariaDB (the test harness's), each added as a target with a vaulted password, and
// a demo user with 15-minute grants to all three. `admin` runs the CLI as the admin of one node.
import { startMariadb, type MariadbPeer } from '../test/harness/mariadb.js';
import { startPostgres, type PostgresPeer } from '../test/harness/postgres.js';
import { startSshd, type SshdPeer } from '../test/harness/sshd.js';
import type { CliResult } from '../test/harness/gateway.js';
import { tlsCaArgs } from '../test/harness/test-ca.js';

export const DEMO_USER = 'demo';
export const DEMO_PASSWORD = 'demo-password-1';

export interface DemoTargets {
  sshd: SshdPeer;
  pg: PostgresPeer;
  maria: MariadbPeer;
  stop(): Promise<void>;
}

export async function startDemoTargets(): Promise<DemoTargets> {
  const [sshd, pg, maria] = await Promise.all([startSshd(), startPostgres(), startMariadb()]);
  maria.createUser('shopapp', 'demo-vaulted-mysql-password', 'shop');
  pg.sql("CREATE ROLE app LOGIN PASSWORD 'demo-vaulted-db-password'");
  pg.sql('CREATE DATABASE orders OWNER app');
  return { sshd, pg, maria, stop: async () => { await Promise.all([sshd.stop(), pg.stop(), maria.stop()]); } };
}

/** The demo user, the three targets and a 15-minute grant to each. */
export function addDemoAccess(t: DemoTargets, admin: (args: string[], stdin?: string) => CliResult): void {
  const must = (r: CliResult): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(admin(['user', 'add', DEMO_USER, '--role', 'ops', '--password-stdin'], `${DEMO_PASSWORD}\n`));
  must(admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(t.sshd.port), '--account', t.sshd.user,
    '--password-stdin', '--host-key', t.sshd.hostKeyFingerprint], `${t.sshd.password}\n`));
  must(admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(t.pg.port), '--account', 'app',
    '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], 'demo-vaulted-db-password\n'));
  must(admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(t.maria.port), '--account', 'shopapp',
    '--database', 'shop', ...tlsCaArgs(), '--password-stdin'], 'demo-vaulted-mysql-password\n'));
  for (const target of ['web01', 'orders-db', 'shop-db']) {
    must(admin(['grant', 'add', '--user', DEMO_USER, '--target', target, '--for', '15m', '--reason', 'demo']));
  }
}
