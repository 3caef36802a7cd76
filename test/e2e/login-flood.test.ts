// Bogus logins cannot stall the gateway or buy unlimited guesses (issue 14, item 5). A real psql
// session through the gateway keeps answering while bogus MySQL logins (raw caching_sha2 over TLS,
// the path that ran PBKDF2 on the main thread) and bogus PostgreSQL SCRAM logins (node-postgres)
// pour in from 200 loopback addresses; then one account is locked by failures spread over
// addresses too few per address to lock any pair, with one audit entry and one webhook, and its
// owner, even with the right password, gets a message that reads the same as for a name that does
// not exist. No password ever appears in the gateway's log.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireBinary, tempDir, waitFor } from '../harness/common.js';
import { type GatewayPeer, startGateway } from '../harness/gateway.js';
import { type MariadbPeer, startMariadb } from '../harness/mariadb.js';
import { startFlood } from '../harness/login-flood.js';
import { bogusMysqlLogin } from '../harness/mysql-bogus-login.js';
import { type PostgresPeer, startPostgres } from '../harness/postgres.js';

const OPS_PASSWORD = 'ops-Password-Canary-77';
const GUESS = 'Guess-Canary-';
const FLOOD_GUESS = 'Flood-Guess-';

let gw: GatewayPeer;
let pgPeer: PostgresPeer;
let my: MariadbPeer;
let receiver: Server;
let logFile: string;
const hooks: Array<{ event: string; text: string; data: Record<string, unknown> }> = [];

beforeAll(async () => {
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => { hooks.push(JSON.parse(body) as (typeof hooks)[number]); res.writeHead(200).end('ok'); });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
  const dir = tempDir('flood');
  const config = join(dir, 'portcullis.yaml');
  logFile = join(dir, 'gateway.log');
  writeFileSync(config, `webhooks:\n  - url: http://127.0.0.1:${port}/hook\n    events: [auth.locked]\n`);
  [gw, pgPeer, my] = await Promise.all([startGateway({ config, logFile }), startPostgres(), startMariadb()]);
  pgPeer.sql("CREATE ROLE app LOGIN PASSWORD 'Pg-Vaulted-1'");
  pgPeer.sql('CREATE DATABASE orders OWNER app');
  my.createUser('shopapp', 'My-Vaulted-1', 'shop');
  const must = (r: { code: number; stderr: string }): void => { if (r.code !== 0) throw new Error(r.stderr); };
  must(gw.admin(['user', 'add', 'ops', '--role', 'ops', '--password-stdin'], `${OPS_PASSWORD}\n`));
  must(gw.admin(['target', 'add', 'orders-db', '--kind', 'postgres', '--host', '127.0.0.1', '--port', String(pgPeer.port), '--account', 'app',
    // Plaintext upstream: the point here is the gateway's own event loop, not the target's TLS.
    '--database', 'orders', '--tls', 'disable', '--password-stdin'], 'Pg-Vaulted-1\n'));
  must(gw.admin(['target', 'add', 'shop-db', '--kind', 'mysql', '--host', '127.0.0.1', '--port', String(my.port), '--account', 'shopapp',
    '--database', 'shop', '--tls', 'disable', '--password-stdin'], 'My-Vaulted-1\n'));
  for (const t of ['orders-db', 'shop-db']) must(gw.admin(['grant', 'add', '--user', 'ops', '--target', t, '--for', '1h', '--reason', 'flood test']));
}, 180_000);

afterAll(async () => {
  await Promise.all([gw?.stop(), pgPeer?.stop(), my?.stop()]);
  receiver?.close();
});

/** A PostgreSQL login through the gateway from a chosen loopback address; resolves with the error text, or 'ok'. */
async function pgLogin(user: string, password: string, localAddress: string): Promise<string> {
  const client = new pg.Client({
    host: '127.0.0.1', port: gw.ports.postgres, user, password, database: 'orders', ssl: { rejectUnauthorized: false },
    connectionTimeoutMillis: 15_000,
    stream: () => {
      const s = new Socket();
      const connect = s.connect.bind(s) as (o: { port: number; host: string; localAddress: string }) => Socket;
      (s as unknown as { connect: (port: number, host: string) => Socket }).connect = (p: number, h: string) => connect({ port: p, host: h, localAddress });
      return s;
    },
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A live psql session: each query's round trip, measured from a pipe. */
function psqlSession(): { query(tag: string): Promise<number>; close(): void } {
  const psql = requireBinary('postgresql-client-15', 'psql');
  const child = spawn(psql, ['-X', '-A', '-t', '-q', `host=127.0.0.1 port=${gw.ports.postgres} user=ops+orders-db dbname=orders sslmode=require`], {
    env: { ...process.env, PGPASSWORD: OPS_PASSWORD }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Map<string, () => void>();
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const [tag, w] of waiters) if (out.includes(tag)) { waiters.delete(tag); w(); }
  });
  return {
    query: (tag) => new Promise((resolve, reject) => {
      const t0 = performance.now();
      const timer = setTimeout(() => reject(new Error(`psql did not answer ${tag}: ${out.slice(-300)}`)), 20_000);
      waiters.set(tag, () => { clearTimeout(timer); resolve(performance.now() - t0); });
      child.stdin.write(`select '${tag}';\n`);
    }),
    close: () => { child.stdin.end(); },
  };
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

describe('bogus logins', () => {
  it('do not stall a live psql session while MySQL and PostgreSQL logins flood in from 200 addresses', async () => {
    const session = psqlSession();
    await session.query('warm-up');
    const before: number[] = [];
    for (let i = 0; i < 20; i++) before.push(await session.query(`before-${i}`));

    const flood = startFlood({ mysqlPort: gw.ports.mysql, rate: 200, pgPort: gw.ports.postgres, pgRate: 100, seconds: 30, sources: 200 });
    const during: number[] = [];
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < 6000; i++) {
      during.push(await session.query(`during-${i}`));
      await new Promise((r) => setTimeout(r, 20));
    }
    flood.stop();
    const f = await flood.result;
    session.close();

    const p99 = pct(during, 99);
    console.log(`psql round trip: before p50 ${pct(before, 50).toFixed(1)} ms p99 ${pct(before, 99).toFixed(1)} ms; during flood p50 ${pct(during, 50).toFixed(1)} ms p99 ${p99.toFixed(1)} ms (${during.length} queries); flood ${JSON.stringify(f)}`);
    // The flood was real: hundreds of logins refused, none let in.
    expect(f.sent).toBeGreaterThan(600);
    expect(f.outcomes.ok ?? 0).toBe(0);
    expect(f.outcomes.refused ?? 0).toBeGreaterThan(100);
    expect(f.pgSent).toBeGreaterThan(300);
    expect(f.pgAccepted).toBe(0);
    // A loose bound, not a benchmark: with PBKDF2 on the main thread 200 logins/s took ~2.4 s of
    // CPU every second and every query waited seconds, which the median shows. The slowest of ~50
    // queries on a loaded 2-core machine (the "p99" here) measures the machine, so it is bounded
    // loosely.
    expect(pct(during, 50)).toBeLessThan(100);
    expect(pct(during, 90)).toBeLessThan(1000);
    expect(p99).toBeLessThan(5000);
  }, 120_000);

  it('lock one account across addresses after its budget, audit it once and alert the webhook once', async () => {
    // 20 failures, 4 from each of five addresses: no pair budget (5) is used up, the account's (20) is.
    for (let a = 0; a < 5; a++) {
      for (let i = 0; i < 4; i++) {
        const src = `127.0.9.${10 + a}`;
        if (i % 2 === 0) {
          const r = await bogusMysqlLogin({ host: '127.0.0.1', port: gw.ports.mysql, user: 'ops+shop-db', password: `${GUESS}${a}-${i}`, localAddress: src });
          expect(r).toMatchObject({ kind: 'refused', code: 1045 });
        } else {
          expect(await pgLogin('ops+orders-db', `${GUESS}${a}-${i}`, src)).toMatch(/password authentication failed for user "ops"/);
        }
      }
    }
    // The owner, from an address that never failed, with the right password: a clear refusal.
    const owner = await bogusMysqlLogin({ host: '127.0.0.1', port: gw.ports.mysql, user: 'ops+shop-db', password: OPS_PASSWORD, localAddress: '127.0.9.50' });
    expect(owner).toMatchObject({ kind: 'refused', message: expect.stringMatching(/^too many failed logins for ops; try again in 10 min$/) as string });
    expect(await pgLogin('ops+orders-db', OPS_PASSWORD, '127.0.9.51')).toMatch(/too many failed logins for ops; try again in 10 min/);

    // A name that does not exist goes through the same budget and gets the same words.
    for (let a = 0; a < 5; a++) {
      for (let i = 0; i < 4; i++) await pgLogin('ghost+orders-db', `${GUESS}g${a}-${i}`, `127.0.10.${10 + a}`);
    }
    const ghost = await bogusMysqlLogin({ host: '127.0.0.1', port: gw.ports.mysql, user: 'ghost+shop-db', password: 'whatever', localAddress: '127.0.10.50' });
    expect(ghost.kind === 'refused' && ghost.message.replace('ghost', 'ops')).toBe(owner.kind === 'refused' && owner.message);

    // Other accounts from the same addresses are not locked.
    expect(await pgLogin('nobody-else+orders-db', 'x', '127.0.9.10')).toMatch(/password authentication failed/);

    const audit = gw.admin(['audit', 'export']).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { code: string; data: Record<string, unknown> });
    const locks = audit.filter((e) => e.code === 'auth.locked' && e.data.scope === 'account');
    expect(locks.map((e) => e.data.user)).toEqual(['ops', 'ghost']);
    await waitFor('the lock webhooks', () => hooks.filter((h) => h.data.scope === 'account').length >= 2, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    const accountHooks = hooks.filter((h) => h.data.scope === 'account');
    expect(accountHooks.map((h) => h.data.user)).toEqual(['ops', 'ghost']);
    expect(accountHooks[0]!.text).toMatch(/locked password logins for ops from every address until .*SSH keys still work/);
  }, 120_000);

  it('never writes a password to the gateway log', () => {
    const log = readFileSync(logFile, 'utf8');
    expect(log.length).toBeGreaterThan(1000);
    expect(log).not.toContain(OPS_PASSWORD);
    expect(log).not.toContain(GUESS);
    expect(log).not.toContain(FLOOD_GUESS);
  });
});
