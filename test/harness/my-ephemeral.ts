// Zero standing privilege on MariaDB through the built gateway (issue 15): one MariaDB with the level
// roles and the provisioner pcprov (my-provision.ts), one gateway, the ephemeral target `shop` and
// gateway users. Clients go through the gateway's MySQL listener: the mariadb client with the
// password in the environment (MYSQL_PWD, never argv), or mysql2 for connections held open.
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { requireBinary, run } from './common.js';
import { type GatewayPeer, json, startGateway } from './gateway.js';
import { type MariadbPeer, startMariadb } from './mariadb.js';
import { PROV_PASSWORD, setupMyLevels } from './my-provision.js';
import { tlsPinArgs } from './test-ca.js';

export const USER_PASSWORD = 'User-Gw-Password-3';

export interface MyEphemeral {
  gw: GatewayPeer;
  db: MariadbPeer;
  /** The mariadb client through the gateway as `principal` (USER+TARGET[+LEVEL]) with TLS to the gateway. */
  client(principal: string, sql: string): { status: number; stdout: string; stderr: string };
  /** A mysql2 connection through the gateway, held open by the caller. */
  connect(principal: string): Promise<mysql.Connection>;
  /** An admin grant; its id. */
  grant(user: string, target: string, duration: string, level?: string): string;
  /** Whether a user of that name exists on the server (asked as root over the socket). */
  userExists(name: string): boolean;
  stop(): Promise<void>;
}

export async function startMyEphemeral(env: NodeJS.ProcessEnv = {}, users: string[] = []): Promise<MyEphemeral> {
  const mariadb = requireBinary('mariadb-client', 'mariadb');
  const [gw, db] = await Promise.all([startGateway({ env }), startMariadb()]);
  setupMyLevels(db);
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  for (const u of users) must(gw.admin(['user', 'add', u, '--role', 'user', '--password-stdin'], `${USER_PASSWORD}\n`));
  must(gw.admin(['target', 'add', 'shop', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(db.port), '--account', 'pcprov',
    '--database', 'shop', ...tlsPinArgs(), '--credential', 'ephemeral', '--level', 'read=pc_read', '--level', 'write=pc_read,pc_write',
    '--password-stdin'], `${PROV_PASSWORD}\n`));
  const ca = readFileSync(gw.caFile, 'utf8');
  return {
    gw, db,
    client: (principal, sql) => run(mariadb, ['--no-defaults', '-h', '127.0.0.1', '-P', String(gw.ports.mysql), '-u', principal,
      '--ssl', '--batch', '-N', '-e', sql], { env: { ...process.env, MYSQL_PWD: USER_PASSWORD } }),
    connect: (principal) => mysql.createConnection({
      host: '127.0.0.1', port: gw.ports.mysql, user: principal, password: USER_PASSWORD, database: 'shop', ssl: { ca }, connectTimeout: 20_000,
    }),
    grant: (user, target, duration, level) => json<{ id: string }>(gw.admin(['grant', 'add', '--user', user, '--target', target, '--for', duration,
      '--reason', 'test', ...(level ? ['--level', level] : []), '--json'])).id,
    userExists: (name) => db.sql(`SELECT COUNT(*) FROM mysql.user WHERE User = '${name.replace(/[^a-z0-9_]/g, '')}'`).trim() !== '0',
    stop: async () => { await Promise.all([gw.stop(), db.stop()]); },
  };
}
