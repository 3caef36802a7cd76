// Ephemeral-account ground on a real MariaDB (issue 15): a table, the level roles pc_read (SELECT)
// and pc_write (INSERT, UPDATE), and a provisioner account with exactly the rights the MySQL
// provisioner asks for (gateway/mysql/provisioner.ts): CREATE USER, PROCESS, CONNECTION ADMIN,
// SELECT on the mysql schema (discovery), and both roles WITH ADMIN OPTION. Also direct logins as
// any account with the mariadb client, the password in a defaults file (never on the command line).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeHash } from '../../gateway/mysql/admin-sql.js';
import type { TargetRecord } from '../../gateway/store/records.js';
import { aTarget } from '../contract/store-fixtures.js';
import { run, tempDir } from './common.js';
import type { MariadbPeer } from './mariadb.js';
import { testTls } from './test-ca.js';

export const PROV_ACCOUNT = 'pcprov';
export const PROV_PASSWORD = 'Prov-Vaulted-Canary-7';
export const LEVELS = [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_read', 'pc_write'] }];

/** Creates database `shop` with table `items`, the level roles and the provisioner account (its password given as a hash: no clear password in mariadb's argv). */
export function setupMyLevels(db: MariadbPeer): void {
  db.sql(`CREATE DATABASE IF NOT EXISTS shop; CREATE TABLE IF NOT EXISTS shop.items (id INT PRIMARY KEY, name VARCHAR(64));
    INSERT IGNORE INTO shop.items VALUES (1, 'apple');
    CREATE ROLE IF NOT EXISTS pc_read; GRANT SELECT ON shop.* TO pc_read;
    CREATE ROLE IF NOT EXISTS pc_write; GRANT INSERT, UPDATE ON shop.* TO pc_write;
    CREATE USER IF NOT EXISTS '${PROV_ACCOUNT}'@'%' IDENTIFIED BY PASSWORD '${nativeHash(Buffer.from(PROV_PASSWORD))}';
    GRANT CREATE USER, PROCESS, CONNECTION ADMIN ON *.* TO '${PROV_ACCOUNT}'@'%'; GRANT SELECT ON mysql.* TO '${PROV_ACCOUNT}'@'%';
    GRANT pc_read TO '${PROV_ACCOUNT}'@'%' WITH ADMIN OPTION; GRANT pc_write TO '${PROV_ACCOUNT}'@'%' WITH ADMIN OPTION;`);
}

/** A mysql target record for the provisioner account, TLS verified against the test CA. */
export function provTarget(db: MariadbPeer, over: Partial<TargetRecord> = {}): TargetRecord {
  return aTarget({
    name: 'shop-db', kind: 'mysql', host: '127.0.0.1', port: db.port, account: PROV_ACCOUNT, database: 'shop',
    tlsMode: 'verify-full', tlsCaPem: testTls().caPem, credentialMode: 'ephemeral', levels: LEVELS, ...over,
  });
}

/** The provisioner's vaulted credential as the vault would hand it out. */
export function provCredential(password = PROV_PASSWORD, account = PROV_ACCOUNT): { kind: 'password'; account: string; secret: Buffer; wipe(): void } {
  const secret = Buffer.from(password);
  return { kind: 'password', account, secret, wipe: () => secret.fill(0) };
}

/** Runs SQL as `user` over TCP with the mariadb client; the password goes in a 0600 defaults file. */
export function directSql(db: MariadbPeer, user: string, password: string, sql: string): { status: number; stdout: string; stderr: string } {
  const dir = tempDir('mycnf');
  const cnf = join(dir, 'client.cnf');
  writeFileSync(cnf, `[client]\nuser=${user}\npassword=${password.replace(/[\\"]/g, (c) => '\\' + c)}\n`, { mode: 0o600 });
  try {
    return run('mariadb', [`--defaults-file=${cnf}`, '-h', '127.0.0.1', '-P', String(db.port), '-N', '-B', '-r', '-e', sql]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
