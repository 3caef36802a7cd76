// PostgreSQL benchmark, TLS to TLS as production runs: pgbench -S (-c 8 -j 2, scale 10) with the
// client on TLS against PostgreSQL directly, through PgBouncer (session pooling, client TLS: the C
// proxy a DBA would otherwise put there), through the leanest Node relay (bench/lib/bare-relay.ts,
// terminating client TLS: the ceiling for a relay in JavaScript), and through Portcullis with every
// statement recorded, without rules and with 20 SQL rules. One run, for -M simple, extended and
// prepared; CPU µs per transaction of each relay process from /proc. New sessions per second:
// pgbench -C (a new connection, TLS handshake and login for every transaction).
//   npm run bench:pg        (BENCH_SECONDS=10 by default)
import { spawnSync } from 'node:child_process';
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, portOpen, requireBinary, runOk, startProc, tempDir, waitFor, type Proc } from '../test/harness/common.js';
import { BENCH_PASSWORD, pgBenchDb } from './lib/pg-bench-db.js';
import { testTls } from '../test/harness/test-ca.js';
import { cpuMeter, idleMeter } from './lib/proc-cpu.js';
import { ratioRow, runIfMain, type Row, type SuiteResult, percents } from './lib/results.js';
import { SQL_RULES } from './lib/rules.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PASSWORD = BENCH_PASSWORD;
const BARS: Record<string, number> = { simple: 0.9, extended: 0.9, prepared: 0.85 };

export async function run(): Promise<SuiteResult> {
  const pgbench = requireBinary('postgresql-15', '/usr/lib/postgresql/15/bin/pgbench');
  const pgbouncerBin = requireBinary('pgbouncer', '/usr/sbin/pgbouncer');
  const procs: Proc[] = [];
  const { pg, gw } = await pgBenchDb();
  try {
    const { server } = testTls();
    const bdir = tempDir('pgbouncer');
    const uid = Number(runOk('id', ['-u', 'postgres']).trim());
    const gid = Number(runOk('id', ['-g', 'postgres']).trim());
    chownSync(bdir, uid, gid);
    const cert = join(bdir, 'server.crt'), key = join(bdir, 'server.key');
    writeFileSync(cert, server.certPem, { mode: 0o644 });
    writeFileSync(key, server.keyPem, { mode: 0o600 });
    chownSync(key, uid, gid);
    const bport = await freePort();
    writeFileSync(join(bdir, 'users.txt'), `"app" "${PASSWORD}"\n`, { mode: 0o644 });
    writeFileSync(join(bdir, 'pgbouncer.ini'), [
      '[databases]', `bench = host=127.0.0.1 port=${pg.port} dbname=bench`,
      '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${bport}`, `unix_socket_dir = ${bdir}`, 'auth_type = scram-sha-256',
      `auth_file = ${join(bdir, 'users.txt')}`, 'pool_mode = session', 'max_client_conn = 200', 'default_pool_size = 20', `logfile = ${join(bdir, 'log')}`,
      'ignore_startup_parameters = extra_float_digits', 'client_tls_sslmode = require', `client_tls_cert_file = ${cert}`, `client_tls_key_file = ${key}`, '',
    ].join('\n'), { mode: 0o644 });
    const bouncer = startProc(pgbouncerBin, [join(bdir, 'pgbouncer.ini')], { uid, gid, env: { ...process.env, HOME: bdir } });
    procs.push(bouncer);
    await waitFor('pgbouncer', () => portOpen(bport), 15_000, bouncer);

    const rport = await freePort();
    const relay = startProc(process.execPath, [join(import.meta.dirname, 'lib/bare-relay.js'), String(rport), String(pg.port), '--pg-tls', cert, key]);
    procs.push(relay);
    await waitFor('bare relay', () => portOpen(rport), 15_000, relay);

    const paths = {
      direct: { port: pg.port, user: 'app', pid: 0 },
      pgbouncer: { port: bport, user: 'app', pid: bouncer.child.pid ?? 0 },
      'node relay': { port: rport, user: 'app', pid: relay.child.pid ?? 0 },
      portcullis: { port: gw.ports.postgres, user: 'dba+bench-db', pid: gw.pid },
      'portcullis 20 rules': { port: gw.ports.postgres, user: 'dba+bench-db', pid: gw.pid },
    } as const;
    type Path = keyof typeof paths;
    const env = { ...process.env, PGPASSWORD: PASSWORD, PGSSLMODE: 'require' };
    const conn = (p: Path): string[] => ['-h', '127.0.0.1', '-p', String(paths[p].port), '-U', paths[p].user];
    const init = spawnSync(pgbench, ['-i', '-q', '-s', '10', ...conn('direct'), 'bench'], { env, encoding: 'utf8' });
    if (init.status !== 0) throw new Error(init.stderr);

    const idle: number[] = [];
    function bench(p: Path, extra: string[], seconds = SECONDS): { tps: number; cpuPerTx: number } {
      const cpu = paths[p].pid ? cpuMeter(paths[p].pid) : null;
      const machineIdle = idleMeter();
      process.stderr.write(`  ${p} ${extra.join(' ')}...\n`);
      const r = spawnSync(pgbench, ['-S', ...extra, '-c', '8', '-j', '2', '-T', String(seconds), ...conn(p), 'bench'], { env, encoding: 'utf8', timeout: (seconds + 30) * 1000 });
      idle.push(machineIdle());
      const tps = /tps = ([\d.]+)/.exec(r.stdout);
      const tx = /number of transactions actually processed: (\d+)/.exec(r.stdout);
      if (!tps || !tx || !/failed transactions: 0 /.test(r.stdout)) throw new Error(`${p} ${extra.join(' ')}: ${r.stdout}${r.stderr}`);
      return { tps: Number(tps[1]), cpuPerTx: cpu ? cpu() / Number(tx[1]) : Number.NaN };
    }

    const modes = ['simple', 'extended', 'prepared'];
    const order: Path[] = ['direct', 'pgbouncer', 'node relay', 'portcullis'];
    const figures: Record<string, Partial<Record<Path, { tps: number; cpuPerTx: number }>>> = {};
    for (const mode of modes) {
      figures[mode] = {};
      for (const p of order) figures[mode][p] = bench(p, ['-M', mode]);
    }
    const connects: Partial<Record<Path, { tps: number; cpuPerTx: number }>> = {};
    // Not through PgBouncer: with -C over client TLS it stalled here (pgbench waited for ever).
    for (const p of ['direct', 'node relay', 'portcullis'] as const) connects[p] = bench(p, ['-C', '-M', 'simple'], Math.min(SECONDS, 5));
    for (const [i, r] of SQL_RULES.entries()) {
      const a = gw.admin(['rule', 'add', `bench-${i}`, '--kind', 'sql', ...r]);
      if (a.code !== 0) throw new Error(a.stderr);
    }
    for (const mode of modes) figures[mode]!['portcullis 20 rules'] = bench('portcullis 20 rules', ['-M', mode]);

    const rows: Row[] = [];
    const row = (workload: string, f: Partial<Record<Path, { tps: number; cpuPerTx: number }>>, unit: string): Omit<Row, 'ratio'> => ({
      workload, unit,
      values: Object.fromEntries(Object.entries(f).map(([p, v]) => [p, v.tps])),
      cpu: Object.fromEntries(Object.entries(f).filter(([, v]) => Number.isFinite(v.cpuPerTx)).map(([p, v]) => [p, v.cpuPerTx])),
      cpuUnit: 'µs per tx',
    });
    for (const mode of modes) {
      rows.push(ratioRow(row(`pgbench -S -M ${mode}`, figures[mode]!, 'tx/s'), 'portcullis', 'pgbouncer', BARS[mode]));
      rows.push(ratioRow(row(`pgbench -S -M ${mode}, 20 SQL rules`, { pgbouncer: figures[mode]!.pgbouncer!, 'portcullis 20 rules': figures[mode]!['portcullis 20 rules']! }, 'tx/s'),
        'portcullis 20 rules', 'pgbouncer', BARS[mode]));
    }
    rows.push(ratioRow(row('new sessions: pgbench -S -C (TLS handshake + login per tx)', connects, 'sessions/s'), 'portcullis', 'direct'));
    return {
      suite: 'postgres',
      title: `PostgreSQL: pgbench -S -c 8 -j 2, scale 10, ${SECONDS} s per run, client TLS on every path, plaintext behind; every statement recorded`,
      rows,
      notes: [
        'node relay: the leanest Node relay (bench/lib/bare-relay.ts): terminates client TLS and forwards bytes, nothing else. The ceiling for a relay in JavaScript.',
        'direct: PostgreSQL terminates TLS itself (no hop). CPU is of the relay process alone, from /proc (utime + stime).',
        `machine idle during runs: ${percents(idle)}`,
      ],
    };
  } finally {
    for (const p of procs) await p.stop();
    await Promise.all([gw.stop(), pg.stop()]);
  }
}

runIfMain(import.meta.url, run);
