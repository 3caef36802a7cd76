// The one-time links part of the Store contract: lookups by either hash, duplicate hashes, and
// links.consume taking exactly `uses` of many concurrent opens. Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';
import { aGrant, aLink } from './store-fixtures.js';

export function describeLinkContract(store: () => Store): void {
  describe('links', () => {
    it('stores links whole, finds them by id and by either hash, lists newest first, updates, refuses duplicate hashes', async () => {
      const s = store();
      const l1 = aLink('tgt_1', 'usr_1', { createdAt: 1_000, status: 'pending', policyId: 'pol_1' });
      const l2 = aLink('tgt_1', 'usr_1', { createdAt: 2_000 });
      await s.links.insert(l1);
      await s.links.insert(l2);
      expect(await s.links.byId(l1.id)).toEqual(l1);
      expect(await s.links.byTokenHash(l2.tokenHash)).toEqual(l2);
      expect(await s.links.bySshCodeHash(l2.sshCodeHash)).toEqual(l2);
      expect(await s.links.byTokenHash('f'.repeat(64))).toBeUndefined();
      expect((await s.links.list()).map((l) => l.id)).toEqual([l2.id, l1.id]);
      await s.links.update({ ...l1, status: 'active', approvedBy: 'usr_2' });
      expect(await s.links.byId(l1.id)).toMatchObject({ status: 'active', approvedBy: 'usr_2' });
      expect(await rejectionCode(s.links.insert({ ...aLink('tgt_1', 'usr_1'), tokenHash: l1.tokenHash }))).toBe('conflict');
    });

    it('consumes exactly `uses` of many concurrent opens, and counts them', async () => {
      const s = store();
      const l = aLink('tgt_1', 'usr_1', { usesLeft: 3 });
      await s.links.insert(l);
      const results = await Promise.all(Array.from({ length: 25 }, () => s.links.consume(l.id, 2_000)));
      expect(results.filter(Boolean)).toHaveLength(3);
      expect(await s.links.byId(l.id)).toMatchObject({ usesLeft: 0, uses: 3 });
    });

    it('consumes atomically inside concurrent transactions too', async () => {
      const s = store();
      const l = aLink('tgt_1', 'usr_1', { usesLeft: 2 });
      await s.links.insert(l);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.transaction(async () => {
        if (!(await s.links.consume(l.id, 2_000))) return false;
        await s.grants.insert(aGrant(l.id, 'tgt_1', { source: 'link', id: `grt_link_${i}` }));
        return true;
      })));
      expect(results.filter(Boolean)).toHaveLength(2);
      expect(await s.grants.list({ userId: l.id })).toHaveLength(2);
    });

    it('never consumes a pending, revoked or expired link', async () => {
      const s = store();
      const pending = aLink('tgt_1', 'usr_1', { status: 'pending' });
      const revoked = aLink('tgt_1', 'usr_1', { revokedAt: 1_500 });
      const expired = aLink('tgt_1', 'usr_1', { expiresAt: 2_000 });
      for (const l of [pending, revoked, expired]) await s.links.insert(l);
      for (const l of [pending, revoked, expired]) expect(await s.links.consume(l.id, 2_000)).toBe(false);
      expect(await s.links.consume('lnk_nope', 2_000)).toBe(false);
      expect(await s.links.byId(pending.id)).toMatchObject({ usesLeft: 1, uses: 0 });
    });
  });
}
