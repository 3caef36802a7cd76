// A session cut while the store is unreachable (its grant expired during a store outage): the end
// could not be booked, and the row stayed live in the store (listed live on every node) until the
// node restarted. The journal now books it again every END_RETRY_MS until the store takes it,
// once, with the time and reason of the cut. SQLite store made to fail as an unreachable one.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../gateway/log/logger.js';
import type { SessionStart } from '../../gateway/session/ports.js';
import { END_RETRY_MS, storeJournal } from '../../gateway/session/store-ports.js';
import { newId } from '../../gateway/util/ids.js';
import { type ClusterApps, clusterApps } from '../support/cluster-apps.js';
import { addSshTarget } from '../support/test-app.js';

let c: ClusterApps;
afterEach(async () => { await c.close(); });

describe('an end the store could not take', () => {
  it('is booked once the store is back, with the time and reason of the cut, and audited once', async () => {
    c = await clusterApps(['n1']);
    const app = c.nodes[0]!;
    await addSshTarget(app, 'web01');
    await app.users.add('admin', { name: 'ops', roles: ['ops'], password: 'ops-password-1' });
    const g = await app.grants.adminGrant(c.admin, 'ops', 'web01', 60_000, 'work', null);
    const id = newId('ses');
    const startedAt = c.clock.now();
    await app.store.sessions.insert({
      id, protocol: 'ssh', userId: g.userId, targetId: g.targetId, grantId: g.id, level: g.level, clientAddr: '127.0.0.1',
      startedAt, endedAt: null, endReason: null, recording: null, node: 'n1',
    });
    const journal = storeJournal(app.store, app.audit, createLogger('silent'), 'n1', null, { scheduler: app.scheduler, clock: c.clock });
    const start = { id, auth: { user: { name: 'ops' } } } as unknown as SessionStart;
    c.storeDown = true;
    const cutAt = c.clock.now() + 60_000;
    c.clock.advance(60_000);
    await expect(journal.ended(start, cutAt, 'grant-expired')).rejects.toThrow();
    for (let i = 0; i < 5; i++) { c.clock.advance(END_RETRY_MS); await c.settle(); }
    c.storeDown = false;
    expect((await app.store.sessions.byId(id))!.endedAt).toBeNull();
    c.clock.advance(END_RETRY_MS);
    await c.settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(await app.store.sessions.byId(id)).toMatchObject({ endedAt: cutAt, endReason: 'grant-expired' });
    for (let i = 0; i < 3; i++) { c.clock.advance(END_RETRY_MS); await c.settle(); }
    const ends = (await app.audit.page(0, 10_000)).filter((e) => e.code === 'session.ended');
    expect(ends.map((e) => e.data)).toEqual([{ session: id, reason: 'grant-expired' }]);
  });
});
