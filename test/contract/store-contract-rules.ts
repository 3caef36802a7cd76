// The guardrails part of the Store contract: rules (whole records, by name, listed in the order
// they are checked, a name once however many add it at once, removal), and session flags with the
// risk score they add up to (once per session, kind and key, also under concurrent adds) and the
// session list's flag filters and score order. Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';
import { aFlag, aRule, aSession } from './store-fixtures.js';

export function describeRuleContract(store: () => Store): void {
  describe('rules', () => {
    it('stores rules whole (lists, nulls, unicode) and finds them by name; unknown names are undefined', async () => {
      const s = store();
      const sql = aRule({ targets: ['orders-db', 'tag:prod'], roles: ['ops', 'dba'], levels: ['write'], message: 'non, pas ça — ✋', unparsable: 'allow', action: 'flag' });
      const cmd = aRule({ kind: 'command', class: null, match: 'glob:rm -rf *', message: null });
      await s.rules.insert(sql);
      await s.rules.insert(cmd);
      expect(await s.rules.byName(sql.name)).toEqual(sql);
      expect(await s.rules.byName(cmd.name)).toEqual(cmd);
      expect(await s.rules.byName('nope')).toBeUndefined();
    });

    it('lists oldest first, then by id, whatever the insert order', async () => {
      const s = store();
      const late = aRule({ createdAt: 3_000 });
      const early = aRule({ createdAt: 1_000 });
      const tieB = aRule({ id: 'rul_b', createdAt: 2_000 });
      const tieA = aRule({ id: 'rul_a', createdAt: 2_000 });
      for (const r of [late, tieB, early, tieA]) await s.rules.insert(r);
      expect((await s.rules.list()).map((r) => r.id)).toEqual([early.id, 'rul_a', 'rul_b', late.id]);
    });

    it('refuses a name in use (conflict), also when many add it at once: exactly one lands', async () => {
      const s = store();
      const r = aRule({ name: 'no-drop' });
      await s.rules.insert(r);
      expect(await rejectionCode(s.rules.insert(aRule({ name: 'no-drop' })))).toBe('conflict');
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => s.rules.insert(aRule({ name: 'race' }))));
      expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      for (const x of results) if (x.status === 'rejected') expect(await rejectionCode(Promise.reject(x.reason as Error))).toBe('conflict');
      expect((await s.rules.list()).map((x) => x.name)).toEqual(['no-drop', 'race']);
    });

    it('removes by name, once', async () => {
      const s = store();
      const a = aRule();
      const b = aRule();
      await s.rules.insert(a);
      await s.rules.insert(b);
      expect(await s.rules.remove(a.name)).toBe(true);
      expect(await s.rules.remove(a.name)).toBe(false);
      expect(await s.rules.remove('nope')).toBe(false);
      expect(await s.rules.list()).toEqual([b]);
      // The name is free again.
      await s.rules.insert(aRule({ name: a.name }));
      expect((await s.rules.list()).map((x) => x.name)).toEqual([b.name, a.name]);
    });

    it('rolls a rule insert back with its transaction', async () => {
      const s = store();
      const r = aRule();
      await expect(s.transaction(async () => {
        await s.rules.insert(r);
        throw new Error('audit failed');
      })).rejects.toThrow('audit failed');
      expect(await s.rules.byName(r.name)).toBeUndefined();
    });
  });

  describe('session flags and risk scores', () => {
    it('adds a flag and its weight once per session, kind and key; lists flags oldest first', async () => {
      const s = store();
      const ses = aSession('tgt_1');
      await s.sessions.insert(ses);
      expect((await s.sessions.byId(ses.id))?.riskScore).toBe(0);
      const f1 = aFlag(ses.id, { kind: 'rule', key: 'no-drop', weight: 30, at: 2_000 });
      const f2 = aFlag(ses.id, { kind: 'off-hours', key: '', weight: 10, at: 1_500, detail: 'outside 08-18 UTC' });
      expect(await s.sessions.addFlag(f1)).toBe(true);
      expect(await s.sessions.addFlag(f2)).toBe(true);
      // The same (session, kind, key) again, with another id and weight: nothing changes.
      expect(await s.sessions.addFlag(aFlag(ses.id, { kind: 'rule', key: 'no-drop', weight: 99 }))).toBe(false);
      // Same key, other kind: a different flag.
      expect(await s.sessions.addFlag(aFlag(ses.id, { kind: 'mass-export', key: 'no-drop', weight: 5, at: 3_000 }))).toBe(true);
      expect((await s.sessions.byId(ses.id))?.riskScore).toBe(45);
      const flags = await s.sessions.flags(ses.id);
      expect(flags.map((f) => [f.kind, f.key, f.weight])).toEqual([['off-hours', '', 10], ['rule', 'no-drop', 30], ['mass-export', 'no-drop', 5]]);
      expect(flags[0]).toEqual(f2);
      expect(await s.sessions.flags('ses_nope')).toEqual([]);
    });

    it('counts a flag once when many nodes add it at once', async () => {
      const s = store();
      const ses = aSession('tgt_1');
      await s.sessions.insert(ses);
      const results = await Promise.all(Array.from({ length: 12 }, () => s.sessions.addFlag(aFlag(ses.id, { kind: 'first-use', key: 'tgt_1', weight: 7 }))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await s.sessions.byId(ses.id))?.riskScore).toBe(7);
      expect(await s.sessions.flags(ses.id)).toHaveLength(1);
    });

    it('keeps a flag and its score together in a transaction that fails', async () => {
      const s = store();
      const ses = aSession('tgt_1');
      await s.sessions.insert(ses);
      await expect(s.transaction(async () => {
        await s.sessions.addFlag(aFlag(ses.id, { weight: 50 }));
        throw new Error('later step failed');
      })).rejects.toThrow('later step failed');
      expect((await s.sessions.byId(ses.id))?.riskScore).toBe(0);
      expect(await s.sessions.flags(ses.id)).toEqual([]);
    });

    it('filters by flagged and minimum score, and orders by score (then newest) on request', async () => {
      const s = store();
      const calm = aSession('tgt_1', { startedAt: 4_000 });
      const mild = aSession('tgt_1', { startedAt: 1_000 });
      const hot = aSession('tgt_2', { startedAt: 2_000, endedAt: 2_500, endReason: 'closed-by-client' });
      const tie = aSession('tgt_1', { startedAt: 3_000 });
      for (const x of [calm, mild, hot, tie]) await s.sessions.insert(x);
      await s.sessions.addFlag(aFlag(mild.id, { weight: 5 }));
      await s.sessions.addFlag(aFlag(hot.id, { weight: 40 }));
      await s.sessions.addFlag(aFlag(hot.id, { kind: 'mass-export', weight: 20 }));
      await s.sessions.addFlag(aFlag(tie.id, { weight: 5 }));
      // A flag of weight 0 still makes a session flagged, with no score.
      const zero = aSession('tgt_1', { startedAt: 500 });
      await s.sessions.insert(zero);
      await s.sessions.addFlag(aFlag(zero.id, { kind: 'vendor-link', weight: 0 }));
      const ids = async (f: Parameters<Store['sessions']['list']>[0]): Promise<string[]> => (await s.sessions.list(f)).map((x) => x.id);
      expect(await ids({})).toEqual([calm.id, tie.id, hot.id, mild.id, zero.id]);
      expect(await ids({ flagged: true })).toEqual([tie.id, hot.id, mild.id, zero.id]);
      expect(await ids({ flagged: false })).toEqual([calm.id, tie.id, hot.id, mild.id, zero.id]);
      expect(await ids({ minScore: 5 })).toEqual([tie.id, hot.id, mild.id]);
      expect(await ids({ minScore: 41 })).toEqual([hot.id]);
      expect(await ids({ minScore: 61 })).toEqual([]);
      expect(await ids({ order: 'score' })).toEqual([hot.id, tie.id, mild.id, calm.id, zero.id]);
      expect(await ids({ order: 'score', flagged: true, limit: 2 })).toEqual([hot.id, tie.id]);
      expect(await ids({ order: 'score', minScore: 1, targetId: 'tgt_1' })).toEqual([tie.id, mild.id]);
      expect(await ids({ order: 'score', live: true })).toEqual([tie.id, mild.id, calm.id, zero.id]);
      expect((await s.sessions.list({ order: 'score', limit: 1 }))[0]).toMatchObject({ id: hot.id, riskScore: 60 });
    });
  });
}
