// Session setup cost of zero standing privilege: psql `select 1` through Portcullis to the same
// PostgreSQL 15, with the target's static vaulted account vs an ephemeral account per grant. Three
// rows, median of 20 each: static; ephemeral, first session of a fresh grant (the account is created:
// CREATE ROLE with a SCRAM verifier, then the login); ephemeral, a later session of the same grant
// (the account exists: its sealed secret is opened). Direct psql as the baseline. TLS from psql to
// the gateway and from the gateway to PostgreSQL, as in production.
//   npm run bench:ephemeral
import { spawnSync } from 'node:child_process';
import { requireBinary } from '../test/harness/common.js';
import { type CliResult, startGateway } from '../test/harness/gateway.js';
import { startPostgres } from '../test/harness/postgres.js';
import { testTls } from '../test/harness/test-ca.js';

const RUNS = 20;
const PASSWORD = 'bench-App-Password-1';
const psql = requireBinary('postgresql-client-15', 'psql');

const pg = await startPostgres();
pg.sql(`CREATE ROLE app LOGIN PASSWORD '${PASSWORD}'`);
// The provisioner as the PostgreSQL provisioner documents it: CREATEROLE (and INHERIT), nothing else
// (pg_signal_backend is not needed: it is a member of each account it creates).
pg.sql(`CREATE ROLE portcullis_prov LOGIN CREATEROLE PASSWORD '${PASSWORD}'`);
pg.sql('CREATE ROLE pc_read NOLOGIN');
pg.sql('CREATE DATABASE bench OWNER app');
pg.sql('GRANT CONNECT ON DATABASE bench TO pc_read');
const gw = await startGateway({ env: { PORTCULLIS_LOG_LEVEL: 'warn' } });
// Every setup step must succeed: a silently failed one would time the wrong thing.
function must(r: CliResult): string {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
must(gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`));
const tls = ['--tls', 'verify-full', '--tls-ca', testTls().caFile];
must(gw.admin(['target', 'add', 'static-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app',
  '--database', 'bench', ...tls, '--password-stdin'], `${PASSWORD}\n`));
must(gw.admin(['target', 'add', 'zsp-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'portcullis_prov',
  '--database', 'bench', ...tls, '--credential', 'ephemeral', '--level', 'read=pc_read', '--password-stdin'], `${PASSWORD}\n`));
must(gw.admin(['target', 'test', 'zsp-db']));
must(gw.admin(['grant', 'add', '--user', 'dba', '--target', 'static-db', '--for', '2h', '--reason', 'bench']));

const env: NodeJS.ProcessEnv = { ...process.env, PGPASSWORD: PASSWORD, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '20' };
function once(port: number, user: string, expect = /^app$/): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(psql, ['-X', '-tAc', 'select current_user', '-h', '127.0.0.1', '-p', String(port), '-U', user, 'bench'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${user}: ${r.stderr}`);
  // The ephemeral rows must really run as a per-grant account, the others as the static one.
  if (!expect.test(r.stdout.trim())) throw new Error(`${user}: current_user is ${r.stdout.trim()}, not ${expect}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const PCX = /^pcx_[a-z2-7]{12}$/;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function grantId(): string {
  const r = must(gw.admin(['grant', 'add', '--user', 'dba', '--target', 'zsp-db', '--level', 'read', '--for', '2h', '--reason', 'bench', '--json']));
  return (JSON.parse(r) as { id: string }).id;
}

const rows: Array<[string, number[]]> = [];
rows.push(['direct psql (app)', Array.from({ length: RUNS }, () => once(pg.port, 'app'))]);
rows.push(['static credential', Array.from({ length: RUNS }, () => once(gw.ports.postgres, 'dba+static-db'))]);
const first: number[] = [];
let last = '';
for (let i = 0; i < RUNS; i++) {
  if (last) must(gw.admin(['grant', 'revoke', last, '--reason', 'bench']));
  last = grantId();
  first.push(once(gw.ports.postgres, 'dba+zsp-db', PCX));
}
rows.push(['ephemeral, first session', first]);
rows.push(['ephemeral, later session', Array.from({ length: RUNS }, () => once(gw.ports.postgres, 'dba+zsp-db', PCX))]);

const base = median(rows[1]![1]);
console.log(`\nSession setup, psql "select current_user" over TLS, PostgreSQL 15, median of ${RUNS} (2 cores, loopback)\n`);
console.log('path'.padEnd(28), 'median ms'.padStart(10), 'p90 ms'.padStart(8), 'vs static'.padStart(10));
for (const [name, xs] of rows) {
  const sorted = [...xs].sort((a, b) => a - b);
  console.log(name.padEnd(28), median(xs).toFixed(1).padStart(10), sorted[Math.floor(xs.length * 0.9)]!.toFixed(1).padStart(8), (median(xs) / base).toFixed(2).padStart(10));
}
await Promise.all([gw.stop(), pg.stop()]);
process.exit(0);
