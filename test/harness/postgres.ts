// A real PostgreSQL 15 for tests: initdb in a temp dir as the postgres OS user (initdb refuses
// root), scram-sha-256 for every TCP login so passwords are really checked, on a free port, with
// TLS on (a certificate from the per-process test CA, test-ca.ts).
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromTemplate, withFreshPort, portOpen, removeDir, requireBinary, runOk, startProc, tempDir, waitFor } from './common.js';
import { testTls } from './test-ca.js';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresPeer {
  port: number;
  superuser: string;
  password: string;
  dir: string;
  /** Runs SQL as the superuser through psql over TCP (a real password login). */
  sql(query: string, database?: string): string;
  stop(): Promise<void>;
  /** Stops the server as `pg_ctl stop -m fast` does (clients are disconnected); start() brings it back on the same port. */
  stopFast(): Promise<void>;
  /** Starts the server again after stopFast(), same port and data. */
  start(): Promise<void>;
}

export interface PostgresOptions {
  /** max_connections (default 100; a benchmark with 1,000 sessions needs more). */
  maxConnections?: number;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresPeer> {
  const initdb = requireBinary('postgresql-15', `${BIN}/initdb`);
  const postgres = requireBinary('postgresql-15', `${BIN}/postgres`);
  const psql = requireBinary('postgresql-client-15', 'psql');
  const dir = tempDir('pg');
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const password = 'pg-Super-Password-1';
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, password + '\n', { mode: 0o644 });
  // PostgreSQL refuses a key readable by others or owned by someone else.
  const uid = Number(runOk('id', ['-u', 'postgres']).trim());
  const gid = Number(runOk('id', ['-g', 'postgres']).trim());
  const initArgs = ['-U', 'postgres', '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync'];
  fromTemplate(`pg15 initdb ${initArgs.join(' ')} ${password}`, data, (made) => {
    mkdirSync(made, { mode: 0o700 });
    chownSync(made, uid, gid);
    runOk('runuser', ['-u', 'postgres', '--', initdb, '-D', made, ...initArgs]);
  });
  const { server } = testTls();
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  writeFileSync(certFile, server.certPem, { mode: 0o644 });
  writeFileSync(keyFile, server.keyPem, { mode: 0o600 });
  chownSync(keyFile, uid, gid);
  return withFreshPort(async (port) => {
    const launch = (): ReturnType<typeof startProc> => startProc(postgres, ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dir}`, '-c', 'ssl=on', '-c', `ssl_cert_file=${certFile}`, '-c', `ssl_key_file=${keyFile}`, '-c', 'fsync=off', '-c', `max_connections=${opts.maxConnections ?? 100}`, '-c', 'password_encryption=scram-sha-256'],
      // Started as the postgres user directly, not through runuser: runuser answers SIGTERM by
      // waiting 2 s before it kills, on every stop. Fast shutdown (SIGINT): clients are cut at once.
      { stopSignal: 'SIGINT', uid, gid, env: { ...process.env, HOME: dir } });
    let proc = launch();
    await waitFor('postgres to listen', () => portOpen(port), 30_000, proc);
    const env = { ...process.env, PGPASSWORD: password };
    const sql = (query: string, database = 'postgres'): string =>
      runOk(psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-c', query], { env });
    await waitFor('postgres to accept logins', () => { try { sql('SELECT 1'); return true; } catch { return false; } }, 30_000, proc);
    const stopFast = async (): Promise<void> => {
      const exited = new Promise<void>((resolve) => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) resolve();
        else proc.child.once('exit', () => resolve());
      });
      runOk('runuser', ['-u', 'postgres', '--', `${BIN}/pg_ctl`, 'stop', '-D', data, '-m', 'fast', '-w']);
      await exited;
    };
    const start = async (): Promise<void> => {
      proc = launch();
      await waitFor('postgres to listen again', () => portOpen(port), 30_000, proc);
      await waitFor('postgres to accept logins again', () => { try { sql('SELECT 1'); return true; } catch { return false; } }, 30_000, proc);
    };
    return { port, superuser: 'postgres', password, dir, sql, stop: async () => { await proc.stop(); removeDir(dir); }, stopFast, start };
  });
}
