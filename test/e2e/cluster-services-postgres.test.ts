// The cluster services on a real PostgreSQL 15 store: two in-process nodes, each with its own
// PostgreSQL store (pool and LISTEN connection, as two processes have), one fake clock for the
// timers. A revoke on one reaches a session on the other through a real NOTIFY; a kill through one
// ends the other's session; a silent node is found lost once; grant expiry is claimed once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { App } from '../../gateway/app.js';
import { openPostgresStore } from '../../gateway/store/postgres/postgres-store.js';
import { startPostgres, type PostgresPeer } from '../harness/postgres.js';
import { type ClusterApps, clusterApps, liveSession } from '../support/cluster-apps.js';
import { addSshTarget } from '../support/test-app.js';

const MIN = 60_000;
let peer: PostgresPeer;
let admin: pg.Client;
let c: ClusterApps | null = null;
let dbs = 0;

const urlOf = (db: string): string => `postgres://${peer.superuser}:${encodeURIComponent(peer.password)}@127.0.0.1:${peer.port}/${db}`;

beforeAll(async () => {
  peer = await startPostgres();
  admin = new pg.Client({ connectionString: urlOf('postgres') });
  admin.on('error', () => undefined);
  await admin.connect();
}, 60_000);

afterAll(async () => {
  await admin?.end();
  await peer?.stop();
}, 30_000);

afterEach(async () => {
  await c?.close();
  c = null;
});

async function setup(names: string[], opts: Parameters<typeof clusterApps>[1] = {}): Promise<{ a: App; b: App; grant: (minutes?: number) => Promise<import('../../gateway/store/records.js').GrantRecord> }> {
  const db = `cluster_${++dbs}`;
  await admin.query(`CREATE DATABASE ${db}`);
  c = await clusterApps(names, { ...opts, openStore: () => openPostgresStore(urlOf(db), { poolSize: 3 }) });
  const a = c.nodes[0]!;
  await addSshTarget(a, 'web01');
  await a.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
  return { a, b: c.nodes[1]!, grant: (minutes = 60) => a.grants.adminGrant(c!.admin, 'ops', 'web01', minutes * MIN, 'work', null) };
}

async function waitFor(cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
  return Date.now() - t0;
}

async function run(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    c!.clock.advance(Math.min(1000, ms - t));
    await c!.settle();
  }
}

/**
 * As run(), and real time passes too: heartbeats and their staleness are in the database's clock
 * (NodeRepo.now), which the fake clock does not move.
 */
async function runReal(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    await new Promise((r) => setTimeout(r, Math.min(1000, ms - t)));
    c!.clock.advance(Math.min(1000, ms - t));
    await c!.settle();
  }
}

const audits = async (app: App, code: string): Promise<unknown[]> => (await app.audit.page(0, 10_000)).filter((e) => e.code === code).map((e) => e.data);

describe('cluster services on a PostgreSQL store', () => {
  it('a revoke on node A cuts a session on node B within 1 s through LISTEN/NOTIFY; a kill through A ends another of B', async () => {
    const { a, b, grant } = await setup(['n1', 'n2']);
    const g = await grant();
    const s = await liveSession(b, g, 'ops', 'web01');
    const t0 = Date.now();
    await a.grants.revoke(c!.admin, g.id, 'incident over');
    await waitFor(() => s.closed.length > 0, 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(s.closed).toEqual(['grant-revoked']);
    // The cut is immediate; the row's end is booked a moment later, and listLive reads rows.
    await s.ended;
    const k = await liveSession(b, await grant(), 'ops', 'web01');
    expect((await a.cluster.sessions.listLive()).map((x) => [x.id, x.node])).toEqual([[k.id, 'n2']]);
    expect(await a.cluster.sessions.kill(k.id, 'admin')).toEqual({ outcome: 'ended', node: 'n2' });
    expect(k.closed).toEqual(['killed-by-admin']);
  }, 30_000);

  it('a silent node is found lost once and its sessions end as node-lost; grant expiry is sent once', async () => {
    const { a, b, grant } = await setup(['n1', 'n2', 'n3'], { config: (cf) => { cf.expiry.warnBefore = '30s'; } });
    const g = await grant(1);
    // n3 arms the grant made on n1 by reloading (every 30 s with PostgreSQL): both race for it.
    const s = await liveSession(b, g, 'ops', 'web01');
    b.scheduler.stop();
    await runReal(8_000);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('lost');
    expect((await a.store.sessions.byId(s.id))!.endReason).toBe('node-lost');
    expect(await audits(a, 'node.lost')).toHaveLength(1);
    expect(c!.posts.filter((p) => p.event === 'node.lost')).toHaveLength(1);
    await run(MIN);
    expect(c!.posts.filter((p) => p.event === 'grant.expired')).toHaveLength(1);
    expect(await audits(a, 'grant.expired')).toHaveLength(1);
  }, 60_000);
});
