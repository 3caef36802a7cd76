// npm run demo: a throwaway OpenSSH server (the test harness's), a gateway in a temp dir in front of
// it, a demo user with a 15-minute grant, and the one ssh line to try. Ctrl-C stops everything.
// Needs root (the harness creates the OS account the throwaway sshd logs in as).
import { startSshd } from '../test/harness/sshd.js';
import { startGateway } from '../test/harness/gateway.js';
import { startPostgres } from '../test/harness/postgres.js';
import { startMariadb } from '../test/harness/mariadb.js';
import { tlsCaArgs } from '../test/harness/test-ca.js';

const [sshd, pg, maria] = await Promise.all([startSshd(), startPostgres(), startMariadb()]);
maria.createUser('shopapp', 'demo-vaulted-mysql-password', 'shop');
pg.sql("CREATE ROLE app LOGIN PASSWORD 'demo-vaulted-db-password'");
pg.sql('CREATE DATABASE orders OWNER app');
const gw = await startGateway({ env: { PORTCULLIS_WARN_BEFORE: '60s' } });
const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
must(gw.admin(['user', 'add', 'demo', '--role', 'ops', '--password-stdin'], 'demo-password-1\n'));
must(gw.admin(['target', 'add', 'web01', '--kind', 'ssh', '--host', '127.0.0.1', '--port', String(sshd.port), '--account', sshd.user,
  '--password-stdin', '--host-key', sshd.hostKeyFingerprint], `${sshd.password}\n`));
must(gw.admin(['grant', 'add', '--user', 'demo', '--target', 'web01', '--for', '15m', '--reason', 'demo']));
must(gw.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
  '--database', 'orders', ...tlsCaArgs(), '--password-stdin'], 'demo-vaulted-db-password\n'));
must(gw.admin(['grant', 'add', '--user', 'demo', '--target', 'orders-db', '--for', '15m', '--reason', 'demo']));
must(gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(maria.port), '--account', 'shopapp',
  '--database', 'shop', ...tlsCaArgs(), '--password-stdin'], 'demo-vaulted-mysql-password\n'));
must(gw.admin(['grant', 'add', '--user', 'demo', '--target', 'shop-db', '--for', '15m', '--reason', 'demo']));

process.stdout.write(`
Portcullis demo is running.

  ssh -p ${gw.ports.ssh} -o StrictHostKeyChecking=no demo+web01@127.0.0.1      (password: demo-password-1)
  psql "host=127.0.0.1 port=${gw.ports.postgres} user=demo+orders-db dbname=orders sslmode=require"   (same password)
  mariadb -h 127.0.0.1 -P ${gw.ports.mysql} -u demo+shop-db -p --ssl                              (same password)

The demo user holds 15-minute grants to web01 (a throwaway OpenSSH server on port ${sshd.port}),
orders-db (a throwaway PostgreSQL on port ${pg.port}) and shop-db (a throwaway MariaDB on port
${maria.port}); the gateway logs in to each with a vaulted password the user never sees. Every SQL
statement is recorded. You are warned a minute before the
grant ends and cut off when it does. Recordings: ${gw.dataDir}/recordings
Admin CLI:  node bin/portcullis.js session list --data ${gw.dataDir}

Ctrl-C to stop.
`);

const stop = async (): Promise<void> => {
  await Promise.all([gw.stop(), sshd.stop(), pg.stop(), maria.stop()]);
  process.exit(0);
};
process.once('SIGINT', () => { void stop(); });
process.once('SIGTERM', () => { void stop(); });
