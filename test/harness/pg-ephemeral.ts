// Zero standing privilege on PostgreSQL through the real gateway (test/e2e/pg-ephemeral*.test.ts):
// one PostgreSQL 15 with the level roles and provisioner of pg-levels.ts, one gateway (its log also
// written to a file for secret scans, a short reconcile interval), the ephemeral target "db"
// (levels read=pc_read, write=pc_read,pc_write; verify-full TLS to the test CA) and gateway users
// alice and bob. psql gets passwords through PGPASSWORD, never argv.
import { join } from 'node:path';
import { requireBinary, run, tempDir } from './common.js';
import { type CliResult, type GatewayPeer, json, startGateway } from './gateway.js';
import { PipedClient } from './piped-client.js';
import { PROVISIONER, PROVISIONER_PASSWORD, setUpPgLevels } from './pg-levels.js';
import { type PostgresPeer, startPostgres } from './postgres.js';
import { tlsCaArgs } from './test-ca.js';

export const userPassword = (user: string): string => `${user}-Gateway-Password-1`;

export interface PgEphemeral {
  gw: GatewayPeer;
  pg: PostgresPeer;
  logFile: string;
  must(r: CliResult): string;
  /** An admin grant of `user` on `target` at `level`; its id. */
  grant(user: string, level: string, duration?: string, target?: string): string;
  /** psql through the gateway as USER+TARGET[+LEVEL], one command. */
  psql(principal: string, sql: string, user?: string): { status: number; stdout: string; stderr: string };
  /** psql through the gateway kept open (stdin a pipe). */
  open(principal: string, user?: string): PipedClient;
  /** psql straight to PostgreSQL as `role` (no gateway). */
  direct(role: string, password: string, sql: string): { status: number; stdout: string; stderr: string };
  /** pcx_ roles on the server, as the superuser sees them. */
  pcxRoles(): string[];
  stop(): Promise<void>;
}

const PSQL = (): string => requireBinary('postgresql-client-15', 'psql');

export async function startPgEphemeral(env: NodeJS.ProcessEnv = {}): Promise<PgEphemeral> {
  const logFile = join(tempDir('gwlog'), 'serve.log');
  const [gw, pg] = await Promise.all([
    startGateway({ env: { PORTCULLIS_EPHEMERAL_RECONCILE_INTERVAL: '1s', ...env }, logFile }),
    startPostgres(),
  ]);
  setUpPgLevels(pg, 'orders');
  const must = (r: CliResult): string => { if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`); return r.stdout; };
  for (const u of ['alice', 'bob']) must(gw.admin(['user', 'add', u, '--role', 'ops', '--password-stdin'], `${userPassword(u)}\n`));
  must(gw.admin(['target', 'add', 'db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', PROVISIONER,
    '--database', 'orders', '--tls', 'verify-full', ...tlsCaArgs(), '--credential', 'ephemeral',
    '--level', 'read=pc_read', '--level', 'write=pc_read,pc_write', '--password-stdin'], `${PROVISIONER_PASSWORD}\n`));
  const conninfo = (principal: string): string =>
    `host=127.0.0.1 port=${gw.ports.postgres} user=${principal} dbname=orders sslmode=require connect_timeout=10`;
  const userOf = (principal: string): string => principal.split('+')[0]!;
  return {
    gw, pg, logFile, must,
    grant: (user, level, duration = '10m', target = 'db') => json<{ id: string }>(gw.admin(['grant', 'add', '--user', user, '--target', target,
      '--level', level, '--for', duration, '--reason', 'e2e', '--json'])).id,
    psql: (principal, sql, user) => run(PSQL(), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', conninfo(principal), '-c', sql],
      { env: { ...process.env, PGPASSWORD: userPassword(user ?? userOf(principal)) } }),
    open: (principal, user) => new PipedClient(PSQL(), ['-X', '-A', '-t', conninfo(principal)], { PGPASSWORD: userPassword(user ?? userOf(principal)) }),
    direct: (role, password, sql) => run(PSQL(), ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
      `host=127.0.0.1 port=${pg.port} user=${role} dbname=orders sslmode=require connect_timeout=10`, '-c', sql],
    { env: { ...process.env, PGPASSWORD: password } }),
    pcxRoles: () => pg.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pcx\\_%' ORDER BY 1").split('\n').map((l) => l.trim()).filter(Boolean),
    stop: async () => { await Promise.all([gw.stop(), pg.stop()]); },
  };
}
