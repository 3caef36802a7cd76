// MySQL benchmark: a select-only load from 8 mysql2 connections (a point select by primary key,
// as fast as each connection can go) against the same MariaDB directly, through a plain TCP relay
// (socat: the floor any proxy pays for the extra hop), and through Portcullis with every statement
// recorded; one run, printed as ratios. Plaintext on every path so TLS does not blur the hop cost;
// a last column shows Portcullis with TLS as clients must use it. The same point selects are also
// run with mariadb-slap (a C client, as users' tools are): mysql2 in one Node process is often the
// bottleneck itself and hides the gateway's cost.
//   npm run bench:mysql       (BENCH_SECONDS=15 by default; BENCH_SLAP_QUERIES=80000)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { freePort, portOpen, requireBinary, startProc, waitFor } from '../test/harness/common.js';
import { startGateway } from '../test/harness/gateway.js';
import { startMariadb } from '../test/harness/mariadb.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONNECTIONS = 8;
const PASSWORD = 'bench-Shop-Password-1';
const socat = requireBinary('socat', 'socat');
const slap = requireBinary('mariadb-client', 'mariadb-slap');
const SLAP_QUERIES = Number(process.env.BENCH_SLAP_QUERIES ?? 80_000);

const db = await startMariadb();
db.createUser('shopapp', PASSWORD, 'shop');
db.sql('CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO shop.items SELECT seq, CONCAT("item-", seq) FROM shop.seq_1_to_10000;');
const gw = await startGateway({ env: { PORTCULLIS_MYSQL_ALLOW_PLAINTEXT: '1', PORTCULLIS_LOG_LEVEL: 'warn' } });
gw.admin(['user', 'add', 'dba', '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`);
gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(db.port), '--account', 'shopapp', '--database', 'shop',
  // Plaintext upstream, as the socat relay here and as in the figures measured before TLS became the default.
  '--tls', 'disable', '--password-stdin'], `${PASSWORD}\n`);
gw.admin(['grant', 'add', '--user', 'dba', '--target', 'shop-db', '--for', '2h', '--reason', 'bench']);
const relayPort = await freePort();
const relay = startProc(socat, [`TCP-LISTEN:${relayPort},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${db.port}`]);
await waitFor('socat', () => portOpen(relayPort), 10_000, relay);

const ca = readFileSync(gw.caFile, 'utf8');
const paths = {
  direct: { port: db.port, user: 'shopapp', tls: false },
  socat: { port: relayPort, user: 'shopapp', tls: false },
  portcullis: { port: gw.ports.mysql, user: 'dba+shop-db', tls: false },
  'portcullis+TLS': { port: gw.ports.mysql, user: 'dba+shop-db', tls: true },
} as const;
type Path = keyof typeof paths;

async function qps(p: Path): Promise<number> {
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
  return n / SECONDS;
}

async function setupMs(p: Path): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    const c = await mysql.createConnection({ host: '127.0.0.1', port: paths[p].port, user: paths[p].user, password: PASSWORD, database: 'shop', ...(paths[p].tls ? { ssl: { ca } } : {}) });
    await c.query('SELECT 1');
    await c.end();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[10]!;
}

/** Queries per second of mariadb-slap: 8 C connections, the same point select, SLAP_QUERIES in all. */
function slapQps(p: Path): number {
  const r = spawnSync(slap, [
    '-h', '127.0.0.1', '-P', String(paths[p].port), '-u', paths[p].user, `-p${PASSWORD}`, '--create-schema=shop', '--no-drop',
    `--concurrency=${CONNECTIONS}`, '--iterations=1', `--number-of-queries=${SLAP_QUERIES}`, '--query=SELECT name FROM items WHERE id = 4242',
    ...(paths[p].tls ? [`--ssl-ca=${gw.caFile}`] : ['--skip-ssl']),
  ], { encoding: 'utf8' });
  const m = /Average number of seconds to run all queries: ([\d.]+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`mariadb-slap ${p}: ${r.stdout}${r.stderr}`);
  return SLAP_QUERIES / Number(m[1]);
}

const order: Path[] = ['direct', 'socat', 'portcullis', 'portcullis+TLS'];
const q = {} as Record<Path, number>;
const sl = {} as Record<Path, number>;
const s = {} as Record<Path, number>;
for (const p of order) q[p] = await qps(p);
for (const p of order) sl[p] = slapQps(p);
for (const p of order) s[p] = await setupMs(p);
console.log(`\nPortcullis MySQL benchmark (2 cores, loopback, ${SECONDS}s, ${CONNECTIONS} mysql2 connections, point selects, every statement recorded)\n`);
console.log('metric'.padEnd(26), ...order.map((p) => p.padStart(15)), 'gw/direct'.padStart(10), 'gw/socat'.padStart(9));
console.log('queries per second'.padEnd(26), ...order.map((p) => q[p].toFixed(0).padStart(15)), (q.portcullis / q.direct).toFixed(2).padStart(10), (q.portcullis / q.socat).toFixed(2).padStart(9));
console.log('mariadb-slap queries/s'.padEnd(26), ...order.map((p) => sl[p].toFixed(0).padStart(15)), (sl.portcullis / sl.direct).toFixed(2).padStart(10), (sl.portcullis / sl.socat).toFixed(2).padStart(9));
console.log('setup ms (median of 20)'.padEnd(26), ...order.map((p) => s[p].toFixed(1).padStart(15)), (s.portcullis / s.direct).toFixed(2).padStart(10), (s.portcullis / s.socat).toFixed(2).padStart(9));
await relay.stop();
await Promise.all([gw.stop(), db.stop()]);
process.exit(0);
