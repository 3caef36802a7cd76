// A PostgreSQL CancelRequest that lands on another node than its session (what a TCP load balancer
// does to psql's Ctrl-C): node A does not know the key, relays its hash on the cluster bus, and
// node B, which holds the session, forwards the cancel to a real PostgreSQL 15.
import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/common.js';
import { startPostgres, type PostgresPeer } from '../harness/postgres.js';
import { testTls } from '../harness/test-ca.js';
import { twoNodes, type TwoNodes } from '../support/two-nodes.js';

const DB_PASSWORD = 'Db-Vaulted-Canary-42';
const DBA_PASSWORD = 'dba-Password-1';

let n: TwoNodes;
let db: PostgresPeer;
let portA = 0;
let portB = 0;

beforeAll(async () => {
  [n, db] = await Promise.all([twoNodes(), startPostgres()]);
  db.sql(`CREATE ROLE app LOGIN PASSWORD '${DB_PASSWORD}'`);
  db.sql('CREATE DATABASE orders OWNER app');
  const { app } = n.a;
  await app.users.add('admin', { name: 'dba', roles: ['dba'], password: DBA_PASSWORD });
  await app.targets.add('admin', {
    name: 'orders-db', kind: 'postgres', host: '127.0.0.1', port: db.port, account: 'app', database: 'orders', password: DB_PASSWORD,
    tls: 'verify-full', tlsCaPem: testTls().caPem,
  });
  await app.grants.adminGrant(n.admin, 'dba', 'orders-db', 3_600_000, 'cancel across nodes', null);
  [portA, portB] = await Promise.all([n.a.listen('postgres'), n.b.listen('postgres')]);
});

afterAll(async () => {
  await n?.close();
  await db?.stop();
});

function client(port: number): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: 'dba+orders-db', password: DBA_PASSWORD, database: 'orders', ssl: { rejectUnauthorized: false } });
}

/** Sends a CancelRequest as libpq does: a fresh connection, 16 bytes, closed by the server. */
function cancel(port: number, pid: number, key: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(serialize.cancel(pid, key)));
    s.on('error', reject);
    s.on('close', () => resolve());
    s.resume();
  });
}

interface KeyedClient { processID: number; secretKey: number }

/**
 * Until `text` runs on the real server. PostgreSQL ignores a cancel that reaches an idle backend, so
 * the cancel must wait for this, not for a fixed time. Asked through an async client: db.sql blocks
 * the event loop the in-process gateways run on.
 */
async function untilRunning(text: string): Promise<void> {
  const mon = new pg.Client({ host: '127.0.0.1', port: db.port, user: db.superuser, password: db.password, database: 'postgres' });
  await mon.connect();
  try {
    await waitFor(`${text} running upstream`, async () => (await mon.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query = $1", [text])).rows[0]!.n === 1, 10_000);
  } finally {
    await mon.end();
  }
}

describe('a PostgreSQL cancel that lands on another node', () => {
  it('cancels a pg_sleep(30) on node B when the CancelRequest reaches node A', async () => {
    const c = client(portB);
    await c.connect();
    try {
      const { processID, secretKey } = c as unknown as KeyedClient;
      const started = Date.now();
      const sleeping = c.query('SELECT pg_sleep(30)').then(() => null, (e: Error) => e);
      await untilRunning('SELECT pg_sleep(30)');
      await cancel(portA, processID, secretKey);
      const err = await sleeping;
      expect(err?.message).toBe('canceling statement due to user request');
      expect(Date.now() - started).toBeLessThan(5_000);
      // The session goes on: the next statement runs.
      expect((await c.query('SELECT 41 + 1 AS x')).rows).toEqual([{ x: 42 }]);
    } finally {
      await c.end();
    }
  });

  it('stays silent and changes nothing for a key no node knows', async () => {
    const c = client(portB);
    await c.connect();
    try {
      const { processID, secretKey } = c as unknown as KeyedClient;
      const sleeping = c.query<{ slept: string }>('SELECT pg_sleep(1.5) AS slept').then((r) => r.rows, (e: Error) => e);
      await new Promise((r) => setTimeout(r, 200));
      await cancel(portA, processID ^ 1, secretKey);
      await cancel(portA, processID, secretKey ^ 1);
      expect(await sleeping).toEqual([{ slept: '' }]);
    } finally {
      await c.end();
    }
  });

  it('never puts the cancel key itself into a cluster message', async () => {
    const seen: string[] = [];
    const stop = await n.b.app.store.notifications.listen((p) => seen.push(p));
    const c = client(portB);
    await c.connect();
    try {
      const { processID, secretKey } = c as unknown as KeyedClient;
      const sleeping = c.query('SELECT pg_sleep(30)').then(() => null, (e: Error) => e);
      await untilRunning('SELECT pg_sleep(30)');
      await cancel(portA, processID, secretKey);
      expect((await sleeping)?.message).toBe('canceling statement due to user request');
      // Bus messages are signed envelopes (cluster/bus-seal.ts) whose body is the message as JSON.
      const relayed = seen.map((p) => ({ m: JSON.parse((JSON.parse(p) as { body: string }).body) as { t: string; key?: string } })).filter((p) => p.m.t === 'pg.cancel');
      expect(relayed).toHaveLength(1);
      expect(relayed[0]!.m.key).toMatch(/^[0-9a-f]{64}$/);
      const keyHex = (secretKey >>> 0).toString(16).padStart(8, '0');
      for (const p of seen) {
        expect(p).not.toContain(keyHex);
        expect(p).not.toContain(String(secretKey));
      }
    } finally {
      await stop();
      await c.end();
    }
  });
});
