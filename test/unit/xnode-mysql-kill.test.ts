// A MySQL KILL that lands on another node than its session (the mysql client's Ctrl-C is a second
// connection a load balancer may send anywhere): node A does not know the gateway connection id,
// finds it in the store's directory, and runs the KILL on its own upstream connection with the
// session's thread id. Only for the same user on the same target, and only while that session is
// live: a stale row never kills whatever thread now has that number. Real MariaDB, real clients.
import { execFile } from 'node:child_process';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBinary, waitFor } from '../harness/common.js';
import { startMariadb, type MariadbPeer } from '../harness/mariadb.js';
import { testTls } from '../harness/test-ca.js';
import type { SessionRecord, TargetRecord, UserRecord } from '../../gateway/store/records.js';
import { twoNodes, type TwoNodes } from '../support/two-nodes.js';

const SHOP_PASSWORD = 'Shop-Vaulted-Canary-5';
const DBA_PASSWORD = 'dba-Password-1';
const OPS_PASSWORD = 'ops-Password-2';

let n: TwoNodes;
let db: MariadbPeer;
let portA = 0;
let portB = 0;
let dba: UserRecord;
let target: TargetRecord;

beforeAll(async () => {
  [n, db] = await Promise.all([twoNodes(), startMariadb()]);
  db.createUser('shopapp', SHOP_PASSWORD, 'shop');
  const { app } = n.a;
  dba = await app.users.add('admin', { name: 'dba', roles: ['dba'], password: DBA_PASSWORD });
  await app.users.add('admin', { name: 'ops', roles: ['dba'], password: OPS_PASSWORD });
  target = await app.targets.add('admin', {
    name: 'shop-db', kind: 'mysql', host: '127.0.0.1', port: db.port, account: 'shopapp', database: 'shop', password: SHOP_PASSWORD,
    tls: 'verify-full', tlsCaPem: testTls().caPem,
  });
  await app.grants.adminGrant(n.admin, 'dba', 'shop-db', 3_600_000, 'kill across nodes', null);
  await app.grants.adminGrant(n.admin, 'ops', 'shop-db', 3_600_000, 'kill across nodes', null);
  [portA, portB] = await Promise.all([n.a.listen('mysql'), n.b.listen('mysql')]);
}, 120_000);

afterAll(async () => {
  await n?.close();
  await db?.stop();
});

const connect = (port: number, user = 'dba+shop-db', password = DBA_PASSWORD): Promise<mysql.Connection> =>
  mysql.createConnection({ host: '127.0.0.1', port, user, password, database: 'shop', ssl: { rejectUnauthorized: false } });

/** The mariadb client through a node, one `-e` script; asynchronous, since the nodes run in this process. */
function client(port: number, sql: string, user = 'dba+shop-db', password = DBA_PASSWORD): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(requireBinary('mariadb-client', 'mariadb'), ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', user,
      `-p${password}`, '--ssl', '--skip-ssl-verify-server-cert', '--batch', '-e', sql], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const sleeping = (): string => db.sql("SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'shopapp' AND info LIKE 'SELECT SLEEP%'");

describe('a MySQL KILL that lands on another node', () => {
  it('KILL QUERY through node A stops a SLEEP(30) of the same user\'s session on node B, which goes on', async () => {
    const s = await connect(portB);
    try {
      const gwId = s.threadId;
      // The id is in the cluster's directory once bound.
      await waitFor('the id in the directory', async () => (await n.a.app.store.mysqlConnections.byId(gwId)) !== undefined, 5_000);
      const started = Date.now();
      const q = s.query('SELECT SLEEP(30) AS slept').then(([rows]) => rows, (e: Error) => e);
      await waitFor('the sleep to run', () => sleeping().trim() === '1', 5_000);
      const r = await client(portA, `KILL QUERY ${gwId}`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = await q;
      // MariaDB ends an interrupted SLEEP with 1 (or the statement with ER_QUERY_INTERRUPTED).
      if (out instanceof Error) expect(out.message).toMatch(/interrupted/i);
      else expect(out).toEqual([{ slept: 1 }]);
      expect(Date.now() - started).toBeLessThan(10_000);
      const [rows] = await s.query('SELECT 41 + 1 AS x');
      expect(rows).toEqual([{ x: 42 }]);
    } finally {
      await s.end().catch(() => {});
    }
  });

  it('refuses another user\'s KILL of that id from node A, and the session lives on', async () => {
    const s = await connect(portB);
    try {
      const gwId = s.threadId;
      await waitFor('the id in the directory', async () => (await n.a.app.store.mysqlConnections.byId(gwId)) !== undefined, 5_000);
      const r = await client(portA, `KILL ${gwId}`, 'ops+shop-db', OPS_PASSWORD);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`Unknown thread id: ${gwId}`);
      const [rows] = await s.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await s.end().catch(() => {});
    }
  });

  it('refuses an id whose session has ended, so a stale row never kills the thread that now has its number', async () => {
    const direct = await mysql.createConnection({ host: '127.0.0.1', port: db.port, user: 'shopapp', password: SHOP_PASSWORD, database: 'shop' });
    try {
      // A row a dead node left behind, for an ended session of dba's, naming a thread now used by someone else.
      // An earlier test's session: its end is booked just after its client's socket closes.
      const endedOne = async (): Promise<SessionRecord | undefined> =>
        (await n.a.app.store.sessions.list({ limit: 100 })).find((x) => x.endedAt !== null && x.userId === dba.id);
      await waitFor('an ended session of dba', async () => (await endedOne()) !== undefined, 5_000);
      const ended = await endedOne();
      expect(ended).toBeDefined();
      await n.a.app.store.mysqlConnections.insert({ id: 4242, node: 'node-b', sessionId: ended!.id, userId: dba.id, targetId: target.id, upstreamId: direct.threadId });
      const r = await client(portA, 'KILL 4242');
      expect(r.stderr).toContain('Unknown thread id: 4242');
      const [rows] = await direct.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await direct.end().catch(() => {});
    }
  });

  it('removes the id from the directory when the session ends', async () => {
    const s = await connect(portB);
    const gwId = s.threadId;
    await waitFor('the id in the directory', async () => (await n.a.app.store.mysqlConnections.byId(gwId)) !== undefined, 5_000);
    await s.end();
    await waitFor('the id gone from the directory', async () => (await n.a.app.store.mysqlConnections.byId(gwId)) === undefined, 5_000);
  });
});
