// One gateway user `ops` (password + SSH key) with a grant to one target of each kind: web01 (sshd),
// orders-db (PostgreSQL, role app), shop-db (MariaDB, user shopapp). For e2e tests that drive all
// three protocols through one gateway (crash recovery, recording storage, the fuzz run's live sessions).
import { join } from 'node:path';
import { requireBinary, runOk } from './common.js';
import type { GatewayPeer } from './gateway.js';
import type { MariadbPeer } from './mariadb.js';
import type { PostgresPeer } from './postgres.js';
import type { SshdPeer } from './sshd.js';
import { tlsCaArgs, tlsPinArgs } from './test-ca.js';

export const THREE_TARGETS = { opsPassword: 'ops-Password-1', pgPassword: 'Db-Vaulted-Canary-42', myPassword: 'Shop-Vaulted-Canary-5' } as const;

/** Creates the accounts, targets and grants; returns the path of ops's private key. */
export function provisionThreeTargets(
  peers: { gw: GatewayPeer; sshd: SshdPeer; pg: PostgresPeer; my: MariadbPeer },
  keyDir: string, grant: { for: string; reason: string },
): string {
  const { gw, sshd, pg, my } = peers;
  const { opsPassword, pgPassword, myPassword } = THREE_TARGETS;
  const opsKey = join(keyDir, 'ops_ed25519');
  runOk(requireBinary('openssh-client', 'ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', opsKey]);
  pg.sql(`CREATE ROLE app LOGIN PASSWORD '${pgPassword}'`);
  pg.sql('CREATE DATABASE orders OWNER app');
  my.createUser('shopapp', myPassword, 'shop');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(gw.admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin', '--ssh-key', opsKey + '.pub'], `${opsPassword}\n`));
  must(gw.admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
    '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`));
  must(gw.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
    '--database', 'orders', ...tlsPinArgs(), '--password-stdin'], `${pgPassword}\n`));
  must(gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(my.port), '--account', 'shopapp',
    '--database', 'shop', ...tlsCaArgs(), '--password-stdin'], `${myPassword}\n`));
  for (const target of ['web01', 'orders-db', 'shop-db']) {
    must(gw.admin(['grant', 'add', '--user', 'ops', '--target', target, '--for', grant.for, '--reason', grant.reason]));
  }
  return opsKey;
}
