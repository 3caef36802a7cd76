// The sessions part of the Store contract: whole records, the end recorded once, every list
// filter, and keyset paging without gaps or repeats. Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';
import { aSession } from './store-fixtures.js';

export function describeSessionContract(store: () => Store): void {
  describe('sessions', () => {
    it('stores sessions whole and records the end once', async () => {
      const s = store();
      const ses = aSession('tgt_1', { userId: 'usr_1', grantId: 'grt_1', recording: '/r/x', protocol: 'postgres' });
      await s.sessions.insert(ses);
      expect(await s.sessions.byId(ses.id)).toEqual(ses);
      expect(await rejectionCode(s.sessions.insert(ses))).toBe('conflict');
      await s.sessions.end(ses.id, 2_000, 'grant-expired');
      await s.sessions.end(ses.id, 3_000, 'closed-by-client');
      expect(await s.sessions.byId(ses.id)).toEqual({ ...ses, endedAt: 2_000, endReason: 'grant-expired' });
      expect(await s.sessions.byId('ses_nope')).toBeUndefined();
    });

    it('filters by live, user, target, protocol, end reason and time, newest first', async () => {
      const s = store();
      const a = aSession('tgt_a', { userId: 'usr_a', startedAt: 1_000, endedAt: 1_500, endReason: 'closed-by-client' });
      const b = aSession('tgt_b', { userId: 'usr_a', startedAt: 2_000, protocol: 'mysql' });
      const c = aSession('tgt_a', { userId: 'usr_b', startedAt: 3_000, endedAt: 3_500, endReason: 'grant-expired', protocol: 'postgres' });
      for (const x of [b, c, a]) await s.sessions.insert(x);
      const ids = async (f: Parameters<Store['sessions']['list']>[0]): Promise<string[]> => (await s.sessions.list(f)).map((x) => x.id);
      expect(await ids({})).toEqual([c.id, b.id, a.id]);
      expect(await ids({ live: true })).toEqual([b.id]);
      expect(await ids({ live: false })).toEqual([c.id, a.id]);
      expect(await ids({ userId: 'usr_a' })).toEqual([b.id, a.id]);
      expect(await ids({ targetId: 'tgt_a' })).toEqual([c.id, a.id]);
      expect(await ids({ protocol: 'mysql' })).toEqual([b.id]);
      expect(await ids({ endReason: 'grant-expired' })).toEqual([c.id]);
      expect(await ids({ since: 2_000 })).toEqual([c.id, b.id]);
      expect(await ids({ until: 2_000 })).toEqual([a.id]);
      expect(await ids({ since: 1_000, until: 3_000, userId: 'usr_a', targetId: 'tgt_b' })).toEqual([b.id]);
      expect(await ids({ limit: 2 })).toEqual([c.id, b.id]);
    });

    it('pages by keyset without gaps or repeats, also across equal start times', async () => {
      const s = store();
      const all = Array.from({ length: 250 }, (_, i) => aSession('tgt_p', { startedAt: 10_000 + Math.floor(i / 3) }));
      await s.transaction(async () => { for (const x of all) await s.sessions.insert(x); });
      expect(await s.sessions.list({})).toHaveLength(100);
      const seen: string[] = [];
      let before: { startedAt: number; id: string } | undefined;
      for (;;) {
        const page = await s.sessions.list({ limit: 40, before });
        if (page.length === 0) break;
        seen.push(...page.map((x) => x.id));
        const last = page[page.length - 1]!;
        before = { startedAt: last.startedAt, id: last.id };
      }
      const expected = [...all].sort((x, y) => y.startedAt - x.startedAt || (x.id < y.id ? 1 : -1)).map((x) => x.id);
      expect(seen).toEqual(expected);
      expect(await s.sessions.list({ limit: 5_000 })).toHaveLength(250);
    });
  });
}
