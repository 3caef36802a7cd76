// MySQL benchmark, as users' tools run: mariadb-slap (a C client), 8 connections, the same point
// select by primary key, against MariaDB directly, through socat (a plain TCP relay: the floor any
// proxy pays for the extra hop), and through Portcullis with every statement recorded: client TLS
// (as clients must use it), plaintext client, and client TLS with 20 SQL rules. Plaintext behind on
// every path. CPU µs per query of each relay process from /proc (socat: its parent and the child it
// forks per connection). The mysql2 figure (8 connections in one Node process, which is itself the
// bottleneck and hides the gateway's cost) stays as an extra row. New sessions per second: one
// mariadb-slap connection per query (handshake, TLS, login, one select).
//   npm run bench:mysql       (BENCH_SLAP_QUERIES=20000 per run by default, BENCH_CONNECT_QUERIES=200; BENCH_SECONDS=5 for mysql2)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { freePort, portOpen, requireBinary, startProc, waitFor, type Proc } from '../test/harness/common.js';
import { startGateway } from '../test/harness/gateway.js';
import { startMariadb } from '../test/harness/mariadb.js';
import { cpuMeter, forkingCpuMeter, idleMeter } from './lib/proc-cpu.js';
import { ratioRow, runIfMain, type Row, type SuiteResult, percents } from './lib/results.js';
import { MY_SQL_RULES } from './lib/rules.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SLAP_QUERIES = Number(process.env.BENCH_SLAP_QUERIES ?? 20_000);
const CONNECT_QUERIES = Number(process.env.BENCH_CONNECT_QUERIES ?? 200);
const CONNECTIONS = 8;
const PASSWORD = 'bench-Shop-Password-1';
const QUERY = 'SELECT name FROM items WHERE id = 4242';
const BAR = 0.9;

interface Figure { rate: number; cpu: number }

export async function run(): Promise<SuiteResult> {
  const socat = requireBinary('socat', 'socat');
  const slap = requireBinary('mariadb-client', 'mariadb-slap');
  const procs: Proc[] = [];
  const db = await startMariadb();
  const gw = await startGateway({ env: { PORTCULLIS_MYSQL_ALLOW_PLAINTEXT: '1', PORTCULLIS_LOG_LEVEL: 'warn' } });
  try {
    db.createUser('shopapp', PASSWORD, 'shop');
    db.sql('CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO shop.items SELECT seq, CONCAT("item-", seq) FROM shop.seq_1_to_10000;');
    gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`);
    gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(db.port), '--account', 'shopapp', '--database', 'shop',
      // Plaintext upstream, as socat's.
      '--tls', 'disable', '--password-stdin'], `${PASSWORD}\n`);
    gw.admin(['grant', 'add', '--user', 'dba', '--target', 'shop-db', '--for', '2h', '--reason', 'bench']);
    const relayPort = await freePort();
    const relay = startProc(socat, [`TCP-LISTEN:${relayPort},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${db.port}`]);
    procs.push(relay);
    await waitFor('socat', () => portOpen(relayPort), 10_000, relay);

    const paths = {
      direct: { port: db.port, user: 'shopapp', tls: false, pid: 0, forks: false },
      socat: { port: relayPort, user: 'shopapp', tls: false, pid: relay.child.pid ?? 0, forks: true },
      portcullis: { port: gw.ports.mysql, user: 'dba+shop-db', tls: true, pid: gw.pid, forks: false },
      'portcullis plaintext': { port: gw.ports.mysql, user: 'dba+shop-db', tls: false, pid: gw.pid, forks: false },
      'portcullis 20 rules': { port: gw.ports.mysql, user: 'dba+shop-db', tls: true, pid: gw.pid, forks: false },
    } as const;
    type Path = keyof typeof paths;

    const idle: number[] = [];
    /** mariadb-slap: `queries` point selects over 8 connections, or (connect) one new connection per query. */
    async function slapRun(p: Path, queries: number, connect = false): Promise<Figure> {
      const { pid, forks } = paths[p];
      const cpuOf = !pid ? null : forks ? forkingCpuMeter(pid) : ((m) => () => Promise.resolve(m()))(cpuMeter(pid));
      const machineIdle = idleMeter();
      process.stderr.write(`  ${p}${connect ? ' (connect per query)' : ''}...\n`);
      const r = spawnSync(slap, [
        '-h', '127.0.0.1', '-P', String(paths[p].port), '-u', paths[p].user, `-p${PASSWORD}`, '--create-schema=shop', '--no-drop',
        `--concurrency=${CONNECTIONS}`, '--iterations=1', `--number-of-queries=${queries}`, `--query=${QUERY}`,
        // --commit=1 is no use here; --detach=1 reconnects after every query.
        ...(connect ? ['--detach=1'] : []),
        ...(paths[p].tls ? [`--ssl-ca=${gw.caFile}`] : ['--skip-ssl']),
      ], { encoding: 'utf8', timeout: 120_000 });
      idle.push(machineIdle());
      const m = /Average number of seconds to run all queries: ([\d.]+)/.exec(r.stdout);
      if (r.status !== 0 || !m) throw new Error(`mariadb-slap ${p}: ${r.stdout}${r.stderr}`);
      const cpu = cpuOf ? await cpuOf() : Number.NaN;
      return { rate: queries / Number(m[1]), cpu: cpu / queries };
    }

    const ca = readFileSync(gw.caFile, 'utf8');
    /** The old figure: 8 mysql2 connections in this process, varying point selects, for SECONDS. */
    async function mysql2Run(p: Path): Promise<Figure> {
      const cpu = paths[p].pid && !paths[p].forks ? cpuMeter(paths[p].pid) : null;
      const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => mysql.createConnection({
        host: '127.0.0.1', port: paths[p].port, user: paths[p].user, password: PASSWORD, database: 'shop', ...(paths[p].tls ? { ssl: { ca } } : {}),
      })));
      const end = Date.now() + SECONDS * 1000;
      let n = 0;
      await Promise.all(conns.map(async (c, i) => {
        let id = i;
        while (Date.now() < end) {
          await c.query('SELECT name FROM items WHERE id = ' + ((id = (id * 7919 + 1) % 10000) + 1));
          n++;
        }
      }));
      await Promise.all(conns.map((c) => c.end()));
      return { rate: n / SECONDS, cpu: cpu ? cpu() / n : Number.NaN };
    }

    const slapFig: Partial<Record<Path, Figure>> = {};
    const connFig: Partial<Record<Path, Figure>> = {};
    const m2Fig: Partial<Record<Path, Figure>> = {};
    // Not measured: the gateway's JIT warms up (its first run was 10-20 µs per query dearer).
    await slapRun('portcullis', Math.min(SLAP_QUERIES, 4000));
    const main: Path[] = ['direct', 'socat', 'portcullis', 'portcullis plaintext'];
    for (const p of main) slapFig[p] = await slapRun(p, SLAP_QUERIES);
    for (const p of ['direct', 'socat', 'portcullis'] as const) connFig[p] = await slapRun(p, CONNECT_QUERIES, true);
    for (const p of ['socat', 'portcullis'] as const) m2Fig[p] = await mysql2Run(p);
    for (const [i, r] of MY_SQL_RULES.entries()) {
      const a = gw.admin(['rule', 'add', `bench-${i}`, '--kind', 'sql', ...r]);
      if (a.code !== 0) throw new Error(a.stderr);
    }
    slapFig['portcullis 20 rules'] = await slapRun('portcullis 20 rules', SLAP_QUERIES);

    const row = (workload: string, f: Partial<Record<Path, Figure>>, unit: string, cpuUnit: string): Omit<Row, 'ratio'> => ({
      workload, unit,
      values: Object.fromEntries(Object.entries(f).map(([p, v]) => [p, v.rate])),
      cpu: Object.fromEntries(Object.entries(f).filter(([, v]) => Number.isFinite(v.cpu)).map(([p, v]) => [p, v.cpu])),
      cpuUnit,
    });
    const slapWorkload = `mariadb-slap -c ${CONNECTIONS}, ${SLAP_QUERIES} × "${QUERY}"`;
    const rows: Row[] = [
      ratioRow(row(slapWorkload, slapFig, 'queries/s', 'µs per query'), 'portcullis', 'socat', BAR),
      ratioRow(row(`${slapWorkload}, 20 SQL rules`, { socat: slapFig.socat!, 'portcullis 20 rules': slapFig['portcullis 20 rules'] }, 'queries/s', 'µs per query'),
        'portcullis 20 rules', 'socat', BAR),
      ratioRow(row(`new sessions: mariadb-slap -c ${CONNECTIONS} --detach=1 (connect, login, one select)`, connFig, 'sessions/s', 'µs per session'), 'portcullis', 'socat'),
      ratioRow(row(`mysql2 (${CONNECTIONS} connections in one Node process, the client is the bottleneck), varying point selects`, m2Fig, 'queries/s', 'µs per query'),
        'portcullis', 'socat'),
    ];
    return {
      suite: 'mysql',
      title: `MySQL: mariadb-slap (C client), ${CONNECTIONS} connections, point selects; portcullis: client TLS, plaintext behind, every statement recorded`,
      rows,
      notes: [
        'socat: a plain TCP relay (no TLS), one forked process per connection; its CPU is the parent\'s and its reaped children\'s (utime + stime + cutime + cstime from /proc).',
        'portcullis plaintext: the client without TLS (PORTCULLIS_MYSQL_ALLOW_PLAINTEXT); an extra, not how clients must connect.',
        'direct: no hop. CPU is of the relay process alone (utime + stime), per query or per session; the gateway\'s includes its 8 session starts and ends (about 20 ms each here) and the recording of every statement.',
        'The gateway was warmed up (4,000 queries, not counted) before the first measured run.',
        `machine idle during runs: ${percents(idle)}`,
      ],
    };
  } finally {
    for (const p of procs) await p.stop();
    await Promise.all([gw.stop(), db.stop()]);
  }
}

runIfMain(import.meta.url, run);
