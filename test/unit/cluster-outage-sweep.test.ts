// A store outage longer than nodeLostAfter leaves every heartbeat stale. The first node whose sweep
// reaches the store again must not mark the others lost (ending their sessions' records, and making
// them cut their live sessions as node-lost when their next heartbeat is refused): it was as blind
// as they were. A node that really stays silent is still found once the sweeper has seen the store
// for nodeLostAfter. And a partition (one node cut off, the others not): documented behaviour.
// Two Apps on one SQLite file with one fake clock.
import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterApps, clusterApps, liveSession } from '../support/cluster-apps.js';
import { addSshTarget } from '../support/test-app.js';

const MIN = 60_000;
let c: ClusterApps;

afterEach(async () => { await c.close(); });

async function run(ms: number, step = 1000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    c.clock.advance(Math.min(step, ms - t));
    await c.settle();
  }
}

describe('sweeping after a store outage', () => {
  it('the first sweeper back marks nobody lost; a node silent for nodeLostAfter after that is found', async () => {
    c = await clusterApps(['n1', 'n2']);
    const [a, b] = [c.nodes[0]!, c.nodes[1]!];
    await addSshTarget(a, 'web01');
    await a.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
    const g = await a.grants.adminGrant(c.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const s = await liveSession(a, g, 'ops', 'web01');
    await run(8_000);
    c.storeDown = true;
    await run(30_000);
    c.storeDown = false;
    // n2's sweep runs before n1 has beaten once: n1's heartbeat is 30 s old.
    expect(await b.cluster.sweeper.sweep()).toEqual([]);
    await run(3_000);
    expect((await a.store.nodes.list()).map((n) => n.state)).toEqual(['up', 'up']);
    expect(s.closed).toEqual([]);
    expect((await a.store.sessions.byId(s.id))!.endedAt).toBeNull();
    // n1 now dies for real: found within nodeLostAfter (6 s) plus a beat.
    a.scheduler.stop();
    await run(8_000);
    expect((await a.store.nodes.byName('n1'))!.state).toBe('lost');
    expect((await a.store.sessions.byId(s.id))!.endReason).toBe('node-lost');
  });

  it('a node partitioned from the store keeps its sessions (it cannot tell a partition from an outage) and cuts them at its first beat back', async () => {
    c = await clusterApps(['n1', 'n2']);
    const [a, b] = [c.nodes[0]!, c.nodes[1]!];
    await addSshTarget(a, 'web01');
    await a.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
    const g = await a.grants.adminGrant(c.admin, 'ops', 'web01', 60 * MIN, 'work', null);
    const s = await liveSession(b, g, 'ops', 'web01');
    await run(8_000);
    c.partition('n2', true);
    await a.grants.revoke(c.admin, g.id, 'incident');
    await run(8_000);
    // n1 found n2 lost and ended the record; n2 does not know and still relays.
    expect((await a.store.nodes.byName('n2'))!.state).toBe('lost');
    expect((await a.store.sessions.byId(s.id))!.endReason).toBe('node-lost');
    expect(s.closed).toEqual([]);
    await run(60_000);
    expect(s.closed).toEqual([]);
    c.partition('n2', false);
    await run(1_000);
    // The first beat back is refused: n2 cuts what it holds and joins anew; and it does not find n1 lost.
    expect(s.closed).toEqual(['node-lost']);
    await run(3_000);
    expect((await a.store.nodes.list()).map((n) => n.state)).toEqual(['up', 'up']);
  });
});
