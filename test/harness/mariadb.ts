// A real MariaDB for tests: mariadb-install-db into a temp dir, mariadbd as the mysql OS user on a
// free port and its own socket. The anonymous users the installer leaves are dropped, since they
// shadow 'user'@'%' for logins from 127.0.0.1. TLS is on with a certificate from the per-process
// test CA (test-ca.ts).
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromTemplate, withFreshPort, portOpen, removeDir, requireBinary, runOk, startProc, tempDir, waitFor } from './common.js';
import { testTls } from './test-ca.js';

export interface MariadbPeer {
  port: number;
  socket: string;
  dir: string;
  /** Runs SQL as root over the unix socket. */
  sql(query: string): string;
  /** Creates a password user reachable over TCP from 127.0.0.1. */
  createUser(name: string, password: string, database?: string): void;
  stop(): Promise<void>;
}

export async function startMariadb(): Promise<MariadbPeer> {
  const install = requireBinary('mariadb-server', 'mariadb-install-db', '/usr/bin/mariadb-install-db');
  const mariadbd = requireBinary('mariadb-server', '/usr/sbin/mariadbd');
  const client = requireBinary('mariadb-client', 'mariadb');
  const dir = tempDir('mariadb');
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const uid = Number(runOk('id', ['-u', 'mysql']).trim());
  const gid = Number(runOk('id', ['-g', 'mysql']).trim());
  chownSync(dir, uid, gid);
  // A temp dir of its own: bootstraps running at once in the shared /tmp were seen to fail with
  // "Could not remove temporary table '/tmp/#sql-temptable-…'" (Unknown table 'mysql.tmp_user_sys').
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  chownSync(tmp, uid, gid);
  const installArgs = ['--no-defaults', '--user=mysql', '--auth-root-authentication-method=socket', '--skip-test-db'];
  fromTemplate(`mariadb install-db ${installArgs.join(' ')}`, data, (made) => {
    mkdirSync(made, { mode: 0o755 });
    chownSync(made, uid, gid);
    runOk(install, [...installArgs, `--datadir=${made}`, `--tmpdir=${tmp}`], { env: { ...process.env, TMPDIR: tmp } });
  });
  const socket = join(dir, 'mysqld.sock');
  const { server } = testTls();
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  writeFileSync(certFile, server.certPem, { mode: 0o644 });
  writeFileSync(keyFile, server.keyPem, { mode: 0o600 });
  chownSync(keyFile, uid, gid);
  return withFreshPort(async (port) => {
    const proc = startProc(mariadbd, ['--no-defaults', '--user=mysql', `--datadir=${data}`, `--port=${port}`, `--socket=${socket}`,
      '--bind-address=127.0.0.1', `--pid-file=${join(dir, 'mysqld.pid')}`, `--tmpdir=${tmp}`, '--skip-log-bin', '--innodb-buffer-pool-size=64M',
      // 64 MiB: statements past the gateway's 16 MiB cap must reach the gateway's check, not the server's.
      '--innodb-flush-log-at-trx-commit=0', '--skip-name-resolve', '--max-allowed-packet=64M', `--ssl-cert=${certFile}`, `--ssl-key=${keyFile}`]);
    await waitFor('mariadb to listen', () => portOpen(port), 60_000, proc);
    const sql = (query: string): string => runOk(client, ['--no-defaults', '-S', socket, '-u', 'root', '-N', '-B', '-e', query]);
    sql("DELETE FROM mysql.global_priv WHERE User=''; FLUSH PRIVILEGES;");
    return {
      port, socket, dir, sql,
      createUser: (name, password, database) => {
        const db = database ? `CREATE DATABASE IF NOT EXISTS \`${database}\`; ` : '';
        sql(`${db}CREATE USER '${name}'@'127.0.0.1' IDENTIFIED BY '${password}'; CREATE USER '${name}'@'localhost' IDENTIFIED BY '${password}'; ` +
          `GRANT ALL ON ${database ? `\`${database}\`` : '*'}.* TO '${name}'@'127.0.0.1'; GRANT ALL ON ${database ? `\`${database}\`` : '*'}.* TO '${name}'@'localhost'; FLUSH PRIVILEGES;`);
      },
      stop: async () => { await proc.stop(); removeDir(dir); },
    };
  });
}
