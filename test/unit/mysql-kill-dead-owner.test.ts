// A MySQL KILL naming a connection id whose owner node has gone silent but is not marked lost yet
// (the sweeper needs nodeLostAfter, then a pass): its rows and its session's record still look live.
// The directory must not hand out that thread id: the dead node's upstream connection is gone, and
// the id may be the target's for another connection by now. Decision logic on a SQLite store with a
// fake clock (heartbeats in the app clock, as on SQLite).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storeConnectionDirectory } from '../../gateway/cluster/mysql-connections.js';
import { createLogger } from '../../gateway/log/logger.js';
import { openSqliteStore } from '../../gateway/store/sqlite/sqlite-store.js';
import type { Store } from '../../gateway/store/store.js';
import { aSession } from '../contract/store-fixtures.js';
import { FakeClock } from '../support/fake-clock.js';

let dir: string;
let store: Store;
const clock = new FakeClock();
const log = createLogger('silent');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pc-kill-dead-'));
  store = openSqliteStore(join(dir, 's.db'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KILL of an id whose owner node went silent', () => {
  it('is answered while the owner beats, and refused once it has been silent for nodeLostAfter', async () => {
    const t0 = clock.now();
    await store.nodes.join({ name: 'n2', incarnation: 'i2', state: 'up', version: 't', startedAt: t0, heartbeatAt: t0, endedAt: null }, t0 - 6_000);
    const s = aSession('tgt_1', { userId: 'usr_1', node: 'n2', startedAt: t0 });
    await store.sessions.insert(s);
    await store.mysqlConnections.insert({ id: 77, node: 'n2', sessionId: s.id, userId: 'usr_1', targetId: 'tgt_1', upstreamId: 4242 });
    const dir1 = storeConnectionDirectory(store, 'n1', log, { clock, lostAfterMs: 6_000 });
    expect(await dir1.lookup(77, 'usr_1', 'tgt_1')).toBe(4242);
    expect(await dir1.lookup(77, 'usr_2', 'tgt_1')).toBeNull();
    clock.advance(6_001);
    // n2 is still 'up' in the store (nobody swept yet) and its session row is live: refused anyway.
    expect((await store.nodes.byName('n2'))!.state).toBe('up');
    expect(await dir1.lookup(77, 'usr_1', 'tgt_1')).toBeNull();
    // It beats again: answered again.
    await store.nodes.heartbeat('n2', 'i2', clock.now());
    expect(await dir1.lookup(77, 'usr_1', 'tgt_1')).toBe(4242);
  });
});
