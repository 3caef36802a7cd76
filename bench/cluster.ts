// Several nodes (issue 16): three `portcullis serve` nodes on a throwaway PostgreSQL store (the
// cluster harness), a real PostgreSQL 15 as the target. Two measurements, printed as tables:
//   1. Revocation to cut: BENCH_SESSIONS (1,000) live PostgreSQL sessions from node-postgres, spread
//      evenly over the three nodes (straight to each node's port, no balancer, so the spread is
//      exact) and over BENCH_GRANTS (10) users, one grant each. The grants are revoked one at a
//      time through n1's API; for each session of the revoked grant, the time from just before the
//      revoke request to the client seeing its connection end. n1's own sessions are cut locally,
//      n2's and n3's through the store's notifications. The other sessions stay up meanwhile (any
//      of them ending early is reported).
//   2. Session setup, login to first result (TLS, password, upstream login, SELECT 1), with the
//      PostgreSQL store (node n1, the cluster idle) vs a single gateway on SQLite, alternating,
//      BENCH_SETUP_RUNS (30) each.
// Loopback only; TLS on both legs as in production; the nodes log at warn. Not a test: it prints
// figures and fails loudly only on a broken run. Every wait is bounded.
//   npm run bench:cluster      (BENCH_SESSIONS, BENCH_GRANTS, BENCH_NODES, BENCH_SETUP_RUNS)
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startCluster } from '../test/harness/cluster.js';
import { type CliResult, type GatewayPeer, startGateway } from '../test/harness/gateway.js';
import { apiRequest } from '../test/harness/https-api.js';
import { startPostgres } from '../test/harness/postgres.js';
import { tlsCaArgs } from '../test/harness/test-ca.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 1000);
const GRANTS = Number(process.env.BENCH_GRANTS ?? 10);
const NODES = Number(process.env.BENCH_NODES ?? 3);
const SETUP_RUNS = Number(process.env.BENCH_SETUP_RUNS ?? 30);
/** Sessions being opened at once (the gateways queue password hashes; 64 wait at most). */
const OPEN_AT_ONCE = 24;
const CUT_TIMEOUT_MS = 30_000;
const PASSWORD = 'bench-User-Password-1';
const DB_PASSWORD = 'bench-App-Password-1';

// The login throttle is for attackers; a benchmark opening 1,000 sessions from 127.0.0.1 is not one.
const nodeEnv = {
  PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_LOGIN_ADDRESS_CONNECT_RATE: '100000', PORTCULLIS_LOGIN_CONNECT_RATE: '100000',
  PORTCULLIS_LOGIN_ADDRESS_HASH_RATE: '100000', PORTCULLIS_LOGIN_ADDRESS_FAILURES: '100000', PORTCULLIS_LOGIN_ACCOUNT_FAILURES: '100000',
};

function must(r: CliResult): string {
  if (r.code !== 0) throw new Error(`CLI failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

const target = await startPostgres({ maxConnections: SESSIONS + 100 });
target.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
target.sql('CREATE DATABASE bench OWNER app');
const cluster = await startCluster({ nodes: NODES, env: nodeEnv });
const single = await startGateway({ env: nodeEnv });

/** The target, the users and their grants, through one node's (or the single gateway's) CLI. */
function provision(admin: GatewayPeer['admin'], users: string[]): string[] {
  must(admin(['target', 'add', 'bench-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(target.port), '--account', 'app',
    '--database', 'bench', ...tlsCaArgs(), '--password-stdin'], `${DB_PASSWORD}\n`));
  return users.map((u) => {
    must(admin(['user', 'add', u, '--role', 'dba', '--password-stdin'], `${PASSWORD}\n`));
    return (JSON.parse(must(admin(['grant', 'add', '--user', u, '--target', 'bench-db', '--for', '2h', '--reason', 'bench', '--json']))) as { id: string }).id;
  });
}

function client(gw: Pick<GatewayPeer, 'ports' | 'caFile'>, user: string): pg.Client {
  return new pg.Client({
    host: '127.0.0.1', port: gw.ports.postgres, user: `${user}+bench-db`, password: PASSWORD, database: 'bench',
    ssl: { ca: readFileSync(gw.caFile, 'utf8') }, connectionTimeoutMillis: 30_000,
  });
}

/** Login to first result, ms. */
async function setupOnce(gw: Pick<GatewayPeer, 'ports' | 'caFile'>): Promise<number> {
  const c = client(gw, 'u01');
  c.on('error', () => {});
  const t0 = performance.now();
  await c.connect();
  await c.query('SELECT 1');
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

interface Live {
  node: string;
  grant: number;
  client: pg.Client;
  /** performance.now() when the client saw its connection end. */
  endedAt: number | null;
}

try {
  const users = Array.from({ length: GRANTS }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);
  const n1 = cluster.node('n1');
  const grants = provision((a, s) => n1.admin(a, s), users);
  provision((a, s) => single.admin(a, s), ['u01']);

  // 2. Setup time first, while the cluster is idle; alternating so drift hits both alike.
  for (let i = 0; i < 3; i++) { await setupOnce(single); await setupOnce(n1); }
  const setup: Record<'SQLite' | 'PostgreSQL', number[]> = { SQLite: [], PostgreSQL: [] };
  for (let i = 0; i < SETUP_RUNS; i++) {
    setup.SQLite.push(await setupOnce(single));
    setup.PostgreSQL.push(await setupOnce(n1));
  }
  await single.stop();

  // 1. The live sessions, spread round robin over the nodes and the grants.
  const live: Live[] = [];
  const openStart = performance.now();
  for (let i = 0; i < SESSIONS; i += OPEN_AT_ONCE) {
    await Promise.all(Array.from({ length: Math.min(OPEN_AT_ONCE, SESSIONS - i) }, async (_, k) => {
      const n = i + k;
      const node = cluster.nodes[n % cluster.nodes.length]!;
      const s: Live = { node: node.name, grant: n % GRANTS, client: client(node, users[n % GRANTS]!), endedAt: null };
      const ended = (): void => { s.endedAt ??= performance.now(); };
      s.client.on('error', ended);
      s.client.on('end', ended);
      await s.client.connect();
      await s.client.query('SELECT 1');
      live.push(s);
    }));
  }
  const openS = (performance.now() - openStart) / 1000;
  console.log(`[cluster] ${live.length} sessions open in ${openS.toFixed(1)} s (${(live.length / openS).toFixed(0)}/s) on ${cluster.nodes.map((n) => `${n.name}: ${live.filter((s) => s.node === n.name).length}`).join(', ')}`);
  await sleep(2000);
  const early = live.filter((s) => s.endedAt !== null).length;
  if (early > 0) throw new Error(`${early} sessions ended before any revocation`);

  const token = readFileSync(`${n1.dataDir}/admin.token`, 'utf8').trim();
  const cuts: Array<{ node: string; ms: number }> = [];
  const apiMs: number[] = [];
  const bookMs: number[] = [];
  const openInStore = (grant: string): number => Number(cluster.store.sql(`SELECT count(*) FROM sessions WHERE grant_id = '${grant}' AND ended_at IS NULL`).trim());
  let endedEarly = 0;
  for (let g = 0; g < GRANTS; g++) {
    const mine = live.filter((s) => s.grant === g);
    endedEarly += live.filter((s) => s.grant > g && s.endedAt !== null).length;
    const t0 = performance.now();
    const r = await apiRequest(n1, 'POST', `/api/v1/grants/${grants[g]!}/revoke`, { token, body: { reason: 'bench' } });
    apiMs.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`revoke failed: ${r.status} ${r.body}`);
    const deadline = performance.now() + CUT_TIMEOUT_MS;
    while (mine.some((s) => s.endedAt === null) && performance.now() < deadline) await sleep(5);
    const uncut = mine.filter((s) => s.endedAt === null);
    if (uncut.length > 0) throw new Error(`grant ${g}: ${uncut.length} sessions still open ${CUT_TIMEOUT_MS / 1000} s after the revoke (${uncut.map((s) => s.node).join(' ')})`);
    for (const s of mine) cuts.push({ node: s.node, ms: s.endedAt! - t0 });
    // The nodes book each cut session's end (a store transaction and an audit entry) after the
    // client is cut; the next revoke waits for that backlog to drain, so each revoke is measured
    // on a quiet store. How long the booking takes is reported on its own.
    const booked = performance.now() + CUT_TIMEOUT_MS;
    while (openInStore(grants[g]!) > 0 && performance.now() < booked) await sleep(50);
    bookMs.push(performance.now() - t0);
    await sleep(300);
  }
  for (const s of live) void s.client.end().catch(() => {});

  const row = (label: string, ms: number[]): string => {
    const s = [...ms].sort((a, b) => a - b);
    return `${label.padEnd(26)}${String(s.length).padStart(9)}${pct(s, 50).toFixed(1).padStart(10)}${pct(s, 90).toFixed(1).padStart(10)}${pct(s, 99).toFixed(1).padStart(10)}${(s[s.length - 1] ?? NaN).toFixed(1).padStart(10)}`;
  };
  const header = `${''.padEnd(26)}${'n'.padStart(9)}${'p50 ms'.padStart(10)}${'p90 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'max ms'.padStart(10)}`;
  console.log(`\nPortcullis cluster benchmark (2 shared cores, loopback, ${cluster.nodes.length} nodes on a PostgreSQL 15 store, TLS on both legs)\n`);
  console.log(`Revocation to cut: ${live.length} live PostgreSQL sessions, ${GRANTS} grants revoked one at a time through n1's API`);
  console.log(header);
  for (const n of cluster.nodes) console.log(row(`sessions on ${n.name}${n.name === 'n1' ? ' (local)' : ''}`, cuts.filter((c) => c.node === n.name).map((c) => c.ms)));
  console.log(row('all sessions', cuts.map((c) => c.ms)));
  console.log(row('revoke API call (n1)', apiMs));
  console.log(row('ends booked in the store', bookMs));
  console.log(`other grants' sessions that ended early: ${endedEarly}`);
  console.log(`\nSession setup, login to first result (TLS, password, upstream login, SELECT 1), ${SETUP_RUNS} runs each, alternating`);
  console.log(header);
  console.log(row('SQLite store (1 gateway)', setup.SQLite));
  console.log(row('PostgreSQL store (n1)', setup.PostgreSQL));
  const med = (a: number[]): number => pct([...a].sort((x, y) => x - y), 50);
  console.log(`PostgreSQL / SQLite median: ${(med(setup.PostgreSQL) / med(setup.SQLite)).toFixed(2)}x`);
  console.log(JSON.stringify({
    sessions: live.length, grants: GRANTS, openPerS: Math.round(live.length / openS),
    cutP50: pct(cuts.map((c) => c.ms).sort((a, b) => a - b), 50), cutP99: pct(cuts.map((c) => c.ms).sort((a, b) => a - b), 99),
    setupSqliteP50: med(setup.SQLite), setupPostgresP50: med(setup.PostgreSQL), endedEarly,
  }));
} finally {
  await single.stop();
  await cluster.stop();
  await target.stop();
}
process.exit(0);
