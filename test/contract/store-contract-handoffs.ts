// The login handoffs part of the Store contract (a CLI or SSH login approved in a browser): stored
// whole, decided once, consumed once with the right secret hash, never after expiry, swept.
// Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { LoginHandoffRecord } from '../../gateway/store/records.js';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';

let n = 0;
function aHandoff(over: Partial<LoginHandoffRecord> = {}): LoginHandoffRecord {
  n++;
  return {
    id: `lho_${n}`, kind: 'cli', secretHash: n.toString(16).padStart(64, '0'), state: 'pending', userId: null, tokenId: null,
    payload: { code: 'ABCD2345', sshUser: null, sshTarget: null }, addr: '127.0.0.1', createdAt: 1_000, expiresAt: 10_000, ...over,
  };
}

export function describeHandoffContract(store: () => Store): void {
  describe('login handoffs', () => {
    it('stores handoffs whole, finds them by id, refuses a taken id or secret hash', async () => {
      const s = store();
      const h = aHandoff({ kind: 'ssh', payload: { code: 'WXYZ7890', sshUser: 'ops', sshTarget: 'web01' } });
      await s.handoffs.insert(h);
      expect(await s.handoffs.byId(h.id)).toEqual(h);
      expect(await s.handoffs.byId('lho_nope')).toBeUndefined();
      expect(await rejectionCode(s.handoffs.insert({ ...aHandoff(), id: h.id }))).toBe('conflict');
      expect(await rejectionCode(s.handoffs.insert({ ...aHandoff(), secretHash: h.secretHash }))).toBe('conflict');
    });

    it('decides a pending handoff once, whoever races, and never an expired one', async () => {
      const s = store();
      const h = aHandoff();
      await s.handoffs.insert(h);
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => s.handoffs.decide(h.id, i % 2 ? 'denied' : 'approved', `usr_${i}`, 2_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await s.handoffs.byId(h.id)).toMatchObject({ state: winner % 2 ? 'denied' : 'approved', userId: `usr_${winner}` });
      const late = aHandoff({ expiresAt: 2_000 });
      await s.handoffs.insert(late);
      expect(await s.handoffs.decide(late.id, 'approved', 'usr_1', 2_000)).toBe(false);
      expect(await s.handoffs.decide('lho_nope', 'approved', 'usr_1', 2_000)).toBe(false);
      expect((await s.handoffs.byId(late.id))?.state).toBe('pending');
    });

    it('consumes an approved handoff once, only with its secret hash, never pending, denied or expired', async () => {
      const s = store();
      const h = aHandoff();
      await s.handoffs.insert(h);
      expect(await s.handoffs.consume(h.id, h.secretHash, 2_000, 'tok_1')).toBe(false); // still pending
      await s.handoffs.decide(h.id, 'approved', 'usr_1', 2_000);
      expect(await s.handoffs.consume(h.id, 'f'.repeat(64), 2_000, 'tok_1')).toBe(false); // wrong secret
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => s.handoffs.consume(h.id, h.secretHash, 3_000, `tok_${i}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await s.handoffs.byId(h.id)).toMatchObject({ state: 'consumed', userId: 'usr_1', tokenId: `tok_${results.indexOf(true)}` });
      const denied = aHandoff();
      await s.handoffs.insert(denied);
      await s.handoffs.decide(denied.id, 'denied', 'usr_1', 2_000);
      expect(await s.handoffs.consume(denied.id, denied.secretHash, 2_000, null)).toBe(false);
      const expiring = aHandoff({ expiresAt: 5_000 });
      await s.handoffs.insert(expiring);
      await s.handoffs.decide(expiring.id, 'approved', 'usr_1', 2_000);
      expect(await s.handoffs.consume(expiring.id, expiring.secretHash, 5_000, null)).toBe(false);
    });

    it('sweeps handoffs that expired, and only those', async () => {
      const s = store();
      const old = aHandoff({ expiresAt: 3_000 });
      const live = aHandoff({ expiresAt: 9_000 });
      await s.handoffs.insert(old);
      await s.handoffs.insert(live);
      expect(await s.handoffs.removeExpired(3_000)).toBe(1);
      expect(await s.handoffs.byId(old.id)).toBeUndefined();
      expect(await s.handoffs.byId(live.id)).toEqual(live);
    });
  });
}
