// Node clocks that disagree, on a real PostgreSQL 15 store. Heartbeats are written by one node and
// judged stale by another: with each node's own clock, a node 30 s ahead found every healthy peer
// lost (and one 30 s behind took a minute to find a dead one). Both now read the database's clock.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvents } from '../../gateway/access/events.js';
import type { AuditLog } from '../../gateway/audit/audit-log.js';
import type { ClusterBus } from '../../gateway/cluster/bus.js';
import { Membership } from '../../gateway/cluster/membership.js';
import { NodeSweeper } from '../../gateway/cluster/node-sweeper.js';
import { createLogger } from '../../gateway/log/logger.js';
import { openPostgresStore } from '../../gateway/store/postgres/postgres-store.js';
import type { Store } from '../../gateway/store/store.js';
import { DeadlineScheduler } from '../../gateway/util/deadline-scheduler.js';
import { EventBus } from '../../gateway/util/event-bus.js';
import { startPostgres, type PostgresPeer } from '../harness/postgres.js';
import { FakeClock } from '../support/fake-clock.js';

const LOST_AFTER = 1_000;
const log = createLogger('silent');
let peer: PostgresPeer;
let store: Store;

beforeAll(async () => {
  peer = await startPostgres();
  const admin = new pg.Client({ connectionString: `postgres://${peer.superuser}:${encodeURIComponent(peer.password)}@127.0.0.1:${peer.port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE clocks');
  await admin.end();
  store = await openPostgresStore(`postgres://${peer.superuser}:${encodeURIComponent(peer.password)}@127.0.0.1:${peer.port}/clocks`);
}, 60_000);

afterAll(async () => {
  await store?.close();
  await peer?.stop();
}, 30_000);

/** A node whose clock is `skewMs` off the real time; its timers never fire (the test beats and sweeps). */
function node(name: string, skewMs: number): { m: Membership; sweeper: NodeSweeper } {
  const clock = new FakeClock(Date.now() + skewMs);
  const scheduler = new DeadlineScheduler(clock);
  const m = new Membership({ nodes: store.nodes, clock, scheduler, log, node: name, version: 't', heartbeatMs: 500, lostAfterMs: LOST_AFTER, fenced: () => {} });
  const sweeper = new NodeSweeper({
    store, clock, scheduler, log, node: name, heartbeatMs: 500, lostAfterMs: LOST_AFTER,
    audit: { append: () => Promise.resolve() } as unknown as AuditLog,
    events: new EventBus<AccessEvents>(),
    bus: { publish: () => Promise.resolve() } as unknown as ClusterBus,
  });
  return { m, sweeper };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('heartbeats and staleness in the database\'s clock', () => {
  it('the store tells its time', async () => {
    const t = await store.nodes.now!();
    expect(Math.abs(t - Date.now())).toBeLessThan(2_000);
  });

  it('a node 30 s ahead does not find a healthy peer 30 s behind lost; the one behind finds a dead one in time', async () => {
    const ahead = node('ahead', 30_000);
    const behind = node('behind', -30_000);
    await ahead.m.join();
    await behind.m.join();
    expect(await ahead.sweeper.sweep()).toEqual([]);
    await pause(LOST_AFTER + 200);
    await behind.m.beat();
    expect(await ahead.sweeper.sweep()).toEqual([]);
    expect((await store.nodes.byName('behind'))!.state).toBe('up');
    // The node ahead dies (no more beats): found by the one behind within LOST_AFTER of real time.
    expect(await behind.sweeper.sweep()).toEqual([]);
    await pause(LOST_AFTER + 200);
    await behind.m.beat();
    expect(await behind.sweeper.sweep()).toEqual([{ node: 'ahead', sessions: [] }]);
    expect((await store.nodes.byName('ahead'))!.state).toBe('lost');
    await behind.m.leave();
  });
});
