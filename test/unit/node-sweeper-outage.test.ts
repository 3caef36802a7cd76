// After a store outage longer than nodeLostAfter every peer's last heartbeat is old: the sweeper
// must not read that as death (it would mark every node lost and cut every session in the cluster
// for a store blip). A node judges nobody until it has reached the store for nodeLostAfter again;
// a node that really died during the outage is found lost then. Two Apps on one SQLite store.
import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterApps, clusterApps, liveSession } from '../support/cluster-apps.js';
import { addSshTarget } from '../support/test-app.js';

let c: ClusterApps;
afterEach(async () => { await c.close(); });

async function run(ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    c.clock.advance(Math.min(step, ms - t));
    await c.settle();
  }
}

describe('the lost-node sweep after a store outage', () => {
  it('marks nobody lost when the store comes back, then finds a node that died meanwhile lost nodeLostAfter later', async () => {
    c = await clusterApps(['n1', 'n2']);
    const [a, b] = [c.nodes[0]!, c.nodes[1]!];
    await addSshTarget(a, 'web01');
    await a.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
    const g = await a.grants.adminGrant(c.admin, 'ops', 'web01', 3_600_000, 'work', null);
    const s = await liveSession(b, g, 'ops', 'web01');
    c.storeDown = true;
    await run(30_000);
    c.storeDown = false;
    // The store is back; n1 sweeps before n2 got a heartbeat through: n2's is 30 s old.
    expect(await a.cluster.sweeper.sweep()).toEqual([]);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('up');
    await run(10_000);
    expect((await a.store.nodes.list()).map((n) => n.state)).toEqual(['up', 'up']);
    expect(s.closed).toEqual([]);
    // Now n2 dies during a second outage: found lost once n1 has seen the store for nodeLostAfter.
    b.scheduler.stop();
    c.storeDown = true;
    await run(20_000);
    c.storeDown = false;
    await run(4_000);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('up');
    await run(4_000);
    expect((await a.store.nodes.byName('n2'))!.state).toBe('lost');
    expect((await a.store.sessions.byId(s.id))!.endReason).toBe('node-lost');
  });
});
