// The cluster half of the Store contract: nodes and their heartbeats, once-per-cluster claims,
// cluster settings, MySQL connection ids, ending a lost node's sessions, notifications, and one
// audit chain when two Store instances (two nodes) append to the same database at once.
// Registered by store-contract.ts; `another` opens a second Store on the same database.
import { describe, expect, it } from 'vitest';
import type { AuditRow, NodeRecord } from '../../gateway/store/records.js';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';
import { aSession, aTarget } from './store-fixtures.js';

let n = 0;
const aNode = (over: Partial<NodeRecord> = {}): NodeRecord => {
  n++;
  return { name: `node-${n}`, incarnation: `inc-${n}`, state: 'up', version: '1.0.0', startedAt: 1_000, heartbeatAt: 1_000, endedAt: null, ...over };
};

function chainRow(head: AuditRow | undefined, code: string): AuditRow {
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? '0'.repeat(64);
  return { seq, ts: seq, code, actor: 'test', data: '{}', prevHash, hash: `${prevHash.slice(0, 8)}:${seq}`.padEnd(64, 'x') };
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function eventually(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function describeClusterContract(store: () => Store, another: () => Promise<Store>): void {
  describe('nodes', () => {
    it('joins a free name, refuses a live one, takes over a stale, left or lost one', async () => {
      const s = store();
      const a = aNode({ heartbeatAt: 10_000 });
      expect(await s.nodes.join(a, 5_000)).toBe(true);
      expect(await s.nodes.byName(a.name)).toEqual(a);
      // Live: its last beat (10,000) is not before staleBefore.
      const b = { ...a, incarnation: 'inc-b', startedAt: 11_000, heartbeatAt: 11_000 };
      expect(await s.nodes.join(b, 10_000)).toBe(false);
      expect(await s.nodes.byName(a.name)).toEqual(a);
      // Stale: taken over, and the old incarnation's heartbeat is refused from then on.
      expect(await s.nodes.join(b, 10_001)).toBe(true);
      expect(await s.nodes.byName(a.name)).toEqual(b);
      expect(await s.nodes.heartbeat(a.name, a.incarnation, 12_000)).toBe(false);
      expect(await s.nodes.heartbeat(b.name, b.incarnation, 12_000)).toBe(true);
      expect((await s.nodes.byName(a.name))?.heartbeatAt).toBe(12_000);
      // Left: free at once, whatever its heartbeat.
      await s.nodes.leave(b.name, b.incarnation, 12_500);
      expect(await s.nodes.byName(b.name)).toMatchObject({ state: 'left', endedAt: 12_500 });
      const c = { ...a, incarnation: 'inc-c', startedAt: 13_000, heartbeatAt: 13_000 };
      expect(await s.nodes.join(c, 0)).toBe(true);
      expect(await s.nodes.byName(a.name)).toEqual(c);
      // Lost: free at once too.
      expect(await s.nodes.markLost(c.name, c.incarnation, 13_001, 14_000)).toBe(true);
      expect(await s.nodes.heartbeat(c.name, c.incarnation, 14_001)).toBe(false);
      const d = { ...a, incarnation: 'inc-d', startedAt: 15_000, heartbeatAt: 15_000 };
      expect(await s.nodes.join(d, 0)).toBe(true);
      expect((await s.nodes.list()).map((x) => x.incarnation)).toEqual(['inc-d']);
    });

    it('marks a stale node lost for exactly one of many racing callers, never a fresh or replaced one', async () => {
      const s = store();
      const t = await another();
      try {
        const a = aNode({ heartbeatAt: 1_000 });
        await s.nodes.join(a, 0);
        expect(await s.nodes.markLost(a.name, a.incarnation, 1_000, 2_000)).toBe(false);
        expect(await s.nodes.markLost(a.name, 'inc-other', 5_000, 2_000)).toBe(false);
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? s : t).nodes.markLost(a.name, a.incarnation, 5_000, 6_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await s.nodes.byName(a.name)).toMatchObject({ state: 'lost', endedAt: 6_000 });
        expect(await s.nodes.markLost('node-nope', 'x', 5_000, 6_000)).toBe(false);
      } finally {
        await t.close();
      }
    });

    it('lets exactly one of many racing joins take a free name', async () => {
      const s = store();
      const t = await another();
      try {
        const name = aNode().name;
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? s : t).nodes.join(aNode({ name, incarnation: `race-${i}` }), 0)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.findIndex(Boolean);
        expect((await s.nodes.byName(name))?.incarnation).toBe(`race-${winner}`);
      } finally {
        await t.close();
      }
    });
  });

  describe('claims and meta', () => {
    it('gives a key to exactly one of many racing claims, on two stores; prunes old claims', async () => {
      const s = store();
      const t = await another();
      try {
        const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? s : t).claims.claim('grant.expired:grt_1', `node-${i}`, 1_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await s.claims.claim('grant.expired:grt_1', 'node-x', 9_000)).toBe(false);
        expect(await s.claims.claim('grant.expired:grt_2', 'node-x', 5_000)).toBe(true);
        expect(await s.claims.prune(2_000)).toBe(1);
        expect(await s.claims.claim('grant.expired:grt_1', 'node-y', 9_000)).toBe(true);
        expect(await s.claims.prune(2_000)).toBe(0);
      } finally {
        await t.close();
      }
    });

    it('keeps the first writer\'s value for putIfAbsent, on two stores; put replaces', async () => {
      const s = store();
      const t = await another();
      try {
        expect(await s.meta.get('ca')).toBeUndefined();
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? s : t).meta.putIfAbsent('ca', `value-${i}`)));
        const stored = await s.meta.get('ca');
        expect(stored).toMatch(/^value-\d$/);
        expect(new Set(results)).toEqual(new Set([stored]));
        expect(await t.meta.putIfAbsent('ca', 'late')).toBe(stored);
        await s.meta.put('ca', 'replaced');
        expect(await t.meta.get('ca')).toBe('replaced');
        await s.meta.put('other', 'x'.repeat(20_000));
        expect(await s.meta.get('other')).toHaveLength(20_000);
      } finally {
        await t.close();
      }
    });
  });

  describe('MySQL connection ids and node sessions', () => {
    it('refuses a taken id (from any store), finds, removes one, and removes a node\'s', async () => {
      const s = store();
      const t = await another();
      try {
        const c = { id: 2_000_000_001, node: 'node-a', sessionId: 'ses_a', userId: 'usr_a', targetId: 'tgt_a', upstreamId: 4_000_000_000 };
        await s.mysqlConnections.insert(c);
        expect(await t.mysqlConnections.byId(c.id)).toEqual(c);
        expect(await rejectionCode(t.mysqlConnections.insert({ ...c, node: 'node-b' }))).toBe('conflict');
        await s.mysqlConnections.insert({ ...c, id: 7, sessionId: 'ses_b' });
        await s.mysqlConnections.insert({ ...c, id: 8, node: 'node-b' });
        await s.mysqlConnections.remove(7);
        expect(await s.mysqlConnections.byId(7)).toBeUndefined();
        await s.mysqlConnections.removeForNode('node-a');
        expect(await s.mysqlConnections.byId(c.id)).toBeUndefined();
        expect(await s.mysqlConnections.byId(8)).toMatchObject({ node: 'node-b' });
        expect(await s.mysqlConnections.byId(99)).toBeUndefined();
      } finally {
        await t.close();
      }
    });

    it('ends every live session of a node and only those, returning their ids once', async () => {
      const s = store();
      const tg = aTarget();
      const a1 = aSession(tg.id, { node: 'node-a', startedAt: 1_000 });
      const a2 = aSession(tg.id, { node: 'node-a', startedAt: 2_000 });
      const ended = aSession(tg.id, { node: 'node-a', startedAt: 500, endedAt: 900, endReason: 'client' });
      const b = aSession(tg.id, { node: 'node-b' });
      for (const x of [a2, b, ended, a1]) await s.sessions.insert(x);
      expect(await s.sessions.endForNode('node-a', 5_000, 'node-lost')).toEqual([a1.id, a2.id]);
      expect(await s.sessions.byId(a1.id)).toMatchObject({ endedAt: 5_000, endReason: 'node-lost', node: 'node-a' });
      expect(await s.sessions.byId(ended.id)).toEqual(ended);
      expect(await s.sessions.byId(b.id)).toEqual(b);
      expect(await s.sessions.endForNode('node-a', 6_000, 'node-lost')).toEqual([]);
    });
  });

  describe('notifications', () => {
    it('delivers a publish to every listener, the publisher\'s own included, until stopped', async () => {
      const s = store();
      const t = await another();
      try {
        const gotS: string[] = [];
        const gotT: string[] = [];
        const states: boolean[] = [];
        const stopS = await s.notifications.listen((p) => gotS.push(p), (up) => states.push(up));
        const stopT = await t.notifications.listen((p) => gotT.push(p));
        const payload = JSON.stringify({ kind: 'grant.revoked', grantId: 'grt_1', note: 'ünïcode \' " \\ $1 ;' });
        await s.notifications.publish(payload);
        await eventually(() => gotS.length === 1 && gotT.length === 1);
        expect(gotS).toEqual([payload]);
        expect(gotT).toEqual([payload]);
        expect(states).toEqual([true]);
        await stopT();
        await t.notifications.publish('second');
        await eventually(() => gotS.length === 2);
        await new Promise((r) => setTimeout(r, 100));
        expect(gotT).toEqual([payload]);
        expect(gotS).toEqual([payload, 'second']);
        await stopS();
      } finally {
        await t.close();
      }
    });

    it('refuses a payload over 7,000 bytes', async () => {
      const s = store();
      await s.notifications.publish('x'.repeat(7000));
      await expect(s.notifications.publish('x'.repeat(7001))).rejects.toThrow(/7000 bytes/);
    });
  });

  describe('audit chain across stores', () => {
    it('keeps one chain when two stores on one database append concurrently', async () => {
      const s = store();
      const t = await another();
      try {
        await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? s : t).audit.append((head) => chainRow(head, `x${i}`))));
        const rows = await t.audit.page(0, 100);
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
        expect(new Set(rows.map((r) => r.code)).size).toBe(30);
      } finally {
        await t.close();
      }
    });
  });
}
