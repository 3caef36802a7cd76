// The zero-standing-privilege part of the Store contract: the ephemeral accounts' intent log (one
// live account per grant, whatever the number of writers) and discovery findings, plus the levels
// and rotation fields every record carries. Registered by store-contract.ts.
import { describe, expect, it } from 'vitest';
import type { DiscoveryFindingRecord, EphemeralAccountRecord } from '../../gateway/store/records.js';
import type { Store } from '../../gateway/store/store.js';
import { rejectionCode } from './store-contract-errors.js';
import { aGrant, aLink, aPolicy, aRequest, aSession, aTarget, aUser } from './store-fixtures.js';

let n = 0;
function anAccount(grantId: string, over: Partial<EphemeralAccountRecord> = {}): EphemeralAccountRecord {
  n += 1;
  return {
    id: `eph_${n}`, targetId: 'tgt_1', grantId, account: `pcx_${String(n).padStart(12, 'a')}`, level: 'read', state: 'creating',
    secretSealed: null, createdAt: 1_000 + n, expiresAt: 9_000, dropAttempts: 0, lastError: null, droppedAt: null, ...over,
  };
}

function aFinding(over: Partial<DiscoveryFindingRecord> = {}): DiscoveryFindingRecord {
  n += 1;
  return {
    id: `dsc_${n}`, targetId: 'tgt_1', account: `acct${n}`, privileges: ['superuser'], managed: false, managedAs: null,
    firstSeenAt: 1_000 + n, lastSeenAt: 1_000 + n, goneAt: null, ...over,
  };
}

export function describeProvisionContract(store: () => Store): void {
  describe('levels, credential modes and rotation fields', () => {
    it('keeps every new field of targets, policies, requests, grants, sessions and links', async () => {
      const s = store();
      const t = aTarget({
        credentialMode: 'ephemeral', levels: [{ name: 'read', grants: ['pc_read'] }, { name: 'write', grants: ['pc_read', 'pc_write'] }],
        rotate: 'daily', ephemeralReassignTo: 'owner_role', ephemeralKeepHome: true, pendingCredentialSealed: 'P1', rotatedAt: 5_000,
      });
      await s.targets.insert(t);
      expect(await s.targets.byId(t.id)).toEqual(t);
      const p = aPolicy({ levels: ['read'] });
      await s.policies.insert(p);
      expect(await s.policies.byId(p.id)).toEqual(p);
      const u = aUser();
      await s.users.insert(u);
      const q = aRequest(u.id, t.id, p.id, { level: 'write' });
      await s.requests.insert(q);
      expect(await s.requests.byId(q.id)).toEqual(q);
      const g = aGrant(u.id, t.id, { level: 'write' });
      await s.grants.insert(g);
      expect(await s.grants.byId(g.id)).toEqual(g);
      const ses = aSession(t.id, { level: 'write' });
      await s.sessions.insert(ses);
      expect(await s.sessions.byId(ses.id)).toEqual(ses);
      const l = aLink(t.id, u.id, { level: 'read' });
      await s.links.insert(l);
      expect(await s.links.byId(l.id)).toEqual(l);
    });
  });

  describe('ephemeral accounts', () => {
    it('stores the intent whole, finds the live account of a grant, lists live ones oldest first', async () => {
      const s = store();
      const a = anAccount('grt_a');
      const b = anAccount('grt_b', { targetId: 'tgt_2', state: 'active', secretSealed: 'S' });
      await s.ephemeral.insert(a);
      await s.ephemeral.insert(b);
      expect(await s.ephemeral.byId(a.id)).toEqual(a);
      expect(await s.ephemeral.forGrant('grt_b')).toEqual(b);
      expect(await s.ephemeral.forGrant('grt_none')).toBeUndefined();
      expect((await s.ephemeral.live()).map((x) => x.id)).toEqual([a.id, b.id]);
      expect((await s.ephemeral.live({ targetId: 'tgt_2' })).map((x) => x.id)).toEqual([b.id]);
      await s.ephemeral.update({ ...a, state: 'dropped', droppedAt: 2_000, dropAttempts: 1, lastError: 'was down' });
      expect((await s.ephemeral.live()).map((x) => x.id)).toEqual([b.id]);
      expect(await s.ephemeral.forGrant('grt_a')).toBeUndefined();
      expect((await s.ephemeral.list({})).map((x) => x.id)).toEqual([b.id, a.id]);
      expect(await s.ephemeral.byId(a.id)).toMatchObject({ state: 'dropped', droppedAt: 2_000, dropAttempts: 1, lastError: 'was down' });
    });

    it('allows one live account per grant: of many concurrent intents exactly one is written; a dropped one frees the grant', async () => {
      const s = store();
      const codes = await Promise.all(Array.from({ length: 10 }, () => s.ephemeral.insert(anAccount('grt_c')).then(() => 'ok', (err: unknown) => rejectionCode(Promise.reject(err as Error)))));
      expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
      expect(codes.filter((c) => c === 'conflict')).toHaveLength(9);
      const live = await s.ephemeral.forGrant('grt_c');
      await s.ephemeral.update({ ...live!, state: 'dropped' });
      await s.ephemeral.insert(anAccount('grt_c'));
      expect((await s.ephemeral.list({})).filter((x) => x.grantId === 'grt_c')).toHaveLength(2);
    });

    it('lists ephemeral secrets and pending rotations with the sealed values, and re-wraps them in place', async () => {
      const s = store();
      const t = aTarget({ credentialSealed: 'T1', pendingCredentialSealed: 'P1' });
      await s.targets.insert(t);
      const a = anAccount('grt_d', { state: 'active', secretSealed: 'E1' });
      await s.ephemeral.insert(a);
      await s.ephemeral.insert(anAccount('grt_e'));
      expect(await s.sealedValues()).toEqual(expect.arrayContaining([
        { table: 'targets', id: t.id, sealed: 'T1' }, { table: 'target_pending', id: t.id, sealed: 'P1' },
        { table: 'ephemeral_accounts', id: a.id, sealed: 'E1' },
      ]));
      expect(await s.sealedValues()).toHaveLength(3);
      await s.replaceSealed({ table: 'target_pending', id: t.id, sealed: 'P2' });
      await s.replaceSealed({ table: 'ephemeral_accounts', id: a.id, sealed: 'E2' });
      expect(await s.targets.byId(t.id)).toMatchObject({ credentialSealed: 'T1', pendingCredentialSealed: 'P2' });
      expect((await s.ephemeral.byId(a.id))?.secretSealed).toBe('E2');
    });
  });

  describe('discovery findings', () => {
    it('puts (insert or replace), finds by target and account, lists per target newest first, removes a target\'s', async () => {
      const s = store();
      const f1 = aFinding({ firstSeenAt: 1_000 });
      const f2 = aFinding({ firstSeenAt: 2_000, managed: true, managedAs: 'vaulted account', privileges: ['createrole', 'password-login'] });
      const other = aFinding({ targetId: 'tgt_2' });
      for (const f of [f1, f2, other]) await s.findings.put(f);
      expect(await s.findings.byAccount('tgt_1', f2.account)).toEqual(f2);
      expect(await s.findings.byAccount('tgt_1', 'nobody')).toBeUndefined();
      expect((await s.findings.list({ targetId: 'tgt_1' })).map((f) => f.id)).toEqual([f2.id, f1.id]);
      await s.findings.put({ ...f1, lastSeenAt: 3_000, goneAt: 3_000 });
      expect(await s.findings.byAccount('tgt_1', f1.account)).toMatchObject({ lastSeenAt: 3_000, goneAt: 3_000, firstSeenAt: 1_000 });
      await s.findings.removeForTarget('tgt_1');
      expect((await s.findings.list({})).map((f) => f.id)).toEqual([other.id]);
    });
  });
}
