// The fuzz environment: a real gateway (its whole log kept in a file, handshake timeouts shortened
// to 3 s so stalled inputs end within a run), real sshd, PostgreSQL 15 and MariaDB, a user "ops"
// with grants on all three, and the live sessions that must keep working while the listeners are
// fuzzed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary, runOk, tempDir } from '../common.js';
import { type GatewayPeer, startGateway } from '../gateway.js';
import { type MariadbPeer, startMariadb } from '../mariadb.js';
import { type PostgresPeer, startPostgres } from '../postgres.js';
import { type SshdPeer, startSshd } from '../sshd.js';

export const OPS_PASSWORD = 'ops-Password-1';
const PG_PASSWORD = 'Db-Vaulted-Canary-42';
const MY_PASSWORD = 'Shop-Vaulted-Canary-5';

export interface FuzzEnv {
  gw: GatewayPeer;
  sshd: SshdPeer;
  pg: PostgresPeer;
  my: MariadbPeer;
  opsKey: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startFuzzEnv(): Promise<FuzzEnv> {
  const dir = tempDir('fuzz');
  const logFile = join(dir, 'gateway.log');
  const config = join(dir, 'portcullis.yaml');
  writeFileSync(config, 'ssh: { authTimeout: 3s }\npostgres: { handshakeTimeout: 3s }\nmysql: { handshakeTimeout: 3s }\n');
  const [gw, sshd, pg, my] = await Promise.all([startGateway({ config, logFile }), startSshd(), startPostgres(), startMariadb()]);
  const opsKey = join(dir, 'ops_ed25519');
  runOk(requireBinary('openssh-client', 'ssh-keygen'), ['-q', '-t', 'ed25519', '-N', '', '-f', opsKey]);
  pg.sql(`CREATE ROLE app LOGIN PASSWORD '${PG_PASSWORD}'`);
  pg.sql('CREATE DATABASE orders OWNER app');
  my.createUser('shopapp', MY_PASSWORD, 'shop');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(gw.admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin', '--ssh-key', opsKey + '.pub'], `${OPS_PASSWORD}\n`));
  must(gw.admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
    '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`));
  must(gw.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
    '--database', 'orders', '--password-stdin'], `${PG_PASSWORD}\n`));
  must(gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(my.port), '--account', 'shopapp',
    '--database', 'shop', '--password-stdin'], `${MY_PASSWORD}\n`));
  for (const target of ['web01', 'orders-db', 'shop-db']) {
    must(gw.admin(['grant', 'add', '--user', 'ops', '--target', target, '--for', '12h', '--reason', 'fuzz run']));
  }
  return { gw, sshd, pg, my, opsKey, logFile, stop: async () => { await Promise.all([gw.stop(), sshd.stop(), pg.stop(), my.stop()]); } };
}
