// The single sign-on part of the Store contract: users found by their identity provider's
// issuer#subject (unique), SSO sessions stored whole and listed when due for a refresh, and the
// API token lookups and removal by id that the refresh needs. Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { SsoSessionRecord } from '../../gateway/store/records.js';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';
import { aUser } from './store-fixtures.js';

let n = 0;
function anSso(userId: string, over: Partial<SsoSessionRecord> = {}): SsoSessionRecord {
  n++;
  return {
    tokenId: `tok_sso${n}`, userId, issuer: 'https://idp.example', subject: `sub-${n}`, refreshSealed: 'v2.k.iv.ct.tag',
    groups: ['ops-team', 'dbas'], refreshedAt: 1_000, expiresAt: 100_000, ...over,
  };
}

export function describeSsoContract(store: () => Store): void {
  describe('single sign-on', () => {
    it('finds users by external id, and refuses a second user with the same one', async () => {
      const s = store();
      const u = aUser({ source: 'oidc', externalId: 'https://idp.example#alice' });
      await s.users.insert(u);
      expect(await s.users.byExternalId('https://idp.example#alice')).toEqual(u);
      expect(await s.users.byExternalId('https://idp.example#bob')).toBeUndefined();
      expect(await rejectionCode(s.users.insert(aUser({ source: 'oidc', externalId: 'https://idp.example#alice' })))).toBe('conflict');
      // Local users have no external id: any number of them.
      await s.users.insert(aUser());
      await s.users.insert(aUser());
    });

    it('stores SSO sessions whole, lists the due ones oldest first, updates and removes them', async () => {
      const s = store();
      const a = anSso('usr_a', { refreshedAt: 3_000 });
      const b = anSso('usr_a', { refreshedAt: 1_000, refreshSealed: null, groups: [] });
      const expired = anSso('usr_b', { refreshedAt: 500, expiresAt: 2_000 });
      for (const x of [a, b, expired]) await s.ssoSessions.insert(x);
      expect(await s.ssoSessions.byTokenId(a.tokenId)).toEqual(a);
      expect(await s.ssoSessions.byTokenId(b.tokenId)).toEqual(b);
      expect((await s.ssoSessions.due(5_000, 2_500, 10)).map((x) => x.tokenId)).toEqual([b.tokenId, a.tokenId]);
      expect((await s.ssoSessions.due(2_000, 2_500, 10)).map((x) => x.tokenId)).toEqual([b.tokenId]);
      expect((await s.ssoSessions.due(5_000, 2_500, 1)).map((x) => x.tokenId)).toEqual([b.tokenId]);
      expect((await s.ssoSessions.forUser('usr_a')).map((x) => x.tokenId)).toEqual([b.tokenId, a.tokenId]);
      await s.ssoSessions.update({ ...b, groups: ['security'], refreshedAt: 4_000, refreshSealed: 'v2.x', userId: 'usr_ignored' });
      expect(await s.ssoSessions.byTokenId(b.tokenId)).toEqual({ ...b, groups: ['security'], refreshedAt: 4_000, refreshSealed: 'v2.x' });
      expect(await s.ssoSessions.removeExpired(2_500)).toBe(1);
      expect(await s.ssoSessions.byTokenId(expired.tokenId)).toBeUndefined();
      await s.ssoSessions.remove(a.tokenId);
      expect(await s.ssoSessions.byTokenId(a.tokenId)).toBeUndefined();
      expect(await rejectionCode(s.ssoSessions.insert(b))).toBe('conflict');
    });

    it('finds and removes an API token by id', async () => {
      const s = store();
      await s.tokens.insert({ id: 'tok_x1', userId: 'usr_1', hash: 'h'.repeat(64), label: 'web', expiresAt: null, createdAt: 1 });
      expect(await s.tokens.byId('tok_x1')).toMatchObject({ id: 'tok_x1', label: 'web' });
      expect(await s.tokens.removeById('tok_x1')).toBe(true);
      expect(await s.tokens.removeById('tok_x1')).toBe(false);
      expect(await s.tokens.byId('tok_x1')).toBeUndefined();
    });
  });
}
