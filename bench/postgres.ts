// PostgreSQL benchmark: pgbench -S against the same PostgreSQL directly, through PgBouncer (session
// pooling: the C proxy a DBA would otherwise put there) and through Portcullis with every
// statement recorded, in one run, for -M simple, extended and prepared; printed as ratios.
// Plaintext on every path (the gateway's development switch) so TLS cost does not blur the
// comparison; a last row shows the gateway with TLS as clients must use it.
//   npm run bench:pg        (BENCH_SECONDS=15 by default)
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, portOpen, requireBinary, startProc, tempDir, waitFor } from '../test/harness/common.js';
import { startGateway } from '../test/harness/gateway.js';
import { startPostgres } from '../test/harness/postgres.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const PASSWORD = 'bench-App-Password-1';
const pgbench = requireBinary('postgresql-15', '/usr/lib/postgresql/15/bin/pgbench');
const psql = requireBinary('postgresql-client-15', 'psql');
const pgbouncerBin = requireBinary('pgbouncer', '/usr/sbin/pgbouncer');

const pg = await startPostgres();
pg.sql(`CREATE ROLE app LOGIN PASSWORD '${PASSWORD}'`);
pg.sql('CREATE DATABASE bench OWNER app');
const gw = await startGateway({ env: { PORTCULLIS_POSTGRES_ALLOW_PLAINTEXT: '1', PORTCULLIS_LOG_LEVEL: 'warn' } });
gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`);
gw.admin(['target', 'add', 'bench-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pg.port), '--account', 'app', '--database', 'bench',
  // Plaintext upstream, as PgBouncer's leg here and as in the figures measured before TLS became the default.
  '--tls', 'disable', '--password-stdin'], `${PASSWORD}\n`);
gw.admin(['grant', 'add', '--user', 'dba', '--target', 'bench-db', '--for', '2h', '--reason', 'bench']);

const bdir = tempDir('pgbouncer');
chmodSync(bdir, 0o777);
const bport = await freePort();
writeFileSync(join(bdir, 'users.txt'), `"app" "${PASSWORD}"\n`, { mode: 0o644 });
writeFileSync(join(bdir, 'pgbouncer.ini'), [
  '[databases]', `bench = host=127.0.0.1 port=${pg.port} dbname=bench`,
  '[pgbouncer]', `listen_addr = 127.0.0.1`, `listen_port = ${bport}`, `unix_socket_dir = ${bdir}`, 'auth_type = scram-sha-256',
  `auth_file = ${join(bdir, 'users.txt')}`, 'pool_mode = session', 'max_client_conn = 100', 'default_pool_size = 20', `logfile = ${join(bdir, 'log')}`,
  'ignore_startup_parameters = extra_float_digits', '',
].join('\n'), { mode: 0o644 });
const bouncer = startProc('runuser', ['-u', 'postgres', '--', pgbouncerBin, join(bdir, 'pgbouncer.ini')]);
await waitFor('pgbouncer', () => portOpen(bport), 15_000, bouncer);

const paths = {
  direct: { port: pg.port, user: 'app', ssl: 'disable' },
  pgbouncer: { port: bport, user: 'app', ssl: 'disable' },
  portcullis: { port: gw.ports.postgres, user: 'dba+bench-db', ssl: 'disable' },
  'portcullis+TLS': { port: gw.ports.postgres, user: 'dba+bench-db', ssl: 'require' },
} as const;
type Path = keyof typeof paths;
const env = (p: Path): NodeJS.ProcessEnv => ({ ...process.env, PGPASSWORD: PASSWORD, PGSSLMODE: paths[p].ssl });
const args = (p: Path): string[] => ['-h', '127.0.0.1', '-p', String(paths[p].port), '-U', paths[p].user];

const init = spawnSync(pgbench, ['-i', '-q', '-s', '10', ...args('direct'), 'bench'], { env: env('direct'), encoding: 'utf8' });
if (init.status !== 0) throw new Error(init.stderr);

function tps(p: Path, mode: string): number {
  const r = spawnSync(pgbench, ['-S', '-M', mode, '-c', '8', '-j', '2', '-T', String(SECONDS), ...args(p), 'bench'], { env: env(p), encoding: 'utf8' });
  const m = /tps = ([\d.]+)/.exec(r.stdout);
  if (!m || !/failed transactions: 0 /.test(r.stdout)) throw new Error(`${p} ${mode}: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

function setupMs(p: Path): number {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(psql, ['-X', '-tAc', 'select 1', ...args(p), 'bench'], { env: env(p), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[10]!;
}

const order: Path[] = ['direct', 'pgbouncer', 'portcullis', 'portcullis+TLS'];
const rows: Array<[string, Record<Path, number>]> = [];
for (const mode of ['simple', 'extended', 'prepared']) {
  const r = {} as Record<Path, number>;
  for (const p of order) r[p] = tps(p, mode);
  rows.push([`pgbench -S -M ${mode} TPS`, r]);
}
const setup = {} as Record<Path, number>;
for (const p of order) setup[p] = setupMs(p);

console.log(`\nPortcullis PostgreSQL benchmark (2 cores, loopback, ${SECONDS}s per run, -c 8 -j 2, scale 10, every statement recorded)\n`);
console.log('metric'.padEnd(28), ...order.map((p) => p.padStart(15)), 'gw/direct'.padStart(10), 'gw/bouncer'.padStart(11));
for (const [name, r] of rows) {
  console.log(name.padEnd(28), ...order.map((p) => r[p].toFixed(0).padStart(15)), (r.portcullis / r.direct).toFixed(2).padStart(10), (r.portcullis / r.pgbouncer).toFixed(2).padStart(11));
}
console.log('connection setup ms (median)'.padEnd(28), ...order.map((p) => setup[p].toFixed(1).padStart(15)), (setup.portcullis / setup.direct).toFixed(2).padStart(10), (setup.portcullis / setup.pgbouncer).toFixed(2).padStart(11));
await bouncer.stop();
await Promise.all([gw.stop(), pg.stop()]);
process.exit(0);
